"""AI seats through the real OpenAI and Anthropic SDKs against local stub servers: whole AI-vs-AI
sessions, a human judge with AI debaters, retries, failures, malformed replies, over-long
speeches and a redelivered task."""

from __future__ import annotations

import pytest

from config.background import wait_for_background
from debate.models import Judgment, Session, Speech
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent, AITurn, LLMCall
from llm_agents.services import ai_turn_retry, ai_turn_take
from tests.factories import judge, make_question, make_user
from tests.llm_stubs import Reply, StubLLM, last_user, playing_script, stub_agent

pytestmark = pytest.mark.django_db(transaction=True)

SENTINEL = "ZQXNEVERQUOTEDZQX"


@pytest.fixture(autouse=True)
def inprocess(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)  # short backoff


def question_with_sentinel():
    question = make_question()
    passage = question.passage
    passage.text = passage.text + "\n\nA line nobody quotes: " + SENTINEL + "."
    passage.save()
    return question


def run(session: Session) -> Session:
    wait_for_background(timeout=60)
    session.refresh_from_db()
    return session


def test_ai_vs_ai_debate_runs_to_the_end():
    with (
        StubLLM(playing_script(judge_rounds=2)) as openai_stub,
        StubLLM(playing_script(judge_rounds=2)) as anthropic_stub,
    ):
        session = session_create(
            question=question_with_sentinel(),
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[
                SeatAssignment(Role.JUDGE, agent=stub_agent("claude", anthropic_stub, "anthropic")),
                SeatAssignment(Role.DEBATER_A, agent=stub_agent("gpt-a", openai_stub)),
                SeatAssignment(Role.DEBATER_B, agent=stub_agent("gpt-b", openai_stub)),
            ],
        )
        session = run(session)
        assert session.status == Session.Status.FINISHED, session.attention
        assert Judgment.objects.filter(session=session, end=True).count() == 1
        speeches = Speech.objects.filter(round__session=session)
        assert speeches.count() == 4  # two openings, one sequential round
        for speech in speeches:
            assert "SECRET PLAN" not in speech.text and "<thinking>" not in speech.text
            assert speech.quotes.get().verified
        # The judge's prompts never held the story, only the revealed quotes.
        assert anthropic_stub.requests and all(
            SENTINEL not in str(body) for _, body in anthropic_stub.requests
        )
        assert all(SENTINEL in str(body) for _, body in openai_stub.requests)  # debaters read it
    calls = LLMCall.objects.filter(session=session)
    assert calls.count() == 4 + 3
    call = calls.filter(seat__role="debater_a").first()
    assert (call.input_tokens, call.output_tokens) == (1000, 100)
    assert float(call.cost_usd) == pytest.approx((2 * 1000 + 10 * 100) / 1e6)
    assert "SECRET PLAN" in call.response  # staff see the full reply
    assert call.unverified_quote_share == 0.0


def test_ai_debaters_vote_on_ending_a_judgeless_debate_through_the_same_path():
    from debate.models import EndVote
    from debate.services import judgeless_debate_rules

    with StubLLM(playing_script(votes_to_go_on=1)) as stub:
        session = session_create(
            question=question_with_sentinel(),
            protocol_name=Protocol.DEBATE,
            rules=judgeless_debate_rules(),
            seats=[
                SeatAssignment(Role.DEBATER_A, agent=stub_agent("gpt-a", stub)),
                SeatAssignment(
                    Role.DEBATER_B, agent=stub_agent("gpt-b", stub, provider="anthropic")
                ),
            ],
        )
        session = run(session)
    assert session.status == Session.Status.FINISHED, session.attention
    votes = list(EndVote.objects.filter(round__session=session).order_by("round__index", "id"))
    assert [v.end for v in votes] == [False, False, True, True]  # on, then both end
    assert Speech.objects.filter(round__session=session).count() == 4
    vote_prompts = [b for _, b in stub.requests if "VOTE: continue" in str(b["messages"][-1])]
    assert len(vote_prompts) == 4
    assert all("There is no judge during the debate" in str(b) for _, b in stub.requests)
    assert LLMCall.objects.filter(session=session).count() == 8


