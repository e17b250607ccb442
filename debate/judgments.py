"""The judge's moves: a live judgment, and an offline judge's seat, start and judgments. A live
judgment is a move of the session: it goes through the same lock and the same rules as a speech
(`debate/services.py`); an offline judge's points are the protocol's (`offline_points`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from debate import events, protocol
from debate.audit import actor_of, audit_record
from debate.errors import ServiceError
from debate.models import Draft, Judgment, Notification, Round, Seat, Session
from debate.notifications import notifications_created
from debate.protocol import (
    MoveKind,
    Rejection,
    RejectionCode,
    Role,
    is_number,
)
from debate.selectors import judge_conflicts, session_expert_roles
from debate.services import (
    MoveRejected,
    check_not_void,
    check_seat_belongs,
    draft_clear,
    move_commit,
    move_open,
    raise_if_rejected,
    round_open,
    save_once,
    session_lock,
)
from debate.visibility import offline_step, session_snapshot


def judgment_record(
    *,
    session: Session,
    seat: Seat,
    probabilities: Sequence[float | str | None],  # as typed: the rules refuse non-numbers
    text: str = "",
    end: bool = False,
    questions: Mapping[str, str] | None = None,
) -> Judgment:
    """Record the judge's probabilities (one per shown answer, summing to 1) for the current
    judge round, and whether the judge ends the session with them. Under rules with judge
    questions on, ``questions`` ({role: text}) are the judge's question to each expert of the
    session, each within the note's limit; blank ones are dropped, and so are all of them when
    the judge ends (no one is left to answer)."""
    with transaction.atomic():
        # The move carries the probabilities for the rule on large swings; bad ones are refused
        # with their reason in _judgment_save, after the turn itself is checked.
        numbers = [float(p) for p in probabilities if is_number(p)]
        valid = len(numbers) == len(probabilities) and not protocol.check_probabilities(
            numbers, len(session.answer_order)
        )
        given = tuple(numbers) if valid else None
        move = protocol.Move(Role(seat.role), MoveKind.JUDGMENT, end=bool(end), probabilities=given)
        locked, state = move_open(session, seat, move)
        assert state.round is not None  # a finished session is refused by move_open
        asked = {} if end else judge_questions_clean(locked, questions or {}, state.round)
        judgment = _judgment_save(
            locked,
            seat,
            Judgment.Kind.LIVE,
            lambda: round_open(locked, state),
            state.round,
            probabilities,
            text,
            end,
            questions=asked,
        )
        move_commit(locked, state, move, judgment.round)
        draft_clear(seat=seat, kind=Draft.Kind.NOTE)
    return judgment


def _judgment_save(
    session: Session,
    seat: Seat,
    kind: str,
    round_of: Callable[[], Round],
    spec: protocol.RoundSpec,
    probabilities: Sequence[float | str | None],  # as typed: the rules refuse non-numbers
    text: str,
    end: bool,
    step: int | None = None,
    questions: Mapping[str, str] | None = None,
) -> Judgment:
    """Check a judgment's probabilities and text against the round's limits, save it once in
    the round ``round_of`` gives, and record it in the audit trail (the caller holds the lock)."""
    probabilities = [float(p) if is_number(p) else p for p in probabilities]
    raise_if_rejected(protocol.check_probabilities(probabilities, len(session.answer_order)))
    raise_if_rejected(protocol.check_judge_text(text, spec))
    round_ = round_of()
    judgment = save_once(
        Judgment,
        session=session,
        round=round_,
        seat=seat,
        kind=kind,
        step=step,
        probabilities=probabilities,
        text=text,
        questions=dict(questions or {}),
        end=bool(end),
        author=seat.user,
    )
    audit_record(
        action="judgment" if kind == Judgment.Kind.LIVE else "offline_judgment",
        **actor_of(seat),
        session=session,
        target=judgment,
        after={"round": round_.index, "probabilities": probabilities, "end": bool(end)}
        | ({"questions": dict(questions)} if questions else {}),
    )
    return judgment


def judge_questions_clean(
    session: Session, questions: Mapping[str, str], spec: protocol.RoundSpec
) -> dict[str, str]:
    """The judge's questions checked: readable text within the note's limit each, addressed to
    an expert seat of ``session``, and only under rules with judge questions on; blank ones are
    dropped. Refused with MoveRejected, naming the question, otherwise."""
    asked = {str(role): (text or "").strip() for role, text in questions.items()}
    asked = {role: text for role, text in asked.items() if text}
    if not asked:
        return {}
    if not session.rules.judge_questions:
        raise MoveRejected(
            Rejection(RejectionCode.WRONG_MOVE, "These rules do not let the judge ask questions.")
        )
    experts = set(session_expert_roles(session))
    problems: list[Rejection] = []
    for role, text in asked.items():
        if role not in experts:
            problems.append(
                Rejection(
                    RejectionCode.WRONG_MOVE,
                    f"Questions go to the debaters or the consultant of this session, not to "
                    f"{role[:40]!r}.",
                )
            )
            continue
        what = f"Your question to {protocol.ROLE_LABELS[role]}"
        bad = protocol.check_text(text, what)
        if bad:
            problems.append(bad)
        elif spec.char_limit is not None and len(text) > spec.char_limit:
            problems.append(
                Rejection(
                    RejectionCode.OVER_CHAR_LIMIT,
                    f"{what} has {len(text)} characters; the limit is {spec.char_limit}.",
                    limit=spec.char_limit,
                    actual=len(text),
                )
            )
    if problems:
        raise MoveRejected(*problems)
    return asked


# --------------------------------------------------------------------------------------------------
# Offline judging
# --------------------------------------------------------------------------------------------------


def offline_judge_assign(
    *, session: Session, user, actor=None, mode: str = Seat.JudgingMode.STEPPED
) -> Seat:
    """Give ``user`` an offline judge's seat on a finished session, judging it ``mode`` (stepped:
    round by round; timed: the whole transcript at once). Refused, naming why, when they read
    the story, debated on it or judged any question on it before."""
    if mode not in Seat.JudgingMode.values:
        raise ServiceError(f"Offline judging is stepped or timed, not {mode!r}.")
    with transaction.atomic():
        locked = session_lock(session)
        if locked.status != Session.Status.FINISHED:
            raise ServiceError("Only finished sessions are judged offline.")
        if Seat.objects.filter(session=locked, user=user).exists():
            raise ServiceError(f"{user} already holds a seat in this session.")
        reasons = judge_conflicts(user=user, passage=locked.question.passage)
        if reasons:
            raise ServiceError("Cannot assign: " + "; ".join(reasons) + ".")
        seat = Seat.objects.create(
            session=locked,
            role=Role.OFFLINE_JUDGE,
            user=user,
            judging_mode=mode,
            assigned_judging_mode=mode,
        )
        audit_record(
            action="offline_judge_assigned",
            actor=actor,
            session=locked,
            target=seat,
            after={"user": user.get_username(), "mode": mode},
        )
        notification, created = Notification.objects.get_or_create(
            user=user,
            kind=Notification.Kind.ASSIGNED,
            key=f"offline:{seat.pk}",
            defaults={
                "session": locked,
                "text": f"Judge session {locked.pk} offline ({mode})",
                "url": f"/sessions/{locked.pk}/",
            },
        )
        if created:
            notifications_created([notification])
        events.announce_session_changed(locked.pk)  # their lobby lists it at once
    return seat


def _offline_seat_open(session: Session, seat: Seat) -> Session:
    """The first steps of an offline judge's action: lock the session, check the seat is its
    offline judge's and the session is not void; the locked session."""
    locked = session_lock(session)
    check_seat_belongs(locked, seat)
    check_not_void(locked)
    if seat.role != Role.OFFLINE_JUDGE:
        raise MoveRejected(Rejection(RejectionCode.NOT_YOUR_TURN, "It is not your turn."))
    return locked


