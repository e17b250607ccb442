"""Who sees what, for stored sessions: loading a session's snapshot (one per change, shared by
every socket of a process through a small cache with single-flight loading) and the view of a
stored seat (`view_for`, `view_for_seat_at` for a stream that must still be its holder's)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from debate import protocol
from debate.protocol import EXPERT_ROLES, Role, RoundKind
from debate.records import (
    JudgmentRecord,
    QuoteRecord,
    RoundRecord,
    SeatRecord,
    SessionSnapshot,
    SpeechRecord,
    VoteRecord,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    from debate.models import Seat, Session
from debate.visibility.rules import (
    SeatView,
    Viewer,
    build_view,
)

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
    from debate.models import Draft, EndVote, Judgment, Session, Speech
    from debate.models import Quote as QuoteRow
    from debate.selectors import moves_in_order, session_state

    session = Session.objects.select_related("question__passage", "rules").get(pk=session.pk)
    seats = list(session.seats.select_related("user"))
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
    quotes: dict[int, list[QuoteRecord]] = {}
    for quote in QuoteRow.objects.filter(speech__round__session=session).order_by("position"):
        quotes.setdefault(quote.speech_id, []).append(
            QuoteRecord(
                quote.start,
                quote.end,
                quote.verified,
                quote.text,
                tokens=None
                if quote.token_start is None or quote.token_end is None
                else (quote.token_start, quote.token_end),
            )
        )
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
            seat_id=judgment.seat_id,
            kind=judgment.kind,
            probabilities=tuple(judgment.probabilities),
            text=judgment.text,
            end=judgment.end,
            at=judgment.created_at,
            step=judgment.step,
            questions=tuple(sorted((judgment.questions or {}).items())),
        )

    round_records = tuple(
        RoundRecord(
            index=r.index,
            kind=RoundKind(r.kind),
            speeches=tuple(
                SpeechRecord(
                    role_of[s.seat_id],
                    s.seat_id,
                    s.text,
                    s.char_count,
                    s.quote_char_count,
                    tuple(quotes.get(s.pk, ())),
                    at=s.created_at,
                )
                for s in speeches
                if s.round_id == r.pk
            ),
            judgments=tuple(
                record(j) for j in judgments if j.round_id == r.pk and j.kind == Judgment.Kind.LIVE
            ),
            votes=tuple(
                VoteRecord(role_of[v.seat_id], v.seat_id, v.end, at=v.created_at)
                for v in votes
                if v.round_id == r.pk
            ),
        )
        for r in rounds
    )
    return SessionSnapshot(
        void_reason=session.void_reason if session.voided_at else "",
        judge_questions=session.rules.judge_questions,
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
                    (index_of[j.round_id], j.pk, j.end, j.probabilities)
                    for j in judgments
                    if j.kind == Judgment.Kind.LIVE
                ],
                [(index_of[v.round_id], v.pk, role_of[v.seat_id], v.end) for v in votes],
                [s.role for s in seats if s.answer_chosen_at is not None],
            ),
        ),
        seats=tuple(
            SeatRecord(
                s.pk,
                Role(s.role),
                s.holder_name,
                s.is_ai,
                s.answer_position,
                user_id=s.user_id,
                honest=s.answer_position == session.correct_position
                if s.role in EXPERT_ROLES
                else None,
                judging_mode=s.judging_mode,
                assigned_judging_mode=s.assigned_judging_mode,
                judging_started_at=s.judging_started_at,
            )
            for s in seats
        ),
        rounds=round_records,
        offline_judgments=tuple(record(j) for j in offline),
        scoring=session.rules.get_scoring(),
        surveyed_seats=frozenset(s.pk for s in seats if s.surveyed_at is not None)
        if session.status == Session.Status.FINISHED  # surveys open only then
        else frozenset(),
        drafts=_drafts_by_seat(Draft.objects.filter(seat__session=session)),
        turn_became_due=max(
            [session.created_at, *(s.created_at for s in speeches), *(v.created_at for v in votes)]
            + [j.created_at for j in judgments if j.kind == Judgment.Kind.LIVE]
            + [s.answer_chosen_at for s in seats if s.answer_chosen_at is not None]
        ),
    )


def _drafts_by_seat(rows) -> dict[int, dict[str, str]]:
    drafts: dict[int, dict[str, str]] = {}
    for seat_id, kind, text in rows.values_list("seat_id", "kind", "text"):
        drafts.setdefault(seat_id, {})[kind] = text
    return drafts


def sessions_hiding_names_from(user: User | AnonymousUser) -> QuerySet[Seat, Any]:
    """The sessions in which ``user`` may not yet learn who held the other seats: those they hold
    a seat in and have not submitted their feedback survey for (staff: none). The same rule as a
    seat's view (``identities`` only once surveyed), for lists that name people (leaderboards)."""
    from django.contrib.auth.models import AnonymousUser

    from debate.models import Seat

    if user.is_staff or isinstance(user, AnonymousUser):
        # Staff see every name; a visitor not signed in holds no seat, so nothing is hidden
        return Seat.objects.none().values("session_id")
    return Seat.objects.filter(user=user, surveyed_at__isnull=True).values("session_id")
