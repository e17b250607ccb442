"""Reads of sessions: the protocol state replayed from the stored moves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet

from debate import protocol
from debate.models import (
    EndVote,
    Judgment,
    Passage,
    PassageReading,
    Question,
    Scratchpad,
    Seat,
    Session,
    Speech,
)
from debate.models import Quote as QuoteRow
from debate.protocol import MoveKind, Rejection, Role


def session_state(session: Session, moves: list[protocol.Move] | None = None) -> protocol.State:
    """The session's state: its stored moves (read here unless given) replayed through the rules,
    in the order made."""
    state = protocol.replay(
        protocol.Protocol(session.protocol),
        session.rules.get_structure(),
        session_moves(session) if moves is None else moves,
    )
    if isinstance(state, Rejection):
        raise ValueError(f"Session {session.pk} holds an illegal history: {state.message}")
    return state


@dataclass(frozen=True)
class SessionProgress:
    """Where a session stands: its replayed state and when its current turn became due (the last
    live move, or the session's creation)."""

    state: protocol.State
    turn_became_due: datetime

    @property
    def turn_deadline(self) -> datetime | None:
        if self.state.finished:
            return None
        return protocol.turn_deadline(self.state.structure, self.turn_became_due)


def sessions_progress(sessions: Iterable[Session]) -> dict[int, SessionProgress]:
    """The progress of many sessions (with their rules selected) in four queries: id -> it."""
    sessions = list(sessions)
    ids = [s.pk for s in sessions]
    rows: dict[int, tuple[list, list, list, list]] = {pk: ([], [], [], []) for pk in ids}
    latest = {s.pk: s.created_at for s in sessions}

    def seen(session_id: int, at: datetime) -> None:
        latest[session_id] = max(latest[session_id], at)

    for sid, at, *row in Speech.objects.filter(round__session__in=ids).values_list(
        "round__session_id", "created_at", "round__index", "id", "seat__role"
    ):
        rows[sid][0].append(row)
        seen(sid, at)
    for sid, at, *row in Judgment.objects.filter(
        session__in=ids, kind=Judgment.Kind.LIVE
    ).values_list("session_id", "created_at", "round__index", "id", "end", "probabilities"):
        rows[sid][1].append(row)
        seen(sid, at)
    for sid, at, *row in EndVote.objects.filter(round__session__in=ids).values_list(
        "round__session_id", "created_at", "round__index", "id", "seat__role", "end"
    ):
        rows[sid][2].append(row)
        seen(sid, at)
    for sid, role, chosen_at in Seat.objects.filter(
        session__in=ids, answer_chosen_at__isnull=False
    ).values_list("session_id", "role", "answer_chosen_at"):
        rows[sid][3].append(role)
        if chosen_at is not None:
            seen(sid, chosen_at)
    return {
        s.pk: SessionProgress(session_state(s, moves_in_order(*rows[s.pk])), latest[s.pk])
        for s in sessions
    }


def session_moves(session: Session) -> list[protocol.Move]:
    """Every live move of the session in order: an open session's choice of the answer argued
    first, then rounds by index, moves within a round by time."""
    speeches = Speech.objects.filter(round__session=session).values_list(
        "round__index", "id", "seat__role"
    )
    judgments = Judgment.objects.filter(session=session, kind=Judgment.Kind.LIVE).values_list(
        "round__index", "id", "end", "probabilities"
    )
    votes = EndVote.objects.filter(round__session=session).values_list(
        "round__index", "id", "seat__role", "end"
    )
    choices = session.seats.filter(answer_chosen_at__isnull=False).values_list("role", flat=True)
    return moves_in_order(speeches, judgments, votes, choices)


def moves_in_order(
    speeches: Iterable[tuple[int, int, str]],
    judgments: Iterable[tuple[int, int, bool, Sequence[float] | None]],
    votes: Iterable[tuple[int, int, str, bool]] = (),
    choices: Iterable[str] = (),
) -> list[protocol.Move]:
    """Moves from (round index, id, role) speech rows, (round index, id, end, probabilities)
    live judgment rows and (round index, id, role, end) vote rows: rounds by index, and within a
    round in the order they were saved (a round holds moves of one kind only). The judgments'
    probabilities go into their moves, for the rules that look at them (large swings). Under open
    rules the roles in ``choices`` (the seats that chose the answer they argue) move first."""
    ordered = sorted(
        [(index, 0, pk, protocol.Move(Role(role), MoveKind.SPEECH)) for index, pk, role in speeches]
        + [
            (index, 1, pk, _judgment_move(end, probabilities))
            for index, pk, end, probabilities in judgments
        ]
        + [
            (index, 2, pk, protocol.Move(Role(role), MoveKind.VOTE, end=end))
            for index, pk, role, end in votes
        ],
        key=lambda item: item[:3],
    )
    return [
        *(protocol.Move(Role(role), MoveKind.CHOICE) for role in sorted(choices)),
        *(move for *_, move in ordered),
    ]


def _judgment_move(end: bool, probabilities: Sequence[float] | None) -> protocol.Move:
    numbers = tuple(float(p) for p in probabilities) if probabilities else None
    return protocol.Move(Role.JUDGE, MoveKind.JUDGMENT, end=end, probabilities=numbers)


def session_expert_roles(session: Session) -> list[str]:
    """The expert roles (debaters, consultant) seated in ``session``."""
    return [
        r
        for r in Seat.objects.filter(session=session).values_list("role", flat=True)
        if r in protocol.EXPERT_ROLES
    ]


def session_for_viewer(*, session_id: int, user: User) -> tuple[Session, Seat | None]:
    """The session and the seat ``user`` holds in it (None for staff who hold no seat).

    A session the user may not open raises ``Session.DoesNotExist``, exactly as a missing one
    does, so its existence does not leak (views turn both into 404).
    """
    session = Session.objects.select_related("question__passage", "rules").get(pk=session_id)
    if not user.is_authenticated:
        raise Session.DoesNotExist
    seat = Seat.objects.filter(session=session, user=user).order_by("role").first()
    if seat is None and not user.is_staff:
        raise Session.DoesNotExist
    return session, seat


def platform_counts() -> dict[str, int]:
    """What the platform holds, for the home page (no hidden facts: only counts)."""
    by_status = dict(
        Session.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {
        "passages": Passage.objects.count(),
        "questions": Question.objects.count(),
        "sessions": sum(by_status.values()),
        "in_progress": by_status.get(Session.Status.IN_PROGRESS, 0),
        "finished": by_status.get(Session.Status.FINISHED, 0),
    }


def scratchpad_text(*, seat: Seat) -> str:
    """A seat's private notes (only ever shown to that seat)."""
    return Scratchpad.objects.filter(seat=seat).values_list("text", flat=True).first() or ""


def same_story_passages(passage: Passage) -> QuerySet[Passage]:
    """The passage and every other rendering of its story (the same story key)."""
    if not passage.story_key:
        return Passage.objects.filter(pk=passage.pk)
    return Passage.objects.filter(Q(pk=passage.pk) | Q(story_key=passage.story_key))


def judge_conflicts(*, user: User, passage: Passage) -> list[str]:
    """Why ``user`` may not judge a question on ``passage`` (empty when they may): a judge must
    never have read the passage's story (in any rendering), debated on it, or judged any
    question on it before. The one rule, used by session creation, the scheduler and offline
    judge assignment alike."""
    return judge_conflicts_of(users=[user], passage=passage)[user.pk]


def judge_conflicts_of(*, users: Iterable[User], passage: Passage) -> dict[int, list[str]]:
    """`judge_conflicts` for many people at once, in three queries: user id -> reasons."""
    users = list(users)
    story = same_story_passages(passage)
    ids = [u.pk for u in users]
    read = set(
        PassageReading.objects.filter(user__in=ids, passage__in=story).values_list(
            "user_id", flat=True
        )
    )
    roles: dict[int, set[str]] = {}
    for user_id, role in Seat.objects.filter(
        user__in=ids, session__question__passage__in=story
    ).values_list("user_id", "role"):
        roles.setdefault(user_id, set()).add(role)
    experts = set(protocol.EXPERT_ROLES)
    judges = set(protocol.JUDGE_ROLES)
    reasons: dict[int, list[str]] = {}
    for user in users:
        why = []
        if user.pk in read:
            why.append(f"{user} has read “{passage}”")
        if roles.get(user.pk, set()) & experts:
            why.append(f"{user} debated on “{passage}”")
        if roles.get(user.pk, set()) & judges:
            why.append(f"{user} already judged a question on “{passage}”")
        reasons[user.pk] = why
    return reasons


def judge_eligibility(
    *, question: Question, users: Iterable[User]
) -> tuple[list[User], list[tuple[User, list[str]]]]:
    """Who may judge ``question``, and who may not with the reasons (what staff are shown)."""
    users = list(users)
    reasons = judge_conflicts_of(users=users, passage=question.passage)
    return (
        [u for u in users if not reasons[u.pk]],
        [(u, reasons[u.pk]) for u in users if reasons[u.pk]],
    )


def sessions_filtered(
    *,
    status: str = "",
    protocol: str = "",
    text: str = "",
    within: QuerySet[Session] | None = None,
) -> QuerySet[Session]:
    """Sessions for staff's lists, newest first: by status ("attention": an AI turn or import
    needs staff), protocol, words of the question or story title, among ``within`` (e.g. a
    batch's sessions; default all). ("overdue" needs the clock and the rules:
    `visibility.overdue_session_entries`.)"""
    rows = (Session.objects.all() if within is None else within).select_related(
        "question__passage", "rules"
    )
    rows = rows.order_by("-updated_at", "-pk")
    if status == "attention":
        rows = rows.exclude(attention="")
    elif status:
        rows = rows.filter(status=status)
    if protocol:
        rows = rows.filter(protocol=protocol)
    if text:
        rows = rows.filter(
            Q(question__text__icontains=text) | Q(question__passage__title__icontains=text)
        )
    return rows


def seat_quoted_spans(seat: Seat) -> list[tuple[int, int]]:
    """The passage spans the seat's earlier speeches quoted (for the session-wide quote cap)."""
    return [
        (start, end)
        for start, end in QuoteRow.objects.filter(speech__seat=seat, verified=True).values_list(
            "start", "end"
        )
        if start is not None and end is not None  # a verified quote always has its span
    ]