def offline_judging_start(*, session: Session, seat: Seat) -> Seat:
    """The offline judge begins reading: the transcript (or its first step) is shown from now
    on, and a timed judging's clock starts. Starting twice keeps the first start."""
    with transaction.atomic():
        locked = _offline_seat_open(session, seat)
        if Seat.objects.filter(pk=seat.pk, judging_started_at__isnull=True).update(
            judging_started_at=timezone.now()
        ):
            audit_record(
                action="offline_judging_started", **actor_of(seat), session=locked, target=seat
            )
            events.announce_session_changed(locked.pk)
        seat.refresh_from_db(fields=["judging_started_at"])
    return seat


def offline_judgment_record(
    *,
    session: Session,
    seat: Seat,
    probabilities: Sequence[float | str | None],  # as typed: the rules refuse non-numbers
    text: str = "",
    end: bool = False,
) -> Judgment:
    """An offline judge's probabilities at its next point (see debate/protocol.py
    `offline_points`: beside the live judge's next judge round, after the next speech round of a
    judgeless session, or once after the whole transcript when timed); the same limits and end
    rules as a live judge."""
    with transaction.atomic():
        locked = _offline_seat_open(session, seat)
        snapshot = session_snapshot(locked)
        if not snapshot.state.finished:
            raise MoveRejected(
                Rejection(RejectionCode.SESSION_FINISHED, "Your offline judging is over.")
            )
        if not Seat.objects.filter(pk=seat.pk, judging_started_at__isnull=False).exists():
            raise MoveRejected(
                Rejection(RejectionCode.NOT_YOUR_TURN, "Press “Begin judging” first.")
            )
        step = offline_step(snapshot, seat.pk)
        raise_if_rejected(protocol.check_offline_judgment(step, end=bool(end)))
        point = step.point
        assert point is not None  # no point left is refused by check_offline_judgment
        judgment = _judgment_save(
            locked,
            seat,
            Judgment.Kind.OFFLINE,
            lambda: Round.objects.get(session=locked, index=point.round_index),
            point.spec,
            probabilities,
            text,
            end,
            step=step.judged,
        )
        draft_clear(seat=seat, kind=Draft.Kind.NOTE)
        events.announce_session_changed(locked.pk)
    return judgment
