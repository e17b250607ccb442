"""Moves applied to stored sessions through the services: what is saved, what is refused."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction

from debate import events
from debate.judgments import judgment_record
from debate.models import Judgment, Quote, Round, Seat, Session, Speech
from debate.protocol import Protocol, RejectionCode, Role
from debate.services import MoveRejected, SeatAssignment, paper_rules, session_create
from tests.factories import judge, make_debate, make_question, make_user, quote, seat, speak

pytestmark = pytest.mark.django_db


@contextmanager
def rejected(code: RejectionCode):
    """Expect the move inside to be refused with ``code``."""
    with pytest.raises(MoveRejected) as info:
        yield info
    assert info.value.code == code, info.value.rejections


# --- session_create ------------------------------------------------------------------------------


def test_session_create_shows_correct_answer_and_best_distractor_in_random_order():
    question = make_question()
    orders = set()
    for _ in range(20):
        session = session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.DEBATER_A, user=make_user()),
                SeatAssignment(Role.DEBATER_B, user=make_user()),
            ],
        )
        orders.add(tuple(session.answer_order))
        assert session.status == Session.Status.NOT_STARTED
        assert session.answers[session.correct_position] == question.answers[0]
    assert orders == {(0, 3), (3, 0)}


def test_debaters_argue_different_answers_by_default(debate):
    positions = {s.role: s.answer_position for s in debate.seats.all()}
    assert positions == {"judge": None, "debater_a": 0, "debater_b": 1}


@pytest.mark.parametrize(
    "roles, message",
    [
        ([Role.JUDGE, Role.DEBATER_A], "needs exactly these seats"),
        ([Role.JUDGE, Role.DEBATER_A, Role.DEBATER_B, Role.CONSULTANT], "needs exactly"),
    ],
)
def test_session_create_refuses_wrong_seats_and_saves_nothing(roles, message):
    question = make_question()
    with pytest.raises(MoveRejected, match=message):
        session_create(
            question=question,
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[SeatAssignment(role, user=make_user()) for role in roles],
        )
    assert Session.objects.count() == 0


def test_one_person_cannot_hold_two_seats():
    person = make_user()
    with pytest.raises(MoveRejected, match="two seats"):
        session_create(
            question=make_question(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, user=person),
                SeatAssignment(Role.CONSULTANT, user=person),
            ],
        )


def test_debaters_must_argue_different_answers():
    with pytest.raises(MoveRejected, match="different answers"):
        session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.DEBATER_A, user=make_user(), answer_position=1),
                SeatAssignment(Role.DEBATER_B, user=make_user(), answer_position=1),
            ],
        )


def test_a_seat_needs_exactly_one_holder():
    with pytest.raises(MoveRejected, match="exactly one holder"):
        session_create(
            question=make_question(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[SeatAssignment(Role.JUDGE), SeatAssignment(Role.CONSULTANT, user=make_user())],
        )


# --- a whole debate ------------------------------------------------------------------------------


def test_full_debate_is_stored_move_by_move(debate):
    judge(debate, [0.5, 0.5], "Prior.")
    speak(
        debate, Role.DEBATER_B, "B first in the simultaneous round: " + quote(debate, "seven ships")
    )
    speak(debate, Role.DEBATER_A, "A: " + quote(debate, "the law named every vessel"))
    debate.refresh_from_db()
    assert debate.status == Session.Status.IN_PROGRESS
    assert debate.started_at is not None
    judge(debate, [0.6, 0.4])
    speak(debate, Role.DEBATER_A, "Sequential, A first.")
    with rejected(RejectionCode.NOT_YOUR_TURN):
        judge(debate, [0.7, 0.3])
    speak(debate, Role.DEBATER_B, "Then B.")
    judge(debate, [0.9, 0.1], "Done.", end=True)

    debate.refresh_from_db()
    assert debate.status == Session.Status.FINISHED
    assert debate.finished_at is not None
    rounds = list(debate.rounds.order_by("index"))
    assert [r.kind for r in rounds] == ["judge", "simultaneous", "judge", "sequential", "judge"]
    assert all(r.completed_at for r in rounds)
    final = Judgment.objects.get(session=debate, end=True)
    assert final.probabilities == [0.9, 0.1]
    with rejected(RejectionCode.SESSION_FINISHED):
        speak(debate, Role.DEBATER_A, "Too late.")


def test_speech_stores_certified_quotes_and_counts(debate):
    judge(debate)
    markup = (
        "Look: "
        + quote(debate, "seven ships passed the point")
        + " and "
        + ("<quote>SEVEN ships passed the point</quote> but <quote>no such words</quote>")
    )
    speech = speak(debate, Role.DEBATER_A, markup)
    quotes = list(speech.quotes.order_by("position"))
    assert [(q.verified, q.text) for q in quotes] == [
        (True, "seven ships passed the point"),
        (True, "seven ships passed the point"),
        (False, "no such words"),
    ]
    assert quotes[0].start == debate.question.passage.text.index("seven ships")
    assert speech.char_count == len("Look: ") + 28 + len(" and ") + 28 + len(" but ") + 13
    assert speech.quote_char_count == 28  # the same characters quoted twice count once
    assert speech.text.count("<quote>") == 3


def test_a_client_cannot_make_a_quote_say_what_the_passage_does_not(debate):
    judge(debate)
    passage = debate.question.passage.text
    start = passage.index("seven ships")
    speech = speak(
        debate, Role.DEBATER_A, f'<quote start="{start}" end="{start + 11}">forty ships</quote>'
    )
    assert speech.quotes.get().text == "seven ships"


def test_span_outside_the_passage_is_refused_and_nothing_saved(debate):
    judge(debate)
    length = len(debate.question.passage.text)
    with rejected(RejectionCode.BAD_QUOTE):
        speak(debate, Role.DEBATER_A, f'<quote start="{length - 5}" end="{length + 20}">x</quote>')
    assert Speech.objects.count() == 0


def test_over_limit_speech_is_refused_with_both_reasons_and_nothing_saved(debate):
    judge(debate)
    passage = debate.question.passage.text
    long_quote = f'<quote start="0" end="{min(300, len(passage))}">x</quote>'
    with pytest.raises(MoveRejected) as info:
        speak(debate, Role.DEBATER_A, "x" * 600 + long_quote)
    codes = {r.code for r in info.value.rejections}
    assert codes == {RejectionCode.OVER_CHAR_LIMIT, RejectionCode.OVER_QUOTE_LIMIT}
    assert "limit is 750" in str(info.value)
    assert Speech.objects.count() == 0
    assert Round.objects.filter(session=debate, index=1).count() == 0


def test_move_out_of_turn_is_refused_and_nothing_saved(debate):
    with rejected(RejectionCode.NOT_YOUR_TURN):
        speak(debate, Role.DEBATER_A, "Before the prior.")
    assert not Speech.objects.exists()


def test_a_seat_of_another_session_cannot_move(debate, question):
    other_judge = seat(make_debate(question=question), Role.JUDGE)
    with rejected(RejectionCode.NOT_YOUR_TURN):
        judgment_record(session=debate, seat=other_judge, probabilities=[0.5, 0.5])
    assert not Judgment.objects.exists()


# --- judgments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "probabilities",
    [[0.7, 0.7], [-0.1, 1.1], ["0.5", "0.5"], [0.5], [float("nan"), 0.5], [True, False]],
)
def test_bad_probabilities_are_refused(debate, probabilities):
    with rejected(RejectionCode.BAD_PROBABILITIES):
        judge(debate, probabilities)
    assert not Judgment.objects.exists()


def test_judge_cannot_end_before_hearing_a_speech(debate):
    with rejected(RejectionCode.CANNOT_END_YET):
        judge(debate, [0.5, 0.5], end=True)


def test_judge_note_over_limit_is_refused(debate):
    with rejected(RejectionCode.OVER_CHAR_LIMIT):
        judge(debate, [0.5, 0.5], "n" * 751)


def test_consultancy_runs_to_the_end(consultancy):
    judge(consultancy, [0.5, 0.5])
    speak(consultancy, Role.CONSULTANT, "Trust me: " + quote(consultancy, "Marta, his daughter"))
    judge(consultancy, [0.4, 0.6])
    speak(consultancy, Role.CONSULTANT, "Still trust me.")
    judge(consultancy, [0.3, 0.7], end=True)
    consultancy.refresh_from_db()
    assert consultancy.status == Session.Status.FINISHED
    assert consultancy.rounds.count() == 5


# --- database constraints: the last line against races -------------------------------------------


def test_database_refuses_two_speeches_for_one_seat_in_one_round(debate):
    judge(debate)
    speak(debate, Role.DEBATER_A, "Once.")
    round_ = debate.rounds.get(index=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Speech.objects.create(
            round=round_,
            seat=seat(debate, Role.DEBATER_A),
            text="Twice.",
            char_count=6,
            quote_char_count=0,
        )


def test_database_refuses_two_final_judgments_for_one_judge(debate):
    judge(debate)
    speak(debate, Role.DEBATER_A, "a")
    speak(debate, Role.DEBATER_B, "b")
    final = judge(debate, [0.6, 0.4], end=True)
    round_ = Round.objects.create(session=debate, index=9, kind="judge")
    with pytest.raises(IntegrityError), transaction.atomic():
        Judgment.objects.create(
            session=debate, round=round_, seat=final.seat, probabilities=[0.5, 0.5], end=True
        )


def test_database_refuses_a_seat_with_two_holders_or_none(debate):
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.filter(pk=seat(debate, Role.JUDGE).pk).update(ai_player="stub")
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.filter(pk=seat(debate, Role.JUDGE).pk).update(user=None)


def test_database_refuses_a_verified_quote_without_a_span(debate):
    judge(debate)
    speech = speak(debate, Role.DEBATER_A, "x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(speech=speech, position=0, verified=True, text="t")


# --- side effects after commit -------------------------------------------------------------------


def test_connected_seats_are_told_after_commit_and_not_before(
    debate, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.session_group(debate.pk), channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        judge(debate)
    assert callbacks, "the announcement waits for the commit"
    for callback in callbacks:
        callback()
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "session.changed" and message["session_id"] == debate.pk


def test_a_refused_move_announces_nothing(debate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(MoveRejected):
        speak(debate, Role.DEBATER_A, "out of turn")
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_agent", [False, True])
def test_a_move_replays_the_history_once_and_its_followers_reuse_the_state(monkeypatch, with_agent):
    """The service replays to check the move; the notifications and the AI scheduling that follow
    it use the state the move left (a later change would make them replay under the lock)."""
    from debate import protocol as core

    session = make_debate()
    judge(session, (0.5, 0.5))
    if with_agent:
        from llm_agents.models import Agent, SeatAgent

        agent = Agent.objects.create(name="quiet", provider="openai", model="m")
        session.seats.filter(role=Role.DEBATER_B).update(user=None, ai_player=agent.name)
        SeatAgent.objects.create(seat=session.seats.get(role=Role.DEBATER_B), agent=agent)
    sent = []
    monkeypatch.setattr("llm_agents.services.enqueue", lambda *args, **kwargs: sent.append(args))
    replays = []
    real = core.replay
    monkeypatch.setattr(core, "replay", lambda *a, **k: replays.append(1) or real(*a, **k))
    speak(session, Role.DEBATER_A, "One move, one replay.")  # outside a transaction: hooks run
    assert len(replays) == 1
    # The followers did run: B's turn is scheduled for its agent, or B is notified.
    if with_agent:
        assert sent == [("llm_agents.ai_turn",)]
    else:
        from debate.models import Notification

        assert Notification.objects.filter(
            user=seat(session, Role.DEBATER_B).user, done_at__isnull=True
        ).exists()


def test_a_draft_save_that_arrives_after_its_speech_does_not_bring_the_speech_back(db):
    """The page sends the draft just before submitting; when the server takes the speech first,
    the late save must not leave the submitted text as the next round's draft."""
    from debate.judgments import judgment_record
    from debate.models import Draft
    from debate.services import draft_save

    session = make_debate()
    judge(session, (0.5, 0.5))
    a = seat(session, Role.DEBATER_A)
    text = "A says so: " + quote(session, "the law")
    speak(session, Role.DEBATER_A, text)
    draft_save(seat=a, kind=Draft.Kind.SPEECH, text=text)  # the late save
    assert not Draft.objects.filter(seat=a).exists()
    draft_save(seat=a, kind=Draft.Kind.SPEECH, text=text + " And more.")  # new writing is kept
    assert Draft.objects.get(seat=a).text == text + " And more."
    speak(session, Role.DEBATER_B, "B replies.")
    j = seat(session, Role.JUDGE)
    judgment_record(session=session, seat=j, probabilities=(0.6, 0.4), text="Go on, A.")
    draft_save(seat=j, kind=Draft.Kind.NOTE, text="Go on, A.")  # the note's late save
    assert not Draft.objects.filter(seat=j).exists()
