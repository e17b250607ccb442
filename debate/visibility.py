"""Who sees what: the one place that decides the complete view of a seat (DESIGN.md section 4).

Every route out of the server to a seat (pages, partials, WebSocket pushes, JSON, LLM prompts,
exports made "as the judge") renders a `SeatView` from this module and nothing else. The rules:

- a judge (live or offline) sees the question, the shown answers, the speeches of completed rounds,
  the verified quote text in them, its own judgments; never the passage outside quoted spans, which
  answer is correct before its judging is over, a speech of an unfinished round, or who holds the
  other seats;
- a debater or consultant sees the passage, the question, the answers, which is its own and which
  is correct, all completed rounds, the current round's speeches in a sequential round, only its
  own in a simultaneous round, and the judge's probabilities and text; no identities;
- staff see everything.

`build_view` is pure (plain snapshot in, plain view out) so its rules are property-tested without a
database; `view_for` loads the snapshot of a stored session and calls it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from debate import protocol
from debate.protocol import JUDGE_ROLES, LETTERS, Role, RoundKind
from debate.quotes import (
    Quote,
    QuoteRequest,
    Segment,
    merge_spans,
    parse_markup,
    quoted_char_count,
)
from judging.scoring import PAPER_RULE, ScoringRule, judge_correct, judge_score

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from debate.models import Quote as QuoteRow
    from debate.models import Seat, Session

STAFF = "staff"


# --------------------------------------------------------------------------------------------------
# Snapshot: everything stored about a session, the input of build_view
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechRecord:
    role: Role
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class JudgmentRecord:
    role: Role
    probabilities: tuple[float, ...]
    text: str
    end: bool
    seat_id: int | None = None


@dataclass(frozen=True)
class VoteRecord:
    """A speaking seat's vote in a negotiate-end round."""

    role: Role
    end: bool


@dataclass(frozen=True)
class RoundRecord:
    index: int
    kind: RoundKind
    speeches: tuple[SpeechRecord, ...]
    judgments: tuple[JudgmentRecord, ...] = ()
    votes: tuple[VoteRecord, ...] = ()


@dataclass(frozen=True)
class SeatRecord:
    seat_id: int
    role: Role
    holder: str
    is_ai: bool
    answer_position: int | None
    judging_mode: str = ""  # offline judges: "stepped" or "timed"
    judging_started: bool = False  # offline judges: they have begun reading
    user_id: int | None = None  # who holds it now (never put in a view; streams check it)


@dataclass(frozen=True)
class SessionSnapshot:
    session_id: int
    protocol: protocol.Protocol
    status: str
    question: str
    answers: tuple[str, ...]
    correct_position: int
    passage_title: str
    passage_text: str
    state: protocol.State
    seats: tuple[SeatRecord, ...]
    rounds: tuple[RoundRecord, ...]
    offline_judgments: tuple[JudgmentRecord, ...] = ()
    scoring: ScoringRule = PAPER_RULE
    surveyed_seats: frozenset[int] = frozenset()  # seats whose feedback survey is submitted
    drafts: dict[int, dict[str, str]] = field(default_factory=dict)  # seat id -> kind -> text
    turn_became_due: datetime | None = None  # when the current turn began (the last live move)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a seat of the session, or staff (``seat_id`` None)."""

    role: Role | str
    seat_id: int | None = None
    survey_done: bool = False

    @classmethod
    def staff(cls) -> Viewer:
        return cls(role=STAFF)


# --------------------------------------------------------------------------------------------------
# The view: all a seat may know
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechView:
    role: Role
    segments: tuple[Segment, ...]

    @property
    def char_count(self) -> int:
        return sum(len(s.text) for s in self.segments)


@dataclass(frozen=True)
class RoundView:
    index: int
    kind: RoundKind
    complete: bool
    speeches: tuple[SpeechView, ...]
    judgments: tuple[JudgmentRecord, ...]
    votes: tuple[VoteRecord, ...] = ()


@dataclass(frozen=True)
class QuoteView:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SeatView:
    session_id: int
    viewer_role: str
    protocol: protocol.Protocol
    status: str
    question: str
    answers: tuple[str, ...]
    own_answer_position: int | None
    argued_positions: dict[str, int]
    correct_position: int | None
    passage_title: str | None
    passage_text: str | None
    rounds: tuple[RoundView, ...]
    revealed_quotes: tuple[QuoteView, ...]
    due: tuple[str, ...]
    your_turn: bool
    current_round: protocol.RoundSpec | None
    may_continue: bool
    may_end: bool
    judge_continues: int
    finished: bool
    identities: dict[str, str] | None = field(default=None)
    scoring: ScoringRule = PAPER_RULE
    probability_history: tuple[tuple[float, ...], ...] = ()
    judge_score: float | None = None
    may_undo: bool = False
    survey_pending: bool = False
    has_live_judge: bool = True  # False in a judgeless session
    ended_by: str | None = None  # how the session ended (protocol.EndReason), once it may know
    judging_mode: str = ""  # offline judges: stepped or timed
    judging_started: bool = True  # offline judges: False until they press "Begin judging"
    drafts: dict[str, str] = field(default_factory=dict)  # the viewer's own unsent drafts only
    turn_deadline: datetime | None = None  # when the current turn runs out (rules' time per turn)

    @property
    def latest_probabilities(self) -> tuple[float, ...] | None:
        return self.probability_history[-1] if self.probability_history else None

    @property
    def own_role_label(self) -> str:
        return ROLE_LABELS.get(self.viewer_role, self.viewer_role)

    @property
    def voting(self) -> bool:
        """It is this seat's turn to vote on ending the session."""
        spec = self.current_round
        return self.your_turn and spec is not None and spec.kind is RoundKind.NEGOTIATE_END

    @property
    def ended_by_label(self) -> str:
        return protocol.END_REASON_LABELS.get(self.ended_by, "") if self.ended_by else ""


