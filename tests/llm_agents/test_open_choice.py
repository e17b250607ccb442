"""Open consultancy and open debate with AI experts (issue 16): the expert's choice of the answer
it argues is asked through the real OpenAI SDK against a stub server, in one strict line, asked
again when unreadable, and made through the same service as a person's; `run_batch --protocol
open-consultancy` runs whole sessions to the end."""

from __future__ import annotations

import pytest

from config.background import wait_for_background
from debate.models import Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, open_rules, session_create
from debate.visibility import view_for
from llm_agents.models import LLMCall
from llm_agents.prompts import UnparsableReply, choice_reply_parse, choice_request
from tests.factories import make_question, make_user, seat
from tests.leak_detector import story_windows
from tests.llm_stubs import Reply, StubLLM, batch_provider, last_user, run_batch, stub_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def inprocess(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)


@pytest.mark.parametrize(
    "reply, position",
    [("CHOICE: A", 0), ("  CHOICE: B  ", 1), ("<thinking>A? no</thinking>\nCHOICE: B", 1)],
)
def test_a_choice_reply_is_read_only_when_it_is_one_strict_line(reply, position):
    assert choice_reply_parse(reply, 2) == position


@pytest.mark.parametrize(
    "reply",
    ["I choose A", "choice: a", "CHOICE: A\nbecause", "CHOICE: C", "CHOICE: AB", "", "A"],
)
def test_an_unreadable_choice_reply_is_refused_not_guessed(reply):
    with pytest.raises(UnparsableReply):
        choice_reply_parse(reply, 2)


def test_an_ai_consultant_chooses_through_the_sdk_asked_again_when_unreadable():
    replies = iter(["I will argue for A, it is clearly right.", "CHOICE: B"])
    asked: list[dict] = []

    def script(body: dict) -> Reply:
        asked.append(body)
        return Reply(next(replies))

    judge_user = make_user()
    question = make_question()
    with StubLLM(script) as stub:
        session = session_create(
            question=question,
            protocol_name=Protocol.CONSULTANCY,
            rules=open_rules(Protocol.CONSULTANCY),
            answer_order=[question.correct_index, question.best_distractor_index],
            seats=[
                SeatAssignment(Role.JUDGE, user=judge_user),
                SeatAssignment(Role.CONSULTANT, agent=stub_agent("gpt-open", stub)),
            ],
        )
        wait_for_background(timeout=60)
    consultant = seat(session, Role.CONSULTANT)
    assert consultant.answer_position == 1 and consultant.answer_chosen_at is not None
    assert len(asked) == 2
    system = next(m["content"] for m in asked[0]["messages"] if m["role"] == "system")
    assert question.passage.text[:200] in system  # the expert has read the story
    assert "CHOICE: A" in last_user(asked[0])
    assert "I could not read that" in last_user(asked[1])
    calls = LLMCall.objects.filter(session=session)
    assert list(calls.values_list("purpose", flat=True)) == ["choice", "choice"]
    session = Session.objects.get(pk=session.pk)
    judge_view = view_for(seat(session, Role.JUDGE), session)
    assert judge_view.your_turn and judge_view.argued_positions == {"consultant": 1}
    assert judge_view.correct_position is None


def test_the_choice_prompt_holds_the_story_and_the_judges_prompt_never_does():
    from llm_agents.prompts import build_request

    question = make_question()
    session = session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=open_rules(Protocol.DEBATE),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=make_user()),
            SeatAssignment(Role.DEBATER_A, user=make_user()),
            SeatAssignment(Role.DEBATER_B, user=make_user()),
        ],
    )
    view = view_for(seat(session, Role.DEBATER_A), session)
    request = choice_request(view, "v1")
    assert "the other debater argues the other answer" in request.system
    assert question.passage.text[:200] in request.system
    judge = build_request(view_for(seat(session, Role.JUDGE), session), "v1")
    text = judge.system + judge.messages[-1]["content"]
    assert not story_windows(text, question.passage.text)
    from debate.services import choice_submit

    choice_submit(session=session, seat=seat(session, Role.DEBATER_A), position=1)
    session = Session.objects.get(pk=session.pk)
    speaker_a = build_request(view_for(seat(session, Role.DEBATER_A), session), "v1").system
    speaker_b = build_request(view_for(seat(session, Role.DEBATER_B), session), "v1").system
    assert "You chose to argue for answer B" in speaker_a
    assert "You have been assigned to argue for answer A" in speaker_b


def test_run_batch_plays_open_consultancies_to_the_end(monkeypatch):
    with batch_provider(monkeypatch, prefix="open-q", questions=3):
        output = run_batch(
            "--protocol",
            "open-consultancy",
            "--debaters",
            "openai:stub-consultant",
            "--judge",
            "openai:stub-judge",
            "--questions",
            "3",
            "--concurrency",
            "1",
            "--batch-id",
            "open-1",
        )
    sessions = Session.objects.filter(batch_link__batch__batch_id="open-1")
    assert sessions.count() == 3 and all(s.rules.name == "open-consultancy" for s in sessions)
    assert all(s.status == Session.Status.FINISHED for s in sessions)
    assert all(seat(s, Role.CONSULTANT).answer_position == 1 for s in sessions)  # the stub: B
    assert "completed 3, failed 0" in output
    assert sessions.first().batch_link.batch.protocol == "open-consultancy"
    purposes = LLMCall.objects.filter(session__batch_link__batch__batch_id="open-1").values_list(
        "purpose", flat=True
    )
    assert list(purposes).count("choice") == 3
