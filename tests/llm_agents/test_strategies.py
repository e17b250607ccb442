"""Agent strategies (llm_agents/strategies.py) through the real SDKs against the stub servers:
best-of-N debaters scored by a preference judge (log-probabilities, or a parsed line), critique
and refine, majority-vote, log-probability and position-swap judges, their validation in the
admin and on the command line, and a batch run with strategies."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.admin.sites import site
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from config.background import wait_for_background
from debate.models import Judgment, Session, Speech
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent, LLMCall
from llm_agents.strategies import (
    BestOfN,
    MajorityVote,
    StrategyInvalid,
    strategy_from_cli,
    strategy_parse,
)
from tests.factories import make_question, make_user
from tests.llm_stubs import Reply, StubLLM, last_user, playing_script, stub_agent

pytestmark = pytest.mark.django_db(transaction=True)

SENTINEL = "ZQXNEVERQUOTEDZQX"
MARK_SCORES = {"WEAK": 0.2, "STRONG": 0.9, "MEDIUM": 0.6}  # P(A) the preference judge gives


@pytest.fixture(autouse=True)
def inprocess(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)


def question_with_sentinel():
    question = make_question()
    question.passage.text += "\n\nA line nobody quotes: " + SENTINEL + "."
    question.passage.save()
    return question


def debate(question, judge_agent, agent_a, agent_b) -> Session:
    session = session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=paper_rules(Protocol.DEBATE),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, agent=judge_agent),
            SeatAssignment(Role.DEBATER_A, agent=agent_a),
            SeatAssignment(Role.DEBATER_B, agent=agent_b),
        ],
    )
    wait_for_background(timeout=120)
    session.refresh_from_db()
    return session


def story(body: dict) -> str:
    system = body["messages"][0]["content"] if "messages" in body else ""
    if "system" in body:
        system = "".join(b.get("text", "") for b in body["system"])
    found = re.search(r"<story>\n(.*?)\n</story>", system, re.DOTALL)
    return found.group(1) if found else ""


def is_preference(body: dict) -> bool:
    return "You predict the verdict" in str(body.get("messages", "")) + str(body.get("system", ""))


def marked_speech(mark: str, body: dict) -> Reply:
    sentence = " ".join(story(body).split()[:8])
    return Reply(f"{mark}: the story says <quote>{sentence}</quote> So I am right.")


def best_of_n_script(*, logprobs: bool):
    plain = playing_script(judge_rounds=1)
    marks = iter(["WEAK", "STRONG", "MEDIUM"])

    def script(body: dict) -> Reply:
        if is_preference(body):
            speech = last_user(body).split("Next speech, Debater A:")[1]
            p = next(v for m, v in MARK_SCORES.items() if f"{m}:" in speech)
            if logprobs:
                return Reply("A", top_probabilities={"A": p, "B": 1 - p})
            return Reply(f"PROBABILITIES: A={p * 100:.0f}%, B={(1 - p) * 100:.0f}%")
        if "You are Debater A" in str(body) and "Write your speech now" in last_user(body):
            return marked_speech(next(marks), body)
        return plain(body)

    return script


def test_best_of_n_sends_the_best_scored_candidate_and_logs_every_candidate_and_score():
    with StubLLM(best_of_n_script(logprobs=True)) as stub:
        debater = stub_agent("bon", stub, strategy={"kind": "best_of_n", "n": 3})
        session = debate(
            question_with_sentinel(), stub_agent("judge", stub), debater, stub_agent("b", stub)
        )
        preference_bodies = [b for _, b in stub.requests if is_preference(b)]
    assert session.status == Session.Status.FINISHED, session.attention
    assert session.seats.get(role=Role.DEBATER_A).answer_position == 0  # argues for A
    speech = Speech.objects.get(round__session=session, seat__role=Role.DEBATER_A)
    assert speech.text.startswith("STRONG:")
    calls = LLMCall.objects.filter(session=session, seat__role=Role.DEBATER_A)
    candidates = calls.filter(purpose="candidate").order_by("candidate_index")
    assert [c.candidate_index for c in candidates] == [0, 1, 2]
    assert [round(c.score, 6) for c in candidates] == [0.2, 0.9, 0.6]
    assert [c.strategy_detail["chosen"] for c in candidates] == [False, True, False]
    assert all(c.strategy == "best_of_n:3" for c in calls)
    assert all("WEAK" in candidates[0].response for _ in [0])
    preferences = calls.filter(purpose="preference").order_by("candidate_index")
    assert [(p.candidate_index, round(p.score, 6)) for p in preferences] == [
        (0, 0.2),
        (1, 0.9),
        (2, 0.6),
    ]
    assert all(p.strategy_detail["source"] == "logprobs" for p in preferences)
    # The preference judge asked a one-token answer with its top log-probabilities, and saw only
    # what the judge sees: never the story, only the revealed quotes.
    assert len(preference_bodies) == 3
    assert all(b["logprobs"] is True and b["top_logprobs"] == 5 for b in preference_bodies)
    assert all(b["max_tokens"] == 1 for b in preference_bodies)
    assert all(SENTINEL not in str(b) and "<story>" not in str(b) for b in preference_bodies)
    assert all('<quote verified="yes">' in str(b) for b in preference_bodies)
    # The plain debater's calls say so.
    other = LLMCall.objects.filter(session=session, seat__role=Role.DEBATER_B)
    assert {(c.strategy, c.purpose) for c in other} == {("plain", "speech")}


def test_best_of_n_with_a_preference_model_without_logprobs_reads_a_probability_line():
    with (
        StubLLM(best_of_n_script(logprobs=False)) as stub,
        StubLLM(best_of_n_script(logprobs=False)) as anthropic_stub,
    ):
        stub_agent("scorer", anthropic_stub, "anthropic")
        strategy = {"kind": "best_of_n", "n": 3, "preference_model": "scorer"}
        debater = stub_agent("bon", stub, strategy=strategy)
        session = debate(
            question_with_sentinel(), stub_agent("judge", stub), debater, stub_agent("b", stub)
        )
        assert all(SENTINEL not in str(b) for _, b in anthropic_stub.requests)
    assert session.status == Session.Status.FINISHED, session.attention
    speech = Speech.objects.get(round__session=session, seat__role=Role.DEBATER_A)
    assert speech.text.startswith("STRONG:")
    preferences = LLMCall.objects.filter(session=session, purpose="preference")
    assert preferences.count() == 3 and {p.agent.name for p in preferences} == {"scorer"}
    assert all(p.strategy_detail["source"] == "parsed" for p in preferences)
    assert sorted(round(p.score, 6) for p in preferences) == [0.2, 0.6, 0.9]


def judge_script(samples, *, letter=None):
    """A judge whose replies, turn after turn, come from ``samples`` (a list per turn of
    (probability of A, decision)); the debaters play as usual."""
    plain = playing_script(judge_rounds=1)
    turns = iter(samples)
    current: list = []

    def script(body: dict) -> Reply:
        if "You are the judge" not in str(body):
            return plain(body)
        if "Reply with one letter only" in last_user(body):
            return letter(body) if letter else Reply("A")
        if not current:
            current.extend(next(turns))
        p, decision = current.pop(0)
        return Reply(f"PROBABILITIES: A={p}%, B={100 - p}%\nDECISION: {decision}\nNOTE: note {p}")

    return script


def test_a_majority_vote_judge_records_the_average_and_the_majority_decision():
    samples = [
        [(60, "continue"), (70, "continue"), (80, "continue")],
        [(70, "end"), (60, "end"), (50, "continue")],
    ]
    with StubLLM(judge_script(samples)) as stub:
        judge_agent = stub_agent("mv", stub, strategy={"kind": "majority_vote", "k": 3})
        session = debate(make_question(), judge_agent, stub_agent("a", stub), stub_agent("b", stub))
    assert session.status == Session.Status.FINISHED, session.attention
    judgments = list(Judgment.objects.filter(session=session).order_by("pk"))
    assert [j.end for j in judgments] == [False, True]
    assert [round(j.probabilities[0], 6) for j in judgments] == [0.7, 0.6]
    assert judgments[1].text == "note 70"  # the first sample that decided as the majority
    sampled = LLMCall.objects.filter(session=session, purpose="judge-sample").order_by("pk")
    assert [c.candidate_index for c in sampled] == [0, 1, 2, 0, 1, 2]
    assert [c.strategy_detail["end"] for c in sampled][3:] == [True, True, False]
    assert sampled.last().strategy_detail["end_votes"] == 2
    assert {c.strategy for c in sampled} == {"majority_vote:3"}


def test_a_logprob_judge_takes_p_a_and_p_b_from_the_letters_and_falls_back_to_its_reply():
    letters = iter(
        [
            Reply("A", top_probabilities={"A": 0.6, " B": 0.2, "C": 0.2}),  # renormalised
            Reply("A", no_logprobs=True),  # a server that sends none: the reply's own
        ]
    )
    samples = [[(55, "continue")], [(70, "end")]]
    with StubLLM(judge_script(samples, letter=lambda body: next(letters))) as stub:
        judge_agent = stub_agent("lp", stub, strategy={"kind": "logprob_judge"})
        session = debate(make_question(), judge_agent, stub_agent("a", stub), stub_agent("b", stub))
        letter_bodies = [b for _, b in stub.requests if "one letter only" in str(b)]
    assert session.status == Session.Status.FINISHED, session.attention
    judgments = list(Judgment.objects.filter(session=session).order_by("pk"))
    assert [round(p, 6) for p in judgments[0].probabilities] == [0.75, 0.25]
    assert [round(p, 6) for p in judgments[1].probabilities] == [0.7, 0.3]
    assert judgments[1].end is True
    assert all(b["logprobs"] is True and b["top_logprobs"] == 5 for b in letter_bodies)
    asked = LLMCall.objects.filter(session=session, purpose="judge-letter").order_by("pk")
    assert [c.strategy_detail["source"] for c in asked] == ["logprobs", "parsed (no logprobs)"]


def test_a_position_swap_judge_averages_both_orders_and_logs_the_disagreement():
    question = make_question()
    shown_a = question.answers[question.correct_index]
    shown_b = question.answers[question.best_distractor_index]

    def swapped(body: dict) -> bool:
        return f"A: {shown_b}" in body["messages"][0]["content"]  # the system prompt

    plain = playing_script(judge_rounds=1)

    def script(body: dict) -> Reply:
        if "You are the judge" not in str(body):
            return plain(body)
        decision = "end" if "\nJudge:" in last_user(body) else "continue"
        p = 70 if swapped(body) else 80  # swapped: 70% on the (new) A, the shown B
        return Reply(f"PROBABILITIES: A={p}%, B={100 - p}%\nDECISION: {decision}\nNOTE: ok")

    with StubLLM(script) as stub:
        judge_agent = stub_agent("ps", stub, strategy={"kind": "position_swap"})
        session = debate(question, judge_agent, stub_agent("a", stub), stub_agent("b", stub))
        judge_bodies = [b for _, b in stub.requests if "You are the judge" in str(b)]
    assert session.status == Session.Status.FINISHED, session.attention
    judgments = list(Judgment.objects.filter(session=session).order_by("pk"))
    # Shown order A=80%; swapped A'=70% is B=70%, so A=30% mapped back; the average A=55%.
    assert [round(p, 6) for p in judgments[0].probabilities] == [0.55, 0.45]
    assert judgments[-1].end is True
    swaps = LLMCall.objects.filter(session=session, purpose="judge-swapped").order_by("pk")
    assert swaps.count() == 2
    detail = swaps.first().strategy_detail
    assert round(detail["disagreement"], 6) == 0.5 and detail["verdicts_differ"] is True
    assert [round(p, 6) for p in detail["swapped_mapped_back"]] == [0.3, 0.7]
    # The swapped request lists the answers the other way round, and in the second turn it
    # shows the earlier judgment and the debaters' labels swapped too.
    swapped_bodies = [b for b in judge_bodies if swapped(b)]
    assert len(swapped_bodies) == 2
    assert f"B: {shown_a}" in swapped_bodies[0]["messages"][0]["content"]
    # Who argues what follows the swap: the new Debater A (the shown B's) argues the new A.
    assert "Debater A argues A." in last_user(swapped_bodies[0])
    assert "Debater B argues B." in last_user(swapped_bodies[0])
    assert "Judge: A=45%, B=55%" in last_user(swapped_bodies[1])
    shown_second = [b for b in judge_bodies if not swapped(b)][1]
    assert "Judge: A=55%, B=45%" in last_user(shown_second)


def critique_script(*, refine_too_long_from: int):
    plain = playing_script(judge_rounds=2)
    refinements = [0]

    def script(body: dict) -> Reply:
        text = str(body)
        if "You are a critic" in text:
            return Reply("Quote the story more; answer the objection.")
        if "A critic read your draft" in last_user(body):
            refinements[0] += 1
            if refinements[0] >= refine_too_long_from:
                return Reply("REFINED " + "far too long " * 400)
            return marked_speech("REFINED", body)
        if "You are Debater A" in text and "Write your speech now" in last_user(body):
            return marked_speech("DRAFT", body)
        return plain(body)

    return script


def test_critique_and_refine_sends_the_refinement_and_falls_back_to_a_draft_it_breaks():
    with StubLLM(critique_script(refine_too_long_from=2)) as stub:
        debater = stub_agent("cr", stub, strategy={"kind": "critique_refine"})
        session = debate(
            question_with_sentinel(), stub_agent("judge", stub), debater, stub_agent("b", stub)
        )
        critic_bodies = [b for _, b in stub.requests if "You are a critic" in str(b)]
    assert session.status == Session.Status.FINISHED, session.attention
    speeches = Speech.objects.filter(round__session=session, seat__role=Role.DEBATER_A)
    texts = [s.text for s in speeches.order_by("round__index")]
    assert len(texts) == 2
    assert texts[0].startswith("REFINED:") and texts[1].startswith("DRAFT:")
    assert all(SENTINEL in str(b) and "DRAFT:" in str(b) for b in critic_bodies)  # story, draft
    calls = LLMCall.objects.filter(session=session, seat__role=Role.DEBATER_A).order_by("pk")
    assert [c.purpose for c in calls] == ["draft", "critique", "refine"] * 2
    refines = calls.filter(purpose="refine").order_by("pk")
    assert refines[0].strategy_detail["chosen"] is True
    assert refines[1].strategy_detail["chosen"] is False
    assert "fell_back_to_draft" in refines[1].strategy_detail


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def test_strategies_validate_with_clear_errors_and_the_short_form():
    assert strategy_parse(None).kind == "plain"
    assert strategy_from_cli("best_of_n:2") == BestOfN(n=2)
    assert strategy_from_cli('{"kind": "majority_vote", "k": 3}') == MajorityVote(k=3)
    for bad, message in [
        ({"kind": "best_of_n", "n": 1}, "greater than or equal to 2"),
        ({"kind": "nope"}, 'Give "kind" as one of'),
        ({"kind": "plain", "n": 2}, "Extra inputs"),
    ]:
        with pytest.raises(StrategyInvalid, match=message):
            strategy_parse(bad)
    with pytest.raises(StrategyInvalid, match="takes no number"):
        strategy_from_cli("logprob_judge:3")


def test_the_admin_refuses_a_bad_strategy_and_stores_a_good_one_in_full():
    staff = make_user(is_staff=True, is_superuser=True)
    request = RequestFactory().post("/")
    request.user = staff
    form_class = site._registry[Agent].get_form(request)
    data = {
        "name": "x",
        "provider": "openai",
        "model": "m",
        "prompt_version": "v1",
        "cost_input_per_mtok": "0",
        "cost_output_per_mtok": "0",
        "replica_urls": "[]",
        "sampling": "{}",
    }
    form = form_class(data={**data, "strategy": '{"kind": "best_of_n", "n": 99}'})
    assert not form.is_valid()
    assert "less than or equal to 16" in str(form.errors["strategy"])
    form = form_class(data={**data, "strategy": '{"kind": "best_of_n"}'})
    assert form.is_valid(), form.errors
    agent = form.save()
    assert agent.strategy == {"kind": "best_of_n", "n": 4, "preference_model": None}


def test_run_batch_refuses_a_bad_strategy_or_one_for_the_wrong_seat():
    make_question(external_id="q-1")
    base = ["--debaters", "openai:m", "--judge", "openai:j", "--questions", "1"]
    for args, message in [
        (["--debater-strategy", "best_of_n:1"], "greater than or equal to 2"),
        (["--judge-strategy", "{oops"], "Not valid JSON"),
        (["--judge-strategy", "best_of_n:2"], "not a strategy for a judge's seat"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("run_batch", *base, *args, stdout=io.StringIO())


def test_a_batch_with_strategies_runs_to_the_end(monkeypatch):
    with StubLLM(best_of_n_like_batch_script()) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.url + "/v1")
        for i in range(2):
            make_question(external_id=f"sq{i}")
        out = io.StringIO()
        call_command(
            "run_batch",
            "--debaters",
            "openai:stub-debater",
            "--judge",
            "openai:stub-judge",
            "--debater-strategy",
            "best_of_n:2",
            "--judge-strategy",
            "majority_vote:3",
            "--questions",
            "2",
            "--concurrency",
            "1",
            "--batch-id",
            "strategies",
            stdout=out,
        )
    sessions = Session.objects.filter(batch_link__batch__batch_id="strategies")
    assert sessions.count() == 2
    assert all(s.status == Session.Status.FINISHED for s in sessions), out.getvalue()
    names = set(Agent.objects.values_list("name", flat=True))
    assert {"openai:stub-debater [best_of_n:2]", "openai:stub-judge [majority_vote:3]"} <= names
    calls = LLMCall.objects.filter(session__batch_link__batch__batch_id="strategies")
    assert calls.filter(purpose="candidate").count() == 2 * 2 * 2  # 2 sessions, 2 speeches, n=2
    assert calls.filter(purpose="preference").count() == 8
    assert calls.filter(purpose="judge-sample").count() == 2 * 2 * 3  # 2 judgments each, k=3
    assert "completed 2, failed 0" in out.getvalue()


def best_of_n_like_batch_script():
    plain = playing_script(judge_rounds=1)

    def script(body: dict) -> Reply:
        if is_preference(body):
            return Reply("A", top_probabilities={"A": 0.7, "B": 0.3})
        return plain(body)

    return script


def test_a_nightly_batch_config_sets_the_strategies_as_run_batch_does(monkeypatch, settings):
    """NIGHTLY_BATCHES entries take `debater_strategy` and `judge_strategy`, as JSON objects or
    run_batch's short form, through the same validation: a bad one stops the night before any
    batch starts, with the batch and the key named; good ones reach the agents and the calls."""
    from llm_agents.models import BatchRun
    from llm_agents.tasks import nightly_batches

    settings.BACKGROUND_MODE = "inprocess"
    base = {"debaters": "openai:stub-debater", "judge": "openai:stub-judge", "questions": 2}
    for bad, message in [
        ({"debater_strategy": "best_of_n:1"}, "debater_strategy: .*greater than or equal to 2"),
        ({"judge_strategy": {"kind": "best_of_n", "n": 2}}, "judge_strategy: .*judge's seat"),
        ({"judge_strategy": "{oops"}, "judge_strategy: Not valid JSON"),
    ]:
        settings.NIGHTLY_BATCHES = [
            {"name": "good", **base},
            {"name": "bad", **base, **bad},
        ]
        with pytest.raises(ValueError, match=f"Batch bad: {message}"):
            nightly_batches()
        assert not BatchRun.objects.exists()  # not even the good one began
    with StubLLM(best_of_n_like_batch_script()) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.url + "/v1")
        for i in range(2):
            make_question(external_id=f"nq{i}")
        settings.NIGHTLY_BATCHES = [
            {
                "name": "strategies",
                **base,
                "concurrency": 1,
                "debater_strategy": "best_of_n:2",
                "judge_strategy": {"kind": "majority_vote", "k": 3},
            }
        ]
        assert nightly_batches() == ["done"]
    batch = BatchRun.objects.get(batch_id__startswith="strategies-")
    sessions = Session.objects.filter(batch_link__batch=batch)
    assert sessions.count() == 2 and all(s.status == Session.Status.FINISHED for s in sessions)
    names = set(Agent.objects.values_list("name", flat=True))
    assert {"openai:stub-debater [best_of_n:2]", "openai:stub-judge [majority_vote:3]"} <= names
    calls = LLMCall.objects.filter(session__batch_link__batch=batch)
    assert calls.filter(purpose="candidate", strategy="best_of_n:2").count() == 2 * 2 * 2
    assert calls.filter(purpose="judge-sample", strategy="majority_vote:3").count() == 2 * 2 * 3