ROLE_LABELS = {STAFF: "staff", **protocol.ROLE_LABELS}


def build_view(snapshot: SessionSnapshot, viewer: Viewer) -> SeatView:
    """The complete view of ``viewer``; anything not put here explicitly stays hidden."""
    if viewer.role == Role.OFFLINE_JUDGE:
        return _offline_judge_view(snapshot, viewer)
    role = viewer.role
    is_staff = role == STAFF
    is_judge = role in JUDGE_ROLES
    state = snapshot.state
    own_seat = next((s for s in snapshot.seats if s.seat_id == viewer.seat_id), None)

    judging_over = state.finished
    rounds = tuple(
        view for record in snapshot.rounds if (view := _round_view(record, state, role)) is not None
    )
    legal = protocol.legal_moves(state)
    my_move = next((m for m in legal if m.role == role), None)
    correct = snapshot.correct_position if not is_judge or judging_over else None
    history = tuple(j.probabilities for r in rounds for j in r.judgments if j.role == Role.JUDGE)
    final = next((j for r in rounds for j in r.judgments if j.end), None)
    surveyed = viewer.survey_done or viewer.seat_id in snapshot.surveyed_seats
    return SeatView(
        session_id=snapshot.session_id,
        viewer_role=str(role),
        protocol=snapshot.protocol,
        status=snapshot.status,
        question=snapshot.question,
        answers=snapshot.answers,
        own_answer_position=own_seat.answer_position if own_seat else None,
        argued_positions={
            str(s.role): s.answer_position for s in snapshot.seats if s.answer_position is not None
        },
        correct_position=correct,
        passage_title=None if is_judge else snapshot.passage_title,
        passage_text=None if is_judge else snapshot.passage_text,
        rounds=rounds,
        revealed_quotes=_revealed_quotes(rounds),
        due=tuple(sorted(str(r) for r in state.due)),
        your_turn=my_move is not None,
        current_round=state.round,
        may_continue=bool(my_move and my_move.may_continue),
        may_end=bool(my_move and my_move.may_end),
        judge_continues=state.judge_continues,
        finished=state.finished,
        identities=_identities(snapshot) if is_staff or surveyed else None,
        scoring=snapshot.scoring,
        probability_history=history,
        judge_score=None
        if final is None or correct is None
        else judge_score(snapshot.scoring, final.probabilities, correct, state.judge_continues),
        may_undo=own_seat is not None and undo_allowed(snapshot, own_seat.seat_id),
        survey_pending=state.finished and own_seat is not None and not surveyed,
        has_live_judge=state.structure.has_judge,
        ended_by=str(state.ended_by) if state.ended_by else None,
        drafts=_own_drafts(snapshot, own_seat),
        turn_deadline=None
        if state.finished
        else protocol.turn_deadline(state.structure, snapshot.turn_became_due),
    )


def _own_drafts(snapshot: SessionSnapshot, seat: SeatRecord | None) -> dict[str, str]:
    """A draft is its author's alone: not the other seats', not staff's."""
    return dict(snapshot.drafts.get(seat.seat_id, {})) if seat is not None else {}


