"""Writes of the judging app: the feedback surveys after a session and staff's error tags. (The
judge's moves themselves, live and offline, are the protocol's: `debate/judgments.py`.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from debate import events
from debate.audit import audit_record
from debate.errors import ServiceError
from debate.models import Notification, Seat, Session
from debate.protocol import SURVEY_TEXT_CHARS, Role
from debate.selectors import session_expert_roles
from debate.services import session_lock
from debate.text_checks import text_problem
from debate.visibility import offline_step, session_snapshot
from judging.defaults import survey_questions_ensure
from judging.models import ErrorCategory, ErrorTag, SurveyQuestion, SurveyResponse

# --------------------------------------------------------------------------------------------------
# Feedback surveys
# --------------------------------------------------------------------------------------------------


SURVEY_ROLE = {
    Role.JUDGE: "judge",
    Role.OFFLINE_JUDGE: "offline_judge",
    Role.DEBATER_A: "debater",
    Role.DEBATER_B: "debater",
    Role.CONSULTANT: "debater",
}


def survey_questions_for(seat: Seat) -> list[SurveyQuestion]:
    """The active questions a seat is asked, in order."""
    survey_questions_ensure()
    role = SURVEY_ROLE.get(Role(seat.role), "")
    return [q for q in SurveyQuestion.objects.filter(active=True) if role in (q.roles or [])]


def survey_submit(*, seat: Seat, answers: dict[str, Any], user) -> SurveyResponse:
    """Save a seat's feedback once the session is over (its judging, for an offline judge).
    Submitted once and never changed; afterwards the seat sees who held the other seats."""
    questions = {q.key: q for q in survey_questions_for(seat)}
    cleaned = _survey_answers(questions, answers, experts=session_expert_roles(seat.session))
    with transaction.atomic():
        locked = session_lock(seat.session)
        if seat.session_id != locked.pk or seat.user_id != getattr(user, "pk", None):
            raise ServiceError("That survey is not yours.")
        snapshot = session_snapshot(locked)
        over = (
            offline_step(snapshot, seat.pk).ended
            if seat.role == Role.OFFLINE_JUDGE
            else snapshot.state.finished
        )
        if not over:
            raise ServiceError("The survey opens when your part of the session is over.")
        if SurveyResponse.objects.filter(seat=seat).exists():
            raise ServiceError("You have already submitted this survey; it cannot be changed.")
        try:
            with transaction.atomic():
                response = SurveyResponse.objects.create(seat=seat, answers=cleaned)
        except IntegrityError as error:
            raise ServiceError("You have already submitted this survey.") from error
        Seat.objects.filter(pk=seat.pk).update(surveyed_at=response.submitted_at)
        audit_record(action="survey", actor=user, session=locked, target=response, after=cleaned)
        Notification.objects.filter(
            user=user, kind=Notification.Kind.SURVEY, session=locked, done_at__isnull=True
        ).update(done_at=timezone.now())
        events.announce_session_changed(locked.pk)
    return response


def _survey_answers(
    questions: dict[str, SurveyQuestion], answers: dict[str, Any], experts: list[str]
) -> dict[str, Any]:
    """Answers checked against the questions: ratings 1-5, one per debater for comparative
    questions, text within 5,000 characters; required questions answered; nothing else kept."""
    cleaned: dict[str, Any] = {}
    problems = []
    for key, question in questions.items():
        value = answers.get(key)
        if question.kind == SurveyQuestion.Kind.TEXT:
            text = (value or "").strip() if isinstance(value, str) else ""
            if len(text) > SURVEY_TEXT_CHARS:
                problems.append(
                    f"“{question.text}” is limited to {SURVEY_TEXT_CHARS:,} characters."
                )
            problem = text_problem(text, f"Your answer to “{question.text}”")
            if problem:
                problems.append(problem)
            if text:
                cleaned[key] = text
        elif question.kind == SurveyQuestion.Kind.LIKERT:
            if value not in (None, ""):
                rating = _rating(value)
                if rating is None:
                    problems.append(f"“{question.text}” takes a rating from 1 to 5.")
                else:
                    cleaned[key] = rating
        else:
            values = value if isinstance(value, dict) else {}
            ratings = {
                r: _rating(values.get(r)) for r in experts if values.get(r) not in (None, "")
            }
            if any(v is None for v in ratings.values()):
                problems.append(f"“{question.text}” takes a rating from 1 to 5 for each debater.")
            elif ratings:
                cleaned[key] = ratings
        if question.required and key not in cleaned:
            problems.append(f"Please answer “{question.text}”.")
    if problems:
        raise ServiceError(" ".join(problems))
    return cleaned


def _rating(value: Any) -> int | None:
    try:
        rating = int(value)
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 5 else None


def error_tags_set(*, session: Session, categories: Sequence[ErrorCategory], user) -> list[str]:
    """Staff's error categories for an incorrectly judged session (replacing earlier choices);
    returns the names now tagged."""
    from judging.analysis import session_figures

    figures = session_figures(session)
    if figures.correct is not False:
        raise ServiceError("Only sessions the judge got wrong are tagged with error categories.")
    chosen = {c.pk for c in categories}
    with transaction.atomic():
        before = sorted(
            ErrorTag.objects.filter(session=session).values_list("category__name", flat=True)
        )
        audit_record(
            action="error_tags",
            actor=user,
            session=session,
            before=before,
            after=sorted(c.name for c in categories),
        )
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
