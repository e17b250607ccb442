"""Writes of judgments. A live judgment is a move of the session: it goes through the same lock
and the same rules as a speech (`debate/services.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from debate import protocol
from debate.models import Seat, Session
from debate.protocol import MoveKind, Role
from debate.selectors import session_state
from debate.services import (
    check_seat_belongs,
    move_commit,
    raise_if_rejected,
    round_open,
    save_once,
    session_lock,
)
from judging.models import ErrorCategory, ErrorTag, Judgment


def judgment_record(
    *,
    session: Session,
    seat: Seat,
    probabilities: Sequence[float],
    text: str = "",
    end: bool = False,
) -> Judgment:
    """Record the judge's probabilities (one per shown answer, summing to 1) for the current
    judge round, and whether the judge ends the session with them."""
    with transaction.atomic():
        locked = session_lock(session)
        check_seat_belongs(locked, seat)
        state = session_state(locked)
        move = protocol.Move(Role(seat.role), MoveKind.JUDGMENT, end=bool(end))
        raise_if_rejected(protocol.check_move(state, move))
        probabilities = [float(p) if _is_number(p) else p for p in probabilities]
        raise_if_rejected(protocol.check_probabilities(probabilities, len(locked.answer_order)))
        raise_if_rejected(protocol.check_judge_text(text, state.round))
        round_ = round_open(locked, state)
        judgment = save_once(
            Judgment,
            session=locked,
            round=round_,
            seat=seat,
            kind=Judgment.Kind.LIVE,
            probabilities=probabilities,
            text=text,
            end=bool(end),
        )
        move_commit(locked, state, move, round_)
    return judgment


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def error_tags_set(*, session: Session, categories: Sequence[ErrorCategory], user) -> list[str]:
    """Staff's error categories for an incorrectly judged session (replacing earlier choices);
    returns the names now tagged."""
    from judging.analysis import session_figures

    figures = session_figures(session)
    if figures.correct is not False:
        raise ValueError("Only sessions the judge got wrong are tagged with error categories.")
    chosen = {c.pk for c in categories}
    with transaction.atomic():
        ErrorTag.objects.filter(session=session).exclude(category_id__in=chosen).delete()
        existing = set(
            ErrorTag.objects.filter(session=session).values_list("category_id", flat=True)
        )
        ErrorTag.objects.bulk_create(
            ErrorTag(session=session, category=c, tagged_by=user)
            for c in categories
            if c.pk not in existing
        )
    return [c.name for c in categories]