def _offline_judge_view(snapshot: SessionSnapshot, viewer: Viewer) -> SeatView:
    """An offline judge reads the finished transcript as the live judge saw it, never the live
    judge's opinions nor the debaters' votes, and learns the answer only once its judging ends.
    Stepped: before its k-th judgment it sees what the live judge had heard before the live
    judge's k-th judgment (in a judgeless session: the first k speech rounds). Timed: the whole
    transcript at once, one final judgment. Nothing of the transcript until it begins."""
    own = [j for j in snapshot.offline_judgments if j.seat_id == viewer.seat_id]
    seat = next((s for s in snapshot.seats if s.seat_id == viewer.seat_id), None)
    started = seat is not None and seat.judging_started
    step = offline_step(snapshot, viewer.seat_id)
    ended = step.ended
    if ended:
        visible_below = len(snapshot.rounds) + 1
    elif not started or step.point is None:
        visible_below = -1
    else:
        visible_below = step.point.visible_below
    rounds = tuple(
        RoundView(
            index=r.index,
            kind=r.kind,
            complete=True,
            speeches=tuple(SpeechView(x.role, x.segments) for x in r.speeches),
            judgments=(),
        )
        for r in snapshot.rounds
        if r.index < visible_below and r.kind in protocol.SPEECH_ROUND_KINDS
    )
    correct = snapshot.correct_position if ended else None
    history = tuple(j.probabilities for j in own)
    final = next((j for j in own if j.end), None)
    # Assigned work is the judge's turn, beginning it included; the form shows once begun.
    own_turn = snapshot.state.finished and not ended and step.point is not None
    judging = own_turn and started
    surveyed = viewer.survey_done or viewer.seat_id in snapshot.surveyed_seats
    continues = sum(1 for j in own if not j.end)
    return SeatView(
        session_id=snapshot.session_id,
        viewer_role=str(Role.OFFLINE_JUDGE),
        protocol=snapshot.protocol,
        status=snapshot.status,
        question=snapshot.question,
        answers=snapshot.answers,
        own_answer_position=None,
        argued_positions={
            str(s.role): s.answer_position for s in snapshot.seats if s.answer_position is not None
        },
        correct_position=correct,
        passage_title=None,
        passage_text=None,
        rounds=rounds,
        revealed_quotes=_revealed_quotes(rounds),
        due=(str(Role.OFFLINE_JUDGE),) if own_turn else (),
        your_turn=own_turn,
        current_round=step.point.spec if judging and step.point else None,
        may_continue=judging and not step.must_end,
        may_end=judging and step.may_end,
        judge_continues=continues,
        finished=ended,
        identities=_identities(snapshot) if surveyed else None,
        scoring=snapshot.scoring,
        probability_history=history,
        judge_score=None
        if final is None
        else judge_score(
            snapshot.scoring, final.probabilities, snapshot.correct_position, continues
        ),
        survey_pending=ended and not surveyed,
        has_live_judge=snapshot.state.structure.has_judge,
        ended_by=str(snapshot.state.ended_by) if ended and snapshot.state.ended_by else None,
        judging_mode=seat.judging_mode if seat else "",
        judging_started=started,
        drafts=_own_drafts(snapshot, seat),
    )


def offline_step(snapshot: SessionSnapshot, seat_id: int | None) -> protocol.OfflineStep:
    """The offline judge's progress through its points (`protocol.offline_points`)."""
    own = [j for j in snapshot.offline_judgments if j.seat_id == seat_id]
    seat = next((s for s in snapshot.seats if s.seat_id == seat_id), None)
    played = played_rounds(snapshot.rounds)
    mode = (seat.judging_mode if seat else "") or protocol.OfflineMode.STEPPED
    points = protocol.offline_points(played, snapshot.state.structure, mode)
    return protocol.offline_step(points, played, [j.end for j in own])


def played_rounds(rounds: Sequence[RoundRecord]) -> list[protocol.PlayedRound]:
    return [
        protocol.PlayedRound(
            index=r.index,
            kind=r.kind,
            spoken=r.kind in protocol.SPEECH_ROUND_KINDS and bool(r.speeches),
            judged=any(j.role == Role.JUDGE for j in r.judgments),
        )
        for r in rounds
    ]


def undo_allowed(snapshot: SessionSnapshot, seat_id: int) -> bool:
    """A seat may take back its last move while no one else can have seen it: the session's
    latest move is this seat's speech and no other seat's view (by the rules above) shows it.
    Staff, who see everything at once, do not count."""
    state = snapshot.state
    own = next((s for s in snapshot.seats if s.seat_id == seat_id), None)
    if own is None or state.finished or own.role in JUDGE_ROLES:
        return False
    current = next((r for r in snapshot.rounds if r.index == state.round_index), None)
    if current is None or not any(x.role == own.role for x in current.speeches):
        return False
    for other in snapshot.seats:
        if other.seat_id == seat_id or other.role == Role.OFFLINE_JUDGE:
            continue
        seen = _round_view(current, state, other.role)
        if seen is not None and any(x.role == own.role for x in seen.speeches):
            return False
    return True


def _round_view(record: RoundRecord, state: protocol.State, role: Role | str) -> RoundView | None:
    complete = record.index < state.round_index or state.finished
    if role in JUDGE_ROLES and record.kind is RoundKind.NEGOTIATE_END:
        return None  # how the debaters voted on ending is theirs, not the judge's evidence
    if role == STAFF or complete:
        speeches = record.speeches
        votes = record.votes
    elif role in JUDGE_ROLES:
        return None  # nothing of an unfinished round reaches a judge
    elif record.kind is RoundKind.SEQUENTIAL:
        speeches = record.speeches  # a sequential round: later speakers answer earlier ones
        votes = ()
    else:  # simultaneous speeches and votes: only one's own until the round is complete
        speeches = tuple(s for s in record.speeches if s.role == role)
        votes = tuple(v for v in record.votes if v.role == role)
    judgments = record.judgments
    if role == Role.OFFLINE_JUDGE:
        judgments = ()  # an offline judge judges the debate, not the live judge's opinion
    return RoundView(
        index=record.index,
        kind=record.kind,
        complete=complete,
        speeches=tuple(SpeechView(s.role, s.segments) for s in speeches),
        judgments=judgments,
        votes=votes,
    )