def test_an_unreadable_vote_is_asked_again_and_a_reply_voting_both_ways_is_not_guessed():
    from debate.models import EndVote
    from debate.services import judgeless_debate_rules
    from llm_agents.prompts import UnparsableReply, vote_reply_parse

    with pytest.raises(UnparsableReply, match="both ways"):
        vote_reply_parse("VOTE: end\nVOTE: continue")
    assert vote_reply_parse("<thinking>VOTE: continue</thinking>\n**Vote:** end") is True
    good = playing_script(votes_to_go_on=0)
    replies = iter(["I would rather not say."])

    def script(body):
        if "VOTE: continue" in last_user(body):
            return Reply(next(replies, "VOTE: end"))
        return good(body)

    with StubLLM(script) as stub:
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=judgeless_debate_rules(),
            seats=[
                SeatAssignment(Role.DEBATER_A, agent=stub_agent("a", stub)),
                SeatAssignment(Role.DEBATER_B, agent=stub_agent("b", stub)),
            ],
        )
        session = run(session)
    assert session.status == Session.Status.FINISHED, session.attention
    assert EndVote.objects.filter(round__session=session, end=True).count() == 2
    reasked = [b for _, b in stub.requests if "I could not read that" in str(b["messages"])]
    assert len(reasked) == 1


def test_ai_consultancy_through_a_vllm_style_server(monkeypatch):
    with StubLLM(playing_script(judge_rounds=1)) as vllm:
        monkeypatch.setenv("VLLM_BASE_URL", vllm.url + "/v1")
        from llm_agents.providers import parse_spec

        spec = parse_spec("vllm:Qwen/Qwen2.5-7B-Instruct")
        consultant = Agent.objects.create(
            name="qwen", provider=spec.provider, model=spec.model, base_url=spec.base_url
        )
        monkeypatch.delenv("OPENAI_API_KEY")  # a vLLM server needs no key
        session = session_create(
            question=question_with_sentinel(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(
                    Role.JUDGE, agent=stub_agent("judge-qwen", vllm, "openai-compatible")
                ),
                SeatAssignment(Role.CONSULTANT, agent=consultant, honest=False),
            ],
        )
        session = run(session)
    assert session.status == Session.Status.FINISHED, session.attention
    assert vllm.requests[0][1]["model"] in {"Qwen/Qwen2.5-7B-Instruct", "judge-qwen-model"}


def test_human_judge_with_ai_debaters_sees_them_answer():
    with StubLLM(playing_script()) as stub:
        person = make_user("human-judge")
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[
                SeatAssignment(Role.JUDGE, user=person),
                SeatAssignment(Role.DEBATER_A, agent=stub_agent("a", stub)),
                SeatAssignment(Role.DEBATER_B, agent=stub_agent("b", stub)),
            ],
        )
        assert run(session).rounds.count() == 0  # the judge's prior comes first
        judge(session, [0.5, 0.5], "Go.")
        run(session)
        assert Speech.objects.filter(round__session=session).count() == 2
        judge(session, [0.6, 0.4], "Again.")
        run(session)
        assert Speech.objects.filter(round__session=session).count() == 4
        judge(session, [0.7, 0.3], end=True)
    assert run(session).status == Session.Status.FINISHED


def consultancy_with(stub: StubLLM, provider: str = "openai") -> Session:
    person = make_user()
    return session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[
            SeatAssignment(Role.JUDGE, user=person),
            SeatAssignment(Role.CONSULTANT, agent=stub_agent(f"c-{person.pk}", stub, provider)),
        ],
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_rate_limits_and_server_errors_are_retried(provider):
    statuses = iter([429, 500])
    good = playing_script()

    def script(body):
        status = next(statuses, 200)
        return Reply(status=status) if status != 200 else good(body)

    with StubLLM(script) as stub:
        session = consultancy_with(stub, provider)
        judge(session, [0.5, 0.5])
        run(session)
    assert Speech.objects.filter(round__session=session).count() == 1
    assert LLMCall.objects.get(session=session).retries == 2


def test_a_turn_that_keeps_failing_marks_the_session_and_can_be_retried():
    failing = {"on": True}
    good = playing_script()

    def script(body):
        return Reply(status=500) if failing["on"] else good(body)

    with StubLLM(script) as stub:
        session = consultancy_with(stub)
        judge(session, [0.5, 0.5], "Prior.")
        session = run(session)
        assert "AI turn for consultant" in session.attention and "HTTP 500" in session.attention
        assert AITurn.objects.get(session=session).status == AITurn.Status.FAILED
        assert Judgment.objects.filter(session=session).count() == 1  # nothing saved was lost
        failing["on"] = False
        ai_turn_retry(session=session)
        session = run(session)
    assert session.attention == ""
    assert Speech.objects.filter(round__session=session).count() == 1


