"""Notifications: what a participant should act on now (their turn, a survey to fill in), shown
live in their lobby and, if still open after ``NOTIFY_EMAIL_AFTER_S``, sent once by email.

`notifications_for_changes` runs after every committed change of a session (debate/events.py,
before the lobbies are pushed, so a pushed lobby already lists the new notification). It brings
the rows in line with the committed state: a turn notification for each human seat now due, the
ones no longer due marked done, survey notifications once the session is over. Reading the state
under the session lock means a hook that runs late cannot reopen a turn a later move closed.

Emails: `notifications_email_due` sends each open notification older than the delay once. Celery
beat calls it every minute in production (debate/tasks.py); embedded mode schedules it in-process
when a notification is created, and each run schedules the next for what is still waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from debate import events, protocol
from debate.models import Judgment, Notification, Seat, Session
from debate.protocol import Role
from debate.selectors import session_state

logger = logging.getLogger(__name__)

EMAIL_BATCH = 200  # per check: a backlog drains over a few minutes instead of one long run

ROLE_NAMES = {
    Role.JUDGE: "judge",
    Role.DEBATER_A: "debater A",
    Role.DEBATER_B: "debater B",
    Role.CONSULTANT: "consultant",
    Role.OFFLINE_JUDGE: "offline judge",
}


def notifications_after_change(change: events.Change) -> None:
    """Subscriber (debate/apps.py): after a committed change, the lobby's notifications."""
    if change.user_ids:  # agents only (batch runs): nobody to notify
        notifications_for_changes(
            change.session_id, state=change.state, version=change.version, checked=True
        )


def notifications_for_changes(
    session_id: int,
    *,
    state: protocol.State | None = None,
    version: object = None,
    checked: bool = False,
) -> list[Notification]:
    """Bring the notifications of ``session_id``'s human seats in line with its committed state;
    returns the notifications created. Called once the change has committed. ``state`` is the
    state the change left, used when the session is still at that change (its ``version``, the
    `updated_at` the change wrote); otherwise the state is replayed under the lock."""
    if not checked and not Seat.objects.filter(session_id=session_id, user__isnull=False).exists():
        return []  # agents only (batch runs): nobody to notify, nothing to lock
    with transaction.atomic():
        # The lock serialises this with the moves (services take it too): see the module doc.
        session = (
            Session.objects.select_for_update(of=("self",))
            .select_related("rules")
            .get(pk=session_id)
        )
        if state is None or version is None or session.updated_at != version:
            state = session_state(session)  # another change came since: read the latest
        created = _sync(session, state)
    if created:
        notifications_created(created)
    return created


def notifications_created(created: list[Notification]) -> None:
    """What follows a new notification: its Slack posts, the email check for later."""
    from debate.slack import deliveries_create

    deliveries_create(created)
    email_check_schedule(settings.NOTIFY_EMAIL_AFTER_S)


def notification_done(*, user: User, session_id: int, kind: str = Notification.Kind.TURN) -> int:
    """Mark ``user``'s open notifications of ``kind`` about the session done (they acted)."""
    return (
        Notification.objects.filter(user=user, session_id=session_id, kind=kind)
        .filter(done_at__isnull=True)
        .update(done_at=timezone.now())
    )


def notifications_pending(user: User | AnonymousUser) -> list[Notification]:
    """The user's notifications not yet done, newest first (the lobby lists them)."""
    if isinstance(user, AnonymousUser):
        return []
    return list(Notification.objects.filter(user=user, done_at__isnull=True)[:50])


def notifications_email_due(*, now: datetime | None = None) -> int:
    """Email every notification open for longer than ``NOTIFY_EMAIL_AFTER_S`` and not emailed yet,
    to users with an address; returns how many were sent. One that turns out to be settled (the
    turn passed, the survey is in) is marked done instead. A notification is claimed by setting
    ``emailed_at`` in the transaction that sends it, so two workers never both send it, and a
    failed send leaves it for the next check."""
    delay = settings.NOTIFY_EMAIL_AFTER_S
    if delay <= 0:
        return 0
    now = now or timezone.now()
    sent = 0
    for notification in _email_candidates(now - timedelta(seconds=delay))[:EMAIL_BATCH]:
        try:
            sent += _email_one(notification)
        except Exception:  # one bad address or a mail server hiccup must not stop the rest
            logger.exception("Could not email notification %s", notification.pk)
    return sent