def _revealed_quotes(rounds: Sequence[RoundView]) -> tuple[QuoteView, ...]:
    spans = {}
    for round_ in rounds:
        for speech in round_.speeches:
            for segment in speech.segments:
                if isinstance(segment, Quote) and segment.span:
                    spans[segment.span] = segment.text
    return tuple(QuoteView(start, end, spans[(start, end)]) for start, end in sorted(spans))


def _identities(snapshot: SessionSnapshot) -> dict[str, str]:
    return {
        f"{s.role}" if s.role != Role.OFFLINE_JUDGE else f"{s.role}-{s.seat_id}": s.holder
        for s in snapshot.seats
    }


def revealed_spans(view: SeatView) -> list[tuple[int, int]]:
    """The passage spans this view reveals, merged (what a leak test may allow through)."""
    return merge_spans((q.start, q.end) for q in view.revealed_quotes)


# --------------------------------------------------------------------------------------------------
# Loading a stored session
# --------------------------------------------------------------------------------------------------


def view_for(seat: Seat | None, session: Session) -> SeatView:
    """The view of ``seat`` (a Seat of ``session``), or staff's view when ``seat`` is None."""
    snapshot = session_snapshot(session)
    if seat is None:
        return build_view(snapshot, Viewer.staff())
    if seat.session_id != session.pk:
        raise ValueError("That seat is not in this session.")
    return build_view(snapshot, Viewer(role=Role(seat.role), seat_id=seat.pk))


class SeatLost(Exception):
    """The seat a stream was opened for is no longer held by the person it streams to."""


def view_for_seat_at(
    seat_id: int | None, role: Role | str, session_id: int, version: str, user_id: int | None
) -> SeatView:
    """Like `view_for`, for pushes: every seat told about the same change (``version``, one per
    broadcast) shares one snapshot of the session instead of each re-reading it. A seat's view
    goes only to its holder as of that change: given to someone else (or removed), it raises
    `SeatLost`. (Staff, ``seat_id`` None, are checked by the caller.)"""
    snapshot = _shared_snapshot(session_id, version)
    if seat_id is None:
        return build_view(snapshot, Viewer.staff())
    seat = next((s for s in snapshot.seats if s.seat_id == seat_id), None)
    if seat is None or seat.user_id is None or seat.user_id != user_id:
        raise SeatLost(seat_id)
    return build_view(snapshot, Viewer(role=Role(role), seat_id=seat_id))


_SNAPSHOT_CACHE_SIZE = 256
_snapshots: OrderedDict[tuple[int, str], SessionSnapshot] = OrderedDict()
_snapshots_lock = threading.Lock()


_building: dict[tuple[int, str], threading.Lock] = {}


def _shared_snapshot(session_id: int, version: str) -> SessionSnapshot:
    key = (session_id, version)
    with _snapshots_lock:
        if key in _snapshots:
            return _snapshots[key]
        building = _building.setdefault(key, threading.Lock())
    with building:  # the seats told about one change wait for one read, not one each
        with _snapshots_lock:
            if key in _snapshots:
                return _snapshots[key]
        from debate.models import Session

        snapshot = session_snapshot(Session(pk=session_id))
        with _snapshots_lock:
            _snapshots[key] = snapshot
            _building.pop(key, None)
            while len(_snapshots) > _SNAPSHOT_CACHE_SIZE:
                _snapshots.popitem(last=False)
    return snapshot


def view_for_staff(session: Session) -> SeatView:
    return view_for(None, session)


