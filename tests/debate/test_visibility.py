"""Who sees what. Sentinel strings are planted in the passage outside every quote, in the answer
options a session does not show, in a pending speech and in the seat holders' names; no judge
view contains them at any state. And, stronger: before the end, a judge's view is the same
whichever answer is correct, whatever the unquoted passage says, and whatever the current round's
speeches say."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debate import protocol
from debate.protocol import MoveKind, Protocol, Role, RoundKind
from debate.quotes import (
    Quote,
    Segment,
    Text,
    quote_from_span,
    quoted_char_count,
    rendered_length,
    to_markup,
)
from debate.records import QuoteRecord
from debate.visibility import (
    JudgmentRecord,
    RoundRecord,
    SeatRecord,
    SessionSnapshot,
    SpeechRecord,
    Viewer,
    build_view,
    view_for,
    view_to_dict,
)
from tests.factories import (
    judge,
    make_consultancy,
    make_debate,
    make_question,
    make_user,
    seat,
    speak,
)

PASSAGE_SENTINEL = "ZQXPASSAGESECRETZQX"
PENDING_SENTINEL = "ZQXPENDINGSPEECHZQX"
NAME_SENTINEL = "zqxholdername"
UNUSED_OPTION_SENTINEL = "ZQXUNUSEDOPTIONZQX"

QUOTABLE = "The keeper counted seven ships. Marta counted eight. "
PASSAGE = (QUOTABLE + PASSAGE_SENTINEL + " ") * 4


# --------------------------------------------------------------------------------------------------
# Pure: random legal histories through build_view
# --------------------------------------------------------------------------------------------------


def quotable_spans() -> list[tuple[int, int]]:
    spans, start = [], 0
    while (found := PASSAGE.find(QUOTABLE, start)) >= 0:
        spans.append((found, found + len(QUOTABLE) - 1))
        start = found + 1
    return spans


@st.composite
def histories(draw, protocol_name: Protocol):
    """A random legal history, with speeches that quote only the sentinel-free parts."""
    structure = protocol.default_structure(protocol_name)
    state = protocol.initial_state(protocol_name, structure)
    rounds: dict[int, dict] = {}
    for _ in range(draw(st.integers(0, 14))):
        legal = protocol.legal_moves(state)
        if not legal:
            break
        option = draw(st.sampled_from(legal))
        record = rounds.setdefault(
            state.round_index, {"kind": state.round.kind, "speeches": [], "judgments": []}
        )
        if option.kind is MoveKind.JUDGMENT:
            choices = [c for c, ok in ((False, option.may_continue), (True, option.may_end)) if ok]
            end = draw(st.sampled_from(choices))
            p = draw(st.floats(0, 1))
            record["judgments"].append(JudgmentRecord(1, "live", (p, 1 - p), "note", end))
            move = protocol.Move(Role.JUDGE, MoveKind.JUDGMENT, end=end)
        else:
            start, end_ = draw(st.sampled_from(quotable_spans()))
            cut = draw(st.integers(start + 1, end_))
            segments = (Text(f"{option.role} argues "), quote_from_span(PASSAGE, start, cut))
            record["speeches"].append(speech_record(option.role, segments))
            move = protocol.Move(option.role, MoveKind.SPEECH)
        state = protocol.apply_move(state, move)
    snapshot_rounds = tuple(
        RoundRecord(i, r["kind"], tuple(r["speeches"]), tuple(r["judgments"]))
        for i, r in sorted(rounds.items())
    )
    speakers = protocol.SPEAKING_ROLES[protocol_name]
    seats = (
        SeatRecord(1, Role.JUDGE, NAME_SENTINEL + "judge", False, None),
        *(
            SeatRecord(2 + i, role, NAME_SENTINEL + str(role), False, i)
            for i, role in enumerate(speakers)
        ),
    )
    return SessionSnapshot(
        session_id=7,
        protocol=protocol_name,
        status="finished" if state.finished else "in_progress",
        question="Who counted more ships?",
        answers=("Marta", "The keeper"),
        correct_position=draw(st.integers(0, 1)),
        passage_title="Title " + PASSAGE_SENTINEL,
        passage_text=PASSAGE,
        state=state,
        seats=seats,
        rounds=snapshot_rounds,
    )


def speech_record(role: Role, segments: tuple[Segment, ...]) -> SpeechRecord:
    """A speech as stored (markup and its quotes' certification) that reveals ``segments``."""
    quotes = tuple(
        QuoteRecord(s.start, s.end, s.verified, s.text) for s in segments if isinstance(s, Quote)
    )
    return SpeechRecord(
        role, 2, to_markup(segments), rendered_length(segments), quoted_char_count(segments), quotes
    )


def judge_json(snapshot: SessionSnapshot) -> str:
    return json.dumps(view_to_dict(build_view(snapshot, Viewer(Role.JUDGE, seat_id=1))))


def with_pending_speeches_replaced(snapshot: SessionSnapshot) -> SessionSnapshot:
    current = snapshot.state.round_index
    rounds = tuple(
        dataclasses.replace(
            r,
            speeches=tuple(speech_record(s.role, (Text(PENDING_SENTINEL),)) for s in r.speeches),
        )
        if r.index == current and not snapshot.state.finished
        else r
        for r in snapshot.rounds
    )
    return dataclasses.replace(snapshot, rounds=rounds)


PROTOCOLS = st.sampled_from([Protocol.DEBATE, Protocol.CONSULTANCY])
settings_ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(data=st.data(), protocol_name=PROTOCOLS)
def test_judge_view_never_contains_sentinels(data, protocol_name):
    snapshot = with_pending_speeches_replaced(data.draw(histories(protocol_name)))
    text = judge_json(snapshot)
    assert PASSAGE_SENTINEL not in text
    assert PENDING_SENTINEL not in text
    assert NAME_SENTINEL not in text
    view = build_view(snapshot, Viewer(Role.JUDGE, seat_id=1))
    assert view.passage_text is None and view.identities is None
    if not snapshot.state.finished:
        assert view.correct_position is None


@settings_
@given(data=st.data(), protocol_name=PROTOCOLS)
def test_before_the_end_judge_view_does_not_depend_on_which_answer_is_correct(data, protocol_name):
    snapshot = data.draw(histories(protocol_name))
    flipped = dataclasses.replace(snapshot, correct_position=1 - snapshot.correct_position)
    if snapshot.state.finished:
        assert judge_json(snapshot) != judge_json(flipped)  # revealed at the end
    else:
        assert judge_json(snapshot) == judge_json(flipped)


@settings_
@given(data=st.data(), protocol_name=PROTOCOLS)
def test_judge_view_does_not_depend_on_unquoted_passage_or_pending_speeches(data, protocol_name):
    snapshot = data.draw(histories(protocol_name))
    other_passage = dataclasses.replace(
        snapshot, passage_text=PASSAGE.replace(PASSAGE_SENTINEL, "X" * len(PASSAGE_SENTINEL))
    )
    assert judge_json(snapshot) == judge_json(other_passage)
    assert judge_json(snapshot) == judge_json(with_pending_speeches_replaced(snapshot))


@settings_
@given(data=st.data())
def test_debater_never_sees_the_other_simultaneous_speech_before_its_own(data):
    snapshot = data.draw(histories(Protocol.DEBATE))
    state = snapshot.state
    if state.finished or state.round.kind is not RoundKind.SIMULTANEOUS:
        return
    for role, other in ((Role.DEBATER_A, Role.DEBATER_B), (Role.DEBATER_B, Role.DEBATER_A)):
        view = build_view(snapshot, Viewer(role, seat_id=2 if role == Role.DEBATER_A else 3))
        current = [r for r in view.rounds if r.index == state.round_index]
        shown = {s.role for r in current for s in r.speeches}
        assert other not in shown
        assert NAME_SENTINEL not in json.dumps(view_to_dict(view))


@settings_
@given(data=st.data(), protocol_name=PROTOCOLS)
def test_debaters_see_passage_and_correct_answer_and_staff_see_everything(data, protocol_name):
    snapshot = data.draw(histories(protocol_name))
    speaker = protocol.SPEAKING_ROLES[protocol_name][0]
    view = build_view(snapshot, Viewer(speaker, seat_id=2))
    assert view.passage_text == PASSAGE
    assert view.correct_position == snapshot.correct_position
    assert view.own_answer_position == 0
    staff = build_view(snapshot, Viewer.staff())
    assert staff.identities and all(NAME_SENTINEL in n for n in staff.identities.values())
    staff_speeches = sum(len(r.speeches) for r in staff.rounds)
    assert staff_speeches == sum(len(r.speeches) for r in snapshot.rounds)


def test_in_a_sequential_round_the_second_speaker_sees_the_first():
    structure = protocol.default_structure(Protocol.DEBATE)
    state = protocol.initial_state(Protocol.DEBATE, structure)
    for move in [
        protocol.Move(Role.JUDGE, MoveKind.JUDGMENT),
        protocol.Move(Role.DEBATER_A, MoveKind.SPEECH),
        protocol.Move(Role.DEBATER_B, MoveKind.SPEECH),
        protocol.Move(Role.JUDGE, MoveKind.JUDGMENT),
        protocol.Move(Role.DEBATER_A, MoveKind.SPEECH),
    ]:
        state = protocol.apply_move(state, move)
    speech = speech_record(Role.DEBATER_A, (Text("A's rebuttal"),))
    snapshot = SessionSnapshot(
        7,
        Protocol.DEBATE,
        "in_progress",
        "q",
        ("x", "y"),
        0,
        "t",
        PASSAGE,
        state,
        (),
        (RoundRecord(3, RoundKind.SEQUENTIAL, (speech,)),),
    )
    as_b = build_view(snapshot, Viewer(Role.DEBATER_B, seat_id=3))
    assert [s.segments[0].text for r in as_b.rounds for s in r.speeches] == ["A's rebuttal"]
    as_judge = build_view(snapshot, Viewer(Role.JUDGE, seat_id=1))
    assert as_judge.rounds == ()


# --------------------------------------------------------------------------------------------------
# Stored sessions: every state of a whole debate and consultancy, through view_for and JSON
# --------------------------------------------------------------------------------------------------


def sentinel_question():
    question = make_question(
        answers=[
            "Marta's count",
            UNUSED_OPTION_SENTINEL + " a",
            UNUSED_OPTION_SENTINEL + " b",
            "The keeper's count",
        ],
        correct_index=0,
        best_distractor_index=3,
    )
    passage = question.passage
    passage.text = PASSAGE
    passage.title = "Title " + PASSAGE_SENTINEL
    passage.save()
    return question


def q(fragment: str) -> str:
    start = PASSAGE.index(fragment)
    return f'<quote start="{start}" end="{start + len(fragment)}">{fragment}</quote>'


def assert_judge_blind(session) -> None:
    view = view_for(seat(session, Role.JUDGE), session)
    text = json.dumps(view_to_dict(view))
    assert PASSAGE_SENTINEL not in text
    assert PENDING_SENTINEL not in text
    assert NAME_SENTINEL not in text
    assert UNUSED_OPTION_SENTINEL not in text
    assert view.correct_position is None


@pytest.mark.django_db
def test_whole_debate_judge_blind_at_every_state():
    names = {r: make_user(f"{NAME_SENTINEL}{r}") for r in ("judge", "debater_a", "debater_b")}
    session = make_debate(question=sentinel_question(), order=[3, 0], **names)
    assert_judge_blind(session)
    judge(session, [0.5, 0.5])
    assert_judge_blind(session)
    speak(session, Role.DEBATER_A, "ZQXOPENINGA " + q("seven ships"))
    assert "ZQXOPENINGA" not in json.dumps(
        view_to_dict(view_for(seat(session, Role.JUDGE), session))
    )
    assert_judge_blind(session)
    b_view = view_for(seat(session, Role.DEBATER_B), session)
    assert "ZQXOPENINGA" not in json.dumps(view_to_dict(b_view))
    speak(session, Role.DEBATER_B, "B opens " + q("Marta counted eight"))
    view = view_for(seat(session, Role.JUDGE), session)
    assert "ZQXOPENINGA" in json.dumps(view_to_dict(view))  # the round is complete now
    judge(session, [0.4, 0.6])
    speak(session, Role.DEBATER_A, PENDING_SENTINEL + q("The keeper counted"))
    assert_judge_blind(session)
    b_view = view_for(seat(session, Role.DEBATER_B), session)
    assert PENDING_SENTINEL in json.dumps(view_to_dict(b_view))  # sequential: B answers A
    speak(session, Role.DEBATER_B, "B again")
    judge(session, [0.2, 0.8], end=True)
    final_text = json.dumps(view_to_dict(view_for(seat(session, Role.JUDGE), session)))
    assert PASSAGE_SENTINEL not in final_text and NAME_SENTINEL not in final_text
    final = view_for(seat(session, Role.JUDGE), session)
    assert final.correct_position == 1  # shown order [3, 0]: the correct option 0 is second
    assert [(q.start, q.end) for q in final.revealed_quotes] == sorted(
        (q.start, q.end) for q in final.revealed_quotes
    )


@pytest.mark.django_db
def test_whole_consultancy_judge_blind_at_every_state():
    names = {r: make_user(f"{NAME_SENTINEL}{r}") for r in ("judge", "consultant")}
    session = make_consultancy(question=sentinel_question(), consultant_position=1, **names)
    assert_judge_blind(session)
    judge(session, [0.5, 0.5])
    speak(session, Role.CONSULTANT, "Believe me " + q("Marta counted eight"))
    assert_judge_blind(session)
    judge(session, [0.5, 0.5])
    speak(session, Role.CONSULTANT, "ZQXCONSULTANT")
    view = view_for(seat(session, Role.JUDGE), session)
    assert "ZQXCONSULTANT" in json.dumps(view_to_dict(view))  # one speaker: the round is over
    assert view.correct_position is None
    judge(session, [0.9, 0.1], end=True)
    view = view_for(seat(session, Role.JUDGE), session)
    assert view.correct_position == 0 and PASSAGE_SENTINEL not in json.dumps(view_to_dict(view))


@pytest.mark.django_db
def test_json_endpoint_gives_each_seat_its_view_and_404s_strangers(client, staff_user):
    names = {r: make_user(f"{NAME_SENTINEL}{r}") for r in ("judge", "debater_a", "debater_b")}
    session = make_debate(question=sentinel_question(), **names)
    judge(session)
    speak(session, Role.DEBATER_A, PENDING_SENTINEL)
    url = f"/sessions/{session.pk}/view.json"

    client.force_login(names["judge"])
    body = client.get(url).content.decode()
    assert PASSAGE_SENTINEL not in body and PENDING_SENTINEL not in body
    assert NAME_SENTINEL not in body

    client.force_login(names["debater_b"])
    body = client.get(url).json()
    assert body["passage_text"] == PASSAGE and PENDING_SENTINEL not in json.dumps(body)

    client.force_login(make_user("stranger"))
    assert client.get(url).status_code == 404
    assert client.get("/sessions/999999/view.json").status_code == 404

    client.force_login(staff_user)
    assert PENDING_SENTINEL in client.get(url).content.decode()

    client.logout()
    assert client.get(url).status_code == 302  # to the login page