def notifications_email_run() -> int:
    """The background check: send what is due, then (embedded mode) schedule the next check for
    the oldest notification still waiting."""
    global _check_at
    with _check_lock:
        _check_at = None
    sent = notifications_email_due()
    delay = settings.NOTIFY_EMAIL_AFTER_S
    if settings.BACKGROUND_MODE == "inprocess" and delay > 0:
        oldest = (
            _email_candidates(None).order_by("created_at").values_list("created_at", flat=True)
        ).first()
        if oldest is not None:
            wait = (oldest + timedelta(seconds=delay) - timezone.now()).total_seconds()
            # At most once a minute, as beat does: a mail server that is down is not hammered.
            email_check_schedule(max(wait + 1, 60))
    return sent


def email_check_schedule(delay_s: float) -> None:
    """Embedded mode: run the email check ``delay_s`` seconds from now, unless one is already due
    sooner (that one schedules the next). Production needs nothing: beat checks every minute."""
    global _check_at
    if settings.BACKGROUND_MODE != "inprocess" or settings.NOTIFY_EMAIL_AFTER_S <= 0:
        return
    now = time.monotonic()
    at = now + delay_s
    with _check_lock:
        # A check more than a minute overdue was lost (scheduled in a rolled-back transaction).
        pending = _check_at is not None and _check_at > now - 60
        if pending and _check_at is not None and _check_at <= at:
            return
        _check_at = at
    from config.background import enqueue_later

    enqueue_later("debate.notifications_email", delay_s)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

_check_lock = threading.Lock()
_check_at: float | None = None  # monotonic time of the next in-process email check, if any


def _sync(session: Session, state: protocol.State) -> list[Notification]:
    if session.voided_at is not None:  # no more turns or surveys in a void session
        _mark_done(Notification.objects.filter(session=session, done_at__isnull=True))
        return []
    seats = list(session.seats.filter(user__isnull=False))
    created: list[Notification] = []
    due_keys = set()
    for seat in seats:
        if Role(seat.role) in state.due:
            key = _turn_key(session.pk, state.round_key, seat.role)
            due_keys.add((seat.user_id, key))
            text = _turn_text(session, seat)
            created += _ensure(seat, Notification.Kind.TURN, key, text, reopen=True)
    open_turns = Notification.objects.filter(
        session=session, kind=Notification.Kind.TURN, done_at__isnull=True
    ).values_list("pk", "user_id", "key")
    _mark_done(
        Notification.objects.filter(
            pk__in=[pk for pk, user_id, key in open_turns if (user_id, key) not in due_keys]
        )
    )
    if not state.finished:  # offline judges, too, sit only on finished sessions
        return created

    surveyed = {seat.pk for seat in seats if seat.surveyed_at is not None}
    offline_started: dict[int, bool] = {}
    for seat_id, end in Judgment.objects.filter(
        session=session, kind=Judgment.Kind.OFFLINE
    ).values_list("seat_id", "end"):
        offline_started[seat_id] = offline_started.get(seat_id, False) or end
    for seat in seats:
        if seat.role == Role.OFFLINE_JUDGE:
            if seat.pk in offline_started:  # the offline judge has begun: the assignment is done
                _mark_done(
                    Notification.objects.filter(
                        user=seat.user, session=session, kind=Notification.Kind.ASSIGNED
                    )
                )
            if not offline_started.get(seat.pk, False):
                continue  # its survey opens when its offline judging has ended
        key = _survey_key(session.pk, seat.pk)
        if seat.pk in surveyed:
            _mark_done(
                Notification.objects.filter(user=seat.user, kind=Notification.Kind.SURVEY, key=key)
            )
        else:
            created += _ensure(seat, Notification.Kind.SURVEY, key, _survey_text(session))
    return created


def _ensure(
    seat: Seat, kind: str, key: str, text: str, *, reopen: bool = False
) -> list[Notification]:
    """The seat's notification ``key``, created if missing; a done one is reopened if asked (a
    turn that is due again after its move was taken back). Emailed ones are never emailed again."""
    notification, created = Notification.objects.get_or_create(
        user=seat.user,
        kind=kind,
        key=key,
        defaults={"session_id": seat.session_id, "text": text, "url": _url(kind, seat.session_id)},
    )
    if not created and reopen and notification.done_at is not None:
        Notification.objects.filter(pk=notification.pk).update(done_at=None)
    return [notification] if created else []