def session_snapshot(session: Session) -> SessionSnapshot:
    """Everything stored about ``session``, in a fixed number of queries."""
    # Imported here so that build_view and its dataclasses stay usable without Django.
    from debate.models import Draft, EndVote, Session, Speech
    from debate.models import Quote as QuoteRow
    from debate.selectors import moves_in_order, session_state
    from judging.models import Judgment, SurveyResponse

    session = Session.objects.select_related("question__passage", "rules").get(pk=session.pk)
    seats = list(session.seats.select_related("user", "agent"))
    role_of = {s.pk: Role(s.role) for s in seats}
    rounds = list(session.rounds.order_by("index"))
    index_of = {r.pk: r.index for r in rounds}
    # Rows saved after the rounds were read belong to a later state: leave them for the next
    # push, so the snapshot is always a prefix of the history (READ COMMITTED sees new commits).
    speeches = [
        s
        for s in Speech.objects.filter(round__session=session).order_by(
            "round__index", "created_at", "id"
        )
        if s.round_id in index_of
    ]
    quotes: dict[int, list[QuoteRow]] = {}
    for quote in QuoteRow.objects.filter(speech__round__session=session).order_by("position"):
        quotes.setdefault(quote.speech_id, []).append(quote)
    judgments = [
        j for j in session.judgments.order_by("round__index", "id") if j.round_id in index_of
    ]
    votes = [
        v
        for v in EndVote.objects.filter(round__session=session).order_by("created_at", "id")
        if v.round_id in index_of
    ]
    offline = sorted(
        (j for j in judgments if j.kind == Judgment.Kind.OFFLINE), key=lambda j: (j.step or 0, j.pk)
    )

    def record(judgment: Judgment) -> JudgmentRecord:
        return JudgmentRecord(
            role=role_of[judgment.seat_id],
            probabilities=tuple(judgment.probabilities),
            text=judgment.text,
            end=judgment.end,
            seat_id=judgment.seat_id,
        )

    round_records = tuple(
        RoundRecord(
            index=r.index,
            kind=RoundKind(r.kind),
            speeches=tuple(
                SpeechRecord(role_of[s.seat_id], speech_segments(s.text, quotes.get(s.pk, [])))
                for s in speeches
                if s.round_id == r.pk
            ),
            judgments=tuple(
                record(j) for j in judgments if j.round_id == r.pk and j.kind == Judgment.Kind.LIVE
            ),
            votes=tuple(VoteRecord(role_of[v.seat_id], v.end) for v in votes if v.round_id == r.pk),
        )
        for r in rounds
    )
    return SessionSnapshot(
        session_id=session.pk,
        protocol=protocol.Protocol(session.protocol),
        status=session.status,
        question=session.question.text,
        answers=tuple(session.answers),
        correct_position=session.correct_position,
        passage_title=session.question.passage.title,
        passage_text=session.question.passage.text,
        state=session_state(
            session,
            moves_in_order(
                [(index_of[s.round_id], s.pk, role_of[s.seat_id]) for s in speeches],
                [
                    (index_of[j.round_id], j.pk, j.end)
                    for j in judgments
                    if j.kind == Judgment.Kind.LIVE
                ],
                [(index_of[v.round_id], v.pk, role_of[v.seat_id], v.end) for v in votes],
            ),
        ),
        seats=tuple(
            SeatRecord(
                s.pk,
                Role(s.role),
                s.holder_name,
                s.is_ai,
                s.answer_position,
                judging_mode=s.judging_mode,
                judging_started=s.judging_started_at is not None,
                user_id=s.user_id,
            )
            for s in seats
        ),
        rounds=round_records,
        offline_judgments=tuple(record(j) for j in offline),
        scoring=session.rules.get_scoring(),
        surveyed_seats=frozenset(
            SurveyResponse.objects.filter(seat__session=session).values_list("seat_id", flat=True)
        )
        if session.status == Session.Status.FINISHED  # surveys open only then
        else frozenset(),
        drafts=_drafts_by_seat(Draft.objects.filter(seat__session=session)),
        turn_became_due=max(
            [session.created_at, *(s.created_at for s in speeches), *(v.created_at for v in votes)]
            + [j.created_at for j in judgments if j.kind == Judgment.Kind.LIVE]
        ),
    )


def _drafts_by_seat(rows) -> dict[int, dict[str, str]]:
    drafts: dict[int, dict[str, str]] = {}
    for seat_id, kind, text in rows.values_list("seat_id", "kind", "text"):
        drafts.setdefault(seat_id, {})[kind] = text
    return drafts


def speech_segments(markup: str, quotes: Sequence[QuoteRow]) -> tuple[Segment, ...]:
    """Rebuild a stored speech's segments: its markup's quotes paired, in order, with the stored
    certification of each (span and verified flag)."""
    segments: list[Segment] = []
    position = 0
    for part in parse_markup(markup):
        if isinstance(part, QuoteRequest):
            stored = quotes[position] if position < len(quotes) else None
            position += 1
            if stored is not None and stored.verified:
                segments.append(Quote(stored.text, stored.start, stored.end, verified=True))
            else:
                segments.append(Quote(stored.text if stored else part.text, verified=False))
        else:
            segments.append(part)
    return tuple(segments)


# --------------------------------------------------------------------------------------------------
# Serialising a view (JSON pushes and API responses carry exactly what the view holds)
# --------------------------------------------------------------------------------------------------


