"""Who sees what, in lists: a user's lobby (each entry with only what its seat may know), staff's
session lists with the seat holders, and the overdue turns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from debate import protocol
from debate.protocol import JUDGE_ROLES, LETTERS, Role
from debate.scoring import judge_correct

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from debate.models import Seat, Session
from debate.visibility.rules import (
    ROLE_LABELS,
    STAFF,
    offline_step,
)
from debate.visibility.snapshots import (
    session_snapshot,
)

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


def lobby_for(user: User, *, now: datetime | None = None) -> Lobby:
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
    all_sessions: tuple[LobbyEntry, ...] | None = None
    all_total = 0
    overdue: tuple[LobbyEntry, ...] = ()
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
        .select_related("user")
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
    outcome = _outcome(state, final, session.correct_position, seat) if finished else ""
    if session.voided_at is not None:  # voided by staff: over for everyone, no one's turn
        your_turn, finished, outcome = False, True, f"voided: {session.void_reason}"
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
        outcome=outcome,
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
    from debate.models import Judgment

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
        elif seat is not None and seat.answer_position is not None:
            parts.append(f"the judge gave your answer {final[seat.answer_position]:.0%}")
    return "; ".join(parts)