def test_an_unreadable_judge_reply_is_asked_again_then_recorded_as_a_failure():
    replies = iter(["I think A, probably.", "PROBABILITIES: A=80%, B=20%\nDECISION: continue"])

    def script(body):
        return Reply(next(replies, "still nonsense"))

    with StubLLM(script) as stub:
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, agent=stub_agent("j", stub)),
                SeatAssignment(Role.CONSULTANT, user=make_user()),
            ],
        )
        session = run(session)
        judgment = Judgment.objects.get(session=session)
        assert judgment.probabilities == pytest.approx([0.8, 0.2])
        second = stub.requests[1][1]["messages"]
        assert "could not read that" in second[-1]["content"]


def test_an_over_long_speech_is_sent_back_then_trimmed():
    long_speech = ("This sentence is padding for the limit. " * 60).strip()
    with StubLLM(lambda body: Reply(long_speech)) as stub:
        session = consultancy_with(stub)
        judge(session, [0.5, 0.5])
        run(session)
        speech = Speech.objects.get(round__session=session)
    assert speech.char_count <= 1500
    assert speech.text.endswith(".")  # cut at a sentence boundary
    feedback = stub.requests[1][1]["messages"][-1]["content"]
    assert "the limit is 1500" in feedback
    assert len(stub.requests) == 3  # asked once, re-asked twice, then trimmed


def test_a_redelivered_turn_does_not_write_twice():
    with StubLLM(playing_script()) as stub:
        session = consultancy_with(stub)
        seat = session.seats.get(role=Role.CONSULTANT)
        judge(session, [0.5, 0.5])
        run(session)
        assert ai_turn_take(session_id=session.pk, seat_id=seat.pk, turn_key="1") in {
            "stale",
            "duplicate",
        }
    assert Speech.objects.filter(round__session=session).count() == 1
    assert AITurn.objects.filter(session=session).count() == 1


def test_a_duplicated_task_finds_the_claim_and_calls_no_model():
    with StubLLM(playing_script()) as stub:
        session = consultancy_with(stub)
        seat = session.seats.get(role=Role.CONSULTANT)
        AITurn.objects.create(session=session, seat=seat, turn_key="1")  # first delivery's claim
        judge(session, [0.5, 0.5])
        run(session)
        assert ai_turn_take(session_id=session.pk, seat_id=seat.pk, turn_key="1") == "duplicate"
        assert stub.requests == []
    assert not Speech.objects.filter(round__session=session).exists()


def test_staff_see_the_failure_in_the_room_and_retry_from_there(client):
    failing = {"on": True}
    good = playing_script()
    with StubLLM(lambda body: Reply(status=500) if failing["on"] else good(body)) as stub:
        session = consultancy_with(stub)
        judge(session, [0.5, 0.5])
        run(session)
        staff = make_user("boss", is_staff=True)
        client.force_login(staff)
        page = client.get(f"/sessions/{session.pk}/").content.decode()
        assert "Needs attention" in page and "Retry the AI turn" in page
        judge_user = session.seats.get(role=Role.JUDGE).user
        client.force_login(judge_user)
        assert "Needs attention" not in client.get(f"/sessions/{session.pk}/").content.decode()
        assert client.post(f"/sessions/{session.pk}/retry").status_code == 403  # staff only
        failing["on"] = False
        client.force_login(staff)
        client.post(f"/sessions/{session.pk}/retry")
        run(session)
    assert Speech.objects.filter(round__session=session).count() == 1


def test_story_pasted_outside_quotes_is_sent_back_then_taken_out():
    from tests.factories import PASSAGE_TEXT

    pasted = "As the story says: " + PASSAGE_TEXT[:300] + " So the answer is A."
    with StubLLM(lambda body: Reply(pasted)) as stub:
        session = consultancy_with(stub)
        judge(session, [0.5, 0.5])
        run(session)
        speech = Speech.objects.get(round__session=session)
    feedback = stub.requests[1][1]["messages"][-1]["content"]
    assert "is copied from the story outside a quote" in feedback and "Quote it instead" in feedback
    assert len(stub.requests) == 3  # asked once, re-asked twice, then the story taken out
    assert "[…]" in speech.text and "So the answer is A." in speech.text
    from tests.leak_detector import story_windows

    assert not story_windows(speech.text, PASSAGE_TEXT)