def view_to_dict(view: SeatView) -> dict:
    """A JSON-ready copy of ``view``: nothing is added, so a push can never say more than a page."""
    return {
        "session_id": view.session_id,
        "viewer_role": view.viewer_role,
        "protocol": str(view.protocol),
        "status": view.status,
        "question": view.question,
        "answers": list(view.answers),
        "own_answer_position": view.own_answer_position,
        "argued_positions": dict(view.argued_positions),
        "correct_position": view.correct_position,
        "passage_title": view.passage_title,
        "passage_text": view.passage_text,
        "rounds": [
            {
                "index": r.index,
                "kind": str(r.kind),
                "complete": r.complete,
                "speeches": [
                    {"role": str(s.role), "segments": [_segment_dict(g) for g in s.segments]}
                    for s in r.speeches
                ],
                "judgments": [
                    {
                        "role": str(j.role),
                        "probabilities": list(j.probabilities),
                        "text": j.text,
                        "end": j.end,
                    }
                    for j in r.judgments
                ],
                "votes": [{"role": str(v.role), "end": v.end} for v in r.votes],
            }
            for r in view.rounds
        ],
        "revealed_quotes": [
            {"start": q.start, "end": q.end, "text": q.text} for q in view.revealed_quotes
        ],
        "may_undo": view.may_undo,
        "survey_pending": view.survey_pending,
        "due": list(view.due),
        "your_turn": view.your_turn,
        "current_round": None
        if view.current_round is None
        else {
            "kind": str(view.current_round.kind),
            "char_limit": view.current_round.char_limit,
            "quote_limit": view.current_round.quote_limit,
        },
        "may_continue": view.may_continue,
        "may_end": view.may_end,
        "judge_continues": view.judge_continues,
        "finished": view.finished,
        "identities": view.identities,
        "probability_history": [list(p) for p in view.probability_history],
        "judge_score": view.judge_score,
        "has_live_judge": view.has_live_judge,
        "ended_by": view.ended_by,
        "judging_mode": view.judging_mode,
        "judging_started": view.judging_started,
        "drafts": dict(view.drafts),
        "turn_deadline": view.turn_deadline.isoformat() if view.turn_deadline else None,
    }


def _segment_dict(segment: Segment) -> dict:
    if isinstance(segment, Quote):
        return {
            "quote": segment.text,
            "verified": segment.verified,
            "start": segment.start,
            "end": segment.end,
        }
    return {"text": segment.text}


# --------------------------------------------------------------------------------------------------
# The lobby: a user's sessions, each entry with only what its seat may know
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HolderView:
    """Who holds a seat: shown to staff only (participants learn it after their survey)."""

    role_label: str
    name: str
    user_id: int | None  # a person (their history can be opened), or None for an agent
    is_ai: bool


@dataclass(frozen=True)
class LobbyEntry:
    session_id: int
    question: str
    story: str
    protocol: str
    role_label: str  # the viewer's seat in words: "debater A", "the judge"; "staff" for staff
    status: str
    your_turn: bool
    finished: bool
    outcome: str = ""  # how it ended and how the seat did, once over for this seat
    due: tuple[str, ...] = ()  # the roles whose move it is (none once over, or when it is yours)
    own_answer: str = ""  # a speaking seat's answer: "B: the answer"
    deadline: datetime | None = None  # when the current turn runs out, if the rules limit it
    overdue: bool = False
    holders: tuple[HolderView, ...] = ()  # staff only
    attention: str = ""  # staff only: why the session needs them

    @property
    def waiting_on(self) -> str:
        """Whose move it is, by role: "debater A and debater B", "the judge"."""
        return roles_phrase(self.due) if self.due else ""


@dataclass(frozen=True)
class Lobby:
    your_turn: tuple[LobbyEntry, ...]
    waiting: tuple[LobbyEntry, ...]
    finished: tuple[LobbyEntry, ...]  # the latest LOBBY_FINISHED_SHOWN; the history lists all
    all_sessions: tuple[LobbyEntry, ...] | None  # staff only: the latest sessions on the platform
    notifications: tuple = ()  # the user's own notifications not yet done (debate/notifications)
    finished_total: int = 0
    all_total: int = 0
    overdue: tuple[LobbyEntry, ...] = ()  # staff only: sessions whose person's turn ran out

    @property
    def turn_count(self) -> int:
        return len(self.your_turn)

    @property
    def open_count(self) -> int:
        """What the page title counts: turns due now plus the other notifications not done (a
        due turn counts once, whether or not its notification exists)."""
        return self.turn_count + sum(1 for n in self.notifications if n.kind != "turn")

    @property
    def finished_more(self) -> int:
        return self.finished_total - len(self.finished)

    @property
    def all_more(self) -> int:
        return self.all_total - len(self.all_sessions or ())

    def deadline_of(self, session_id: int | None) -> datetime | None:
        """The deadline of the viewer's due turn in a session (its notification shows it)."""
        return next((e.deadline for e in self.your_turn if e.session_id == session_id), None)


LOBBY_FINISHED_SHOWN = 20
LOBBY_STAFF_SHOWN = 10

ROLE_PHRASES = {
    STAFF: "staff",
    Role.JUDGE: "the judge",
    Role.OFFLINE_JUDGE: "an offline judge",
    Role.DEBATER_A: "debater A",
    Role.DEBATER_B: "debater B",
    Role.CONSULTANT: "the consultant",
}


def role_phrase(role: str) -> str:
    """A role as a sentence names it: "You are debater A", "Waiting for the judge"."""
    return ROLE_PHRASES.get(str(role).split("-")[0], str(role))