def _email_one(notification: Notification) -> bool:
    if not notification_still_open(notification):
        _mark_done(Notification.objects.filter(pk=notification.pk))
        return False
    with transaction.atomic():
        claimed = Notification.objects.filter(
            pk=notification.pk, emailed_at__isnull=True, done_at__isnull=True
        ).update(emailed_at=timezone.now())
        if claimed:
            _send(notification)  # raising rolls the claim back: the next check tries again
    return bool(claimed)


def _email_candidates(older_than: datetime | None) -> QuerySet[Notification]:
    rows = (
        Notification.objects.filter(done_at__isnull=True, emailed_at__isnull=True)
        .exclude(user__email__isnull=True)
        .exclude(user__email="")
        .filter(user__is_active=True)
    )
    if older_than is not None:
        rows = rows.filter(created_at__lte=older_than)
    return rows.select_related("user", "session__rules").order_by("created_at", "id")


def notification_still_open(notification: Notification) -> bool:
    """Whether the thing a notification asks for is still to be done, read from the data itself
    (the after-commit update of the notifications may have failed)."""
    session = notification.session
    if session is None:
        return True
    if notification.kind == Notification.Kind.TURN:
        state = session_state(session)
        index, _, role = notification.key.split(":", 1)[1].partition(":")
        return (
            not state.finished
            and state.round_key == index
            and role in {str(r) for r in state.due}
            and Seat.objects.filter(session=session, role=role, user=notification.user).exists()
        )
    if notification.kind == Notification.Kind.SURVEY:
        seat_id = notification.key.rpartition("-")[2]
        return Seat.objects.filter(pk=seat_id, surveyed_at__isnull=True).exists()
    if notification.kind == Notification.Kind.ASSIGNED:
        return not Judgment.objects.filter(
            session=session, seat__user=notification.user, kind=Judgment.Kind.OFFLINE
        ).exists()
    return True


def _send(notification: Notification) -> None:
    link = settings.SITE_URL + notification.url if notification.url else settings.SITE_URL
    delay = settings.NOTIFY_EMAIL_AFTER_S
    waited = f"{round(delay / 60)} minutes" if delay >= 120 else f"{delay} seconds"
    deadline = notification_deadline(notification)
    due = f"It is due by {timezone.localtime(deadline):%H:%M %Z on %Y-%m-%d}.\n" if deadline else ""
    body = (
        f"Hello {notification.user.get_username()},\n\n"
        f"{notification.text}.\n"
        + due
        + (f"\nOpen it here: {link}\n" if link else "")
        + f"\nThis has waited for you for more than {waited}; "
        "you get one email per notification.\n"
    )
    send_mail(f"[Debate platform] {notification.text}", body, None, [notification.user.email])


def notification_deadline(notification: Notification) -> datetime | None:
    """When the turn a notification is about runs out, if its rules set a time per turn."""
    if notification.kind != Notification.Kind.TURN or notification.session is None:
        return None
    from debate.selectors import sessions_progress

    session = notification.session
    return sessions_progress([session])[session.pk].turn_deadline


def _mark_done(rows: QuerySet[Notification]) -> int:
    return rows.filter(done_at__isnull=True).update(done_at=timezone.now())


def _turn_key(session_id: int, round_key: str, role: str) -> str:
    """``round_key``: the round's index, or ``choice`` for an open session's first turn."""
    return f"{session_id}:{round_key}:{role}"


def _survey_key(session_id: int, seat_id: int) -> str:
    return f"{session_id}:seat-{seat_id}"


def _turn_text(session: Session, seat: Seat) -> str:
    role = ROLE_NAMES.get(Role(seat.role), seat.role)
    return f"Your turn as {role} in {session.protocol} #{session.pk}"


def _survey_text(session: Session) -> str:
    return f"Fill in the feedback survey for {session.protocol} #{session.pk}"


def _url(kind: str, session_id: int) -> str:
    if kind == Notification.Kind.SURVEY:
        return f"/sessions/{session_id}/survey"  # the survey page (judging)
    return reverse("debate:session", kwargs={"session_id": session_id})
