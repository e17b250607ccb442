"""An LLM judge under the judge's round rules (issue 16), through the real OpenAI SDK against the
local stub: an eager judge that always asks to end is told it may not yet, and its turns are
recorded as continues until the rules' minimum is heard; an end after a large swing is warned of
in the prompt and, asked for anyway, recorded as a continue with the rules' reason in the call
log; the oracle judge's prompt holds the story."""

from __future__ import annotations

import pytest

from config.background import wait_for_background
from debate.models import Rules, Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, oracle_judge_rules, paper_rules, session_create
from llm_agents.models import LLMCall
from tests.factories import make_question
from tests.llm_stubs import Reply, StubLLM, last_user, playing_script, stub_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def inprocess(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)


def rules_with(**options) -> Rules:
    paper = paper_rules(Protocol.DEBATE)
    return Rules.objects.create(
        name="paper-debate with " + ", ".join(sorted(options)),
        structure={**paper.structure, **options},
        scoring=paper.scoring,
    )


def eager_judge(probabilities: list[str]):
    """A judge that asks to end at every turn, giving the n-th turn's probabilities for A."""

    def script(body: dict) -> Reply:
        turn = last_user(body).count("\nJudge:")
        a = probabilities[min(turn, len(probabilities) - 1)]
        return Reply(f"PROBABILITIES: A={a}%, B={100 - int(a)}%\nDECISION: end\nNOTE: Done.")

    return script


def ai_debate(rules: Rules, judge_stub: StubLLM, speakers: StubLLM) -> Session:
    return session_create(
        question=make_question(),
        protocol_name=Protocol.DEBATE,
        rules=rules,
        seats=[
            SeatAssignment(Role.JUDGE, agent=stub_agent("eager-judge", judge_stub)),
            SeatAssignment(Role.DEBATER_A, agent=stub_agent("a", speakers)),
            SeatAssignment(Role.DEBATER_B, agent=stub_agent("b", speakers)),
        ],
    )


def run(session: Session) -> Session:
    wait_for_background(timeout=60)
    session.refresh_from_db()
    return session


def test_an_eager_llm_judge_is_told_it_may_not_end_and_continues_until_the_minimum():
    with (
        StubLLM(eager_judge(["50", "60", "70"])) as judge_stub,
        StubLLM(playing_script()) as speakers,
    ):
        session = run(ai_debate(rules_with(min_speech_rounds_before_end=2), judge_stub, speakers))
        assert session.status == Session.Status.FINISHED, session.attention
        prompts = [last_user(body) for _, body in judge_stub.requests]
        system = judge_stub.requests[0][1]["messages"][0]["content"]
    assert "You may end only after hearing 2 rounds of speeches" in system
    assert len(prompts) == 3
    assert "before hearing any argument (DECISION: continue)" in prompts[0]
    assert (
        "You may not end yet (the rules let you end only after 2 rounds of speeches; 1 more to "
        "go): your DECISION must be continue." in prompts[1]
    )
    assert "may not end yet" not in prompts[2]
    ends = list(session.judgments.order_by("round__index").values_list("end", flat=True))
    assert ends == [False, False, True]  # the early "end"s were recorded as continues


def test_an_llm_judge_asking_to_end_after_a_large_swing_is_warned_then_continues():
    with (
        StubLLM(eager_judge(["50", "95"])) as judge_stub,
        StubLLM(playing_script()) as speakers,
    ):
        session = run(ai_debate(rules_with(end_blocked_after_swing=0.2), judge_stub, speakers))
        prompts = [last_user(body) for _, body in judge_stub.requests]
        system = judge_stub.requests[0][1]["messages"][0]["content"]
    assert "moves by more than 20 points from your previous judgment" in system
    assert (
        "Your last probabilities were A=50%, B=50%. If you move the probability of any answer by "
        "more than 20 points from them, your DECISION must be continue" in prompts[1]
    )
    # The reply ignored it: the rules refuse to end on that judgment, so it is recorded as a
    # continue (the call log says why), one more round is heard, and the judge then ends.
    assert session.status == Session.Status.FINISHED, session.attention
    ends = list(session.judgments.order_by("round__index").values_list("end", flat=True))
    assert ends == [False, False, True]
    swung = LLMCall.objects.filter(session=session, error__startswith="Asked to end").get()
    assert "moved by 45 points since your last judgment" in swung.error
    assert "95" in swung.response


def test_the_oracle_judges_prompt_holds_the_story_and_asks_for_one_final_judgment():
    with StubLLM(eager_judge(["80"])) as judge_stub:
        question = make_question()
        session = session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=oracle_judge_rules(),
            seats=[SeatAssignment(Role.JUDGE, agent=stub_agent("oracle", judge_stub))],
        )
        session = run(session)
        ((_, body),) = judge_stub.requests
    assert session.status == Session.Status.FINISHED, session.attention
    system = body["messages"][0]["content"]
    assert question.passage.text in system and "Nobody argues here" in system
    assert "your DECISION must be end" in last_user(body)
    assert session.judgments.get().end


def test_an_llm_judge_refused_an_end_after_a_swing_still_asks_its_questions():
    """Both options on: the judge's end after a large swing is recorded as a continue, and a
    judge that continues is asked for its questions, so this one is too, and the debaters'
    next prompts carry them."""
    to_a, to_b = "Quote the count, A.", "Why not the ferry, B?"
    eager = eager_judge(["50", "95"])

    def script(body: dict) -> Reply:
        if "QUESTION TO" in last_user(body):
            return Reply(f"QUESTION TO A: {to_a}\nQUESTION TO B: {to_b}")
        return eager(body)

    rules = rules_with(end_blocked_after_swing=0.2, judge_questions=True)
    with StubLLM(script) as judge_stub, StubLLM(playing_script()) as speakers:
        session = run(ai_debate(rules, judge_stub, speakers))
        speaker_prompts = [last_user(body) for _, body in speakers.requests]
    assert session.status == Session.Status.FINISHED, session.attention
    judgments = list(session.judgments.order_by("round__index"))
    assert [j.end for j in judgments] == [False, False, True]
    # The prior (a continue: it may not end there) and the refused end both ask.
    asked_both = {"debater_a": to_a, "debater_b": to_b}
    assert [j.questions for j in judgments] == [asked_both, asked_both, {}]
    swung = LLMCall.objects.filter(session=session, error__startswith="Asked to end").get()
    asked = LLMCall.objects.filter(session=session, purpose="questions", pk__gt=swung.pk)
    assert asked.exists()
    assert any(f"The judge asks you: {to_a}" in p for p in speaker_prompts)
    assert any(f"The judge asks you: {to_b}" in p for p in speaker_prompts)