def roles_phrase(roles: Sequence[str]) -> str:
    return " and ".join(role_phrase(r) for r in sorted(str(r) for r in roles)) or "nobody"


def lobby_for(user: object, *, now: datetime | None = None) -> Lobby:
    """The sessions ``user`` holds a seat in, grouped by whether it is their move, newest first;
    for staff also the latest sessions on the platform and every overdue turn. A participant's
    entry states question, story, protocol, their seat and answer, whose move it is (by role),
    its deadline, and how it ended once over for them: none of these is hidden from its seat."""
    from django.utils import timezone

    from debate.models import Seat, Session
    from debate.notifications import notifications_pending
    from debate.selectors import sessions_progress

    now = now or timezone.now()
    seats = list(
        Seat.objects.filter(user=user)
        .select_related("session__question__passage", "session__rules")
        .order_by("-session__updated_at", "-session_id")
    )
    # Finished sessions show only the latest few (the history lists them all); open ones, and
    # offline work (on finished sessions), all.
    done = [s for s in seats if s.session.status == Session.Status.FINISHED and not _offline(s)]
    shown = [s for s in seats if s not in done] + done[:LOBBY_FINISHED_SHOWN]
    progress = sessions_progress({s.session_id: s.session for s in shown}.values())
    finals = _final_judgments([s.session for s in shown])
    entries = [_seat_entry(seat, progress[seat.session_id], finals, now) for seat in shown]
    finished = [e for e in entries if e.finished]
    all_sessions, all_total, overdue = None, 0, ()
    if getattr(user, "is_staff", False):
        latest = list(
            Session.objects.select_related("question__passage", "rules").order_by(
                "-updated_at", "-pk"
            )[:LOBBY_STAFF_SHOWN]
        )
        all_sessions = tuple(staff_session_entries(latest, now=now))
        all_total = Session.objects.count()
        overdue = tuple(overdue_session_entries(now=now))
    return Lobby(
        your_turn=tuple(e for e in entries if e.your_turn),
        waiting=tuple(e for e in entries if not e.your_turn and not e.finished),
        finished=tuple(finished[:LOBBY_FINISHED_SHOWN]),
        finished_total=len(done)
        + sum(1 for s, e in zip(shown, entries, strict=True) if _offline(s) and e.finished),
        all_sessions=all_sessions,
        all_total=all_total,
        overdue=overdue,
        notifications=tuple(notifications_pending(user)),
    )


def staff_session_entries(
    sessions: Sequence[Session], *, now: datetime | None = None
) -> list[LobbyEntry]:
    """Staff's entries for ``sessions`` (question, story, rules, seats and their holders, whose
    move, deadline, outcome, attention) in a fixed number of queries."""
    from django.utils import timezone

    from debate.models import Seat
    from debate.selectors import sessions_progress

    now = now or timezone.now()
    sessions = list(sessions)
    progress = sessions_progress(sessions)
    finals = _final_judgments(sessions)
    holders: dict[int, list[HolderView]] = {}
    for seat in (
        Seat.objects.filter(session__in=[s.pk for s in sessions])
        .select_related("user", "agent")
        .order_by("session_id", "role", "pk")
    ):
        holders.setdefault(seat.session_id, []).append(
            HolderView(ROLE_LABELS[Role(seat.role)], seat.holder_name, seat.user_id, seat.is_ai)
        )
    entries = []
    for session in sessions:
        state = progress[session.pk].state
        deadline = progress[session.pk].turn_deadline
        final = finals.get(session.pk)
        entries.append(
            LobbyEntry(
                session_id=session.pk,
                question=session.question.text,
                story=session.question.passage.title,
                protocol=session.protocol,
                role_label=ROLE_PHRASES[STAFF],
                status=session.get_status_display(),
                your_turn=False,
                finished=state.finished,
                outcome=_outcome(state, final, session.correct_position, None)
                if state.finished
                else "",
                due=() if state.finished else tuple(sorted(str(r) for r in state.due)),
                deadline=deadline,
                overdue=deadline is not None and deadline < now,
                holders=tuple(holders.get(session.pk, ())),
                attention=session.attention,
            )
        )
    return entries


def overdue_session_entries(
    *, sessions: QuerySet[Session] | None = None, now: datetime | None = None
) -> list[LobbyEntry]:
    """Staff: every running session (of ``sessions``, default all) whose rules limit a turn's
    time and whose current turn, due from a person, has run out. Nothing moves automatically:
    staff decide what to do."""
    from django.utils import timezone

    from debate.models import Seat, Session

    now = now or timezone.now()
    rows = Session.objects.all() if sessions is None else sessions
    running = [
        s
        for s in rows.exclude(status=Session.Status.FINISHED).select_related(
            "question__passage", "rules"
        )
        if s.rules.get_structure().turn_time_limit_s is not None
    ]
    people = set(
        Seat.objects.filter(session__in=[s.pk for s in running], user__isnull=False).values_list(
            "session_id", "role"
        )
    )
    return [
        e
        for e in staff_session_entries(running, now=now)
        if e.overdue and any((e.session_id, role) in people for role in e.due)
    ]


def _offline(seat: Seat) -> bool:
    return seat.role == Role.OFFLINE_JUDGE


def _seat_entry(seat: Seat, progress, finals: dict, now: datetime) -> LobbyEntry:
    session = seat.session
    state = progress.state
    your_turn, finished = Role(seat.role) in state.due, state.finished
    final = finals.get(session.pk)
    if _offline(seat):
        # Assigned offline work is the judge's turn until its judging ends.
        snapshot = session_snapshot(session)
        step = offline_step(snapshot, seat.pk)
        your_turn = state.finished and not step.ended and step.point is not None
        finished = step.ended
        own = [j for j in snapshot.offline_judgments if j.seat_id == seat.pk and j.end]
        final = own[-1].probabilities if own else None
    answers = session.answers
    deadline = progress.turn_deadline if not _offline(seat) else None
    return LobbyEntry(
        session_id=session.pk,
        question=session.question.text,
        story=session.question.passage.title,
        protocol=session.protocol,
        role_label=role_phrase(seat.role),
        status=session.get_status_display(),
        your_turn=your_turn,
        finished=finished,
        outcome=_outcome(state, final, session.correct_position, seat) if finished else "",
        due=()
        if your_turn or finished or _offline(seat)
        else tuple(sorted(str(r) for r in state.due)),
        own_answer=f"{LETTERS[seat.answer_position]}: {answers[seat.answer_position]}"
        if seat.answer_position is not None
        else "",
        deadline=deadline,
        overdue=your_turn and deadline is not None and deadline < now,
    )


def _final_judgments(sessions: Sequence[Session]) -> dict[int, tuple[float, ...]]:
    """The live judge's final probabilities of each finished session that has one."""
    from judging.models import Judgment

    ids = [s.pk for s in sessions if s.status == "finished"]
    return {
        session_id: tuple(probabilities)
        for session_id, probabilities in Judgment.objects.filter(
            session__in=ids, kind=Judgment.Kind.LIVE, end=True
        ).values_list("session_id", "probabilities")
    }


def _outcome(
    state: protocol.State, final: tuple[float, ...] | None, correct: int, seat: Seat | None
) -> str:
    """How a session ended, and how the seat (or, for staff, the judge) did."""
    parts = [protocol.END_REASON_LABELS[state.ended_by]] if state.ended_by else []
    if final is not None:
        judging = seat is None or seat.role in JUDGE_ROLES
        if judging:
            p = final[correct]
            verdict = (
                "right" if judge_correct(final, correct) else "undecided" if p == 0.5 else "wrong"
            )
            who = "the judge was" if seat is None else "you were"
            parts.append(f"{who} {verdict}: {p:.0%} on the correct answer")
        elif seat.answer_position is not None:
            parts.append(f"the judge gave your answer {final[seat.answer_position]:.0%}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------------
# A speaker's draft, certified as a submission would be (for the live counts and highlighting)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    segments: tuple[Segment, ...]
    problem: str | None
    char_count: int
    quote_chars: int
    char_limit: int | None
    quote_limit: int | None
    new_quote_chars: int = 0  # quoted characters the judge has not been shown yet
    story_problems: tuple[str, ...] = ()  # story text outside quotes: it would be refused

    @property
    def over_chars(self) -> bool:
        return self.char_limit is not None and self.char_count > self.char_limit

    @property
    def over_quotes(self) -> bool:
        return self.quote_limit is not None and self.quote_chars > self.quote_limit


def speech_draft_view(
    markup: str, passage: str, view: SeatView, story_run_limit: int | None = None
) -> DraftView:
    """Only for a seat that may read ``passage``: the draft's quotes are certified against it,
    and story text outside quotes (``story_run_limit``, the rules') is pointed out."""
    if view.passage_text is None:
        raise PermissionError("Only a seat that reads the passage can preview quotes.")
    from debate.quotes import QuoteProblem, certify_markup, rendered_length

    spec = view.current_round if view.current_round and view.current_round.is_speech_round else None
    certified = certify_markup(markup, passage)
    problem = certified.message if isinstance(certified, QuoteProblem) else None
    segments = () if problem else tuple(certified)
    from debate.quotes import new_quoted_chars

    spans = [s.span for s in segments if isinstance(s, Quote) and s.span]
    return DraftView(
        segments=segments,
        problem=problem,
        char_count=rendered_length(segments),
        quote_chars=quoted_char_count(segments),
        char_limit=spec.char_limit if spec else None,
        quote_limit=spec.quote_limit if spec else None,
        new_quote_chars=new_quoted_chars(spans, revealed_spans(view)),
        story_problems=tuple(
            r.message
            for r in protocol.check_story_outside_quotes(segments, passage, story_run_limit)
        ),
    )
