"""Notifications to Slack: "your turn", "survey due" and new offline assignments, posted once to
the person's own incoming webhook and to the webhook of each group they belong to.

A `SlackDelivery` row is made for each (notification, webhook) when the notification is created
(debate/notifications.py), and posted in the background after the commit. A post that fails for
a while (the network, a timeout, Slack's 5xx or 429, a proxy's HTML page, a cut-off answer) is
retried with a growing delay, up to ``SLACK_MAX_ATTEMPTS``; one Slack refuses for good (a revoked
webhook: 403, 404, 410; a bad payload: 400) is given up at once and the reason kept on the
webhook for its owner to see. A notification already done (the turn was taken) is not posted.

Each post is claimed first (a row update only one worker can win), so two workers never post
the same delivery; a claim older than a few timeouts is taken over (its worker died). Every run
of the task also sweeps the deliveries due (retries whose embedded-mode timer was lost in a
restart); Celery beat runs that sweep every minute in production.

Only hosts in ``SLACK_WEBHOOK_HOSTS`` (default hooks.slack.com) are accepted, so a participant
cannot point the server at an address of its own network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, Q
from django.utils import timezone

from debate.errors import ServiceError
from debate.models import Notification, SlackDelivery, SlackWebhook

logger = logging.getLogger(__name__)

POSTED_KINDS = {Notification.Kind.TURN, Notification.Kind.SURVEY, Notification.Kind.ASSIGNED}
SWEEP_BATCH = 50


class PostFailed(Exception):
    """A post did not get through; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


# --------------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------------


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a Slack webhook here, or None."""
    parts = urlsplit(url.strip())
    allowed = settings.SLACK_WEBHOOK_HOSTS
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Give the whole webhook URL, starting with https://"
    if parts.hostname not in allowed:
        return f"Only Slack webhooks are accepted (a URL on {', '.join(allowed)})."
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost"):
        return "The webhook URL must start with https://"
    return None


def webhook_set(*, user: User, url: str) -> SlackWebhook | None:
    """Set (or, with an empty ``url``, remove) ``user``'s own webhook. Raises ValueError with
    the reason for a URL that is refused."""
    url = url.strip()
    if not url:
        SlackWebhook.objects.filter(user=user).delete()
        return None
    problem = webhook_url_problem(url)
    if problem:
        raise ServiceError(problem)
    webhook, _ = SlackWebhook.objects.update_or_create(
        user=user, defaults={"url": url, "last_error": ""}
    )
    return webhook


def webhook_test(webhook: SlackWebhook) -> str | None:
    """Post a test message now (the owner asked for it); returns why it failed, or None."""
    try:
        _post(webhook.url, "Test from the debate platform: notifications will arrive here.")
    except PostFailed as failure:
        SlackWebhook.objects.filter(pk=webhook.pk).update(last_error=str(failure))
        return str(failure)
    SlackWebhook.objects.filter(pk=webhook.pk).update(last_ok_at=timezone.now(), last_error="")
    return None


def webhooks_for(user_id: int) -> list[SlackWebhook]:
    """The webhooks a person's notifications go to: their own and their groups'."""
    return list(SlackWebhook.objects.filter(Q(user_id=user_id) | Q(group__user__id=user_id)))


# --------------------------------------------------------------------------------------------------
# Deliveries
# --------------------------------------------------------------------------------------------------


def deliveries_create(notifications: Iterable[Notification]) -> list[SlackDelivery]:
    """A delivery per webhook for each new notification of a posted kind, posted in the
    background once the current transaction commits."""
    made = []
    for notification in notifications:
        if notification.kind not in POSTED_KINDS:
            continue
        for webhook in webhooks_for(notification.user_id):
            delivery, created = SlackDelivery.objects.get_or_create(
                notification=notification, webhook=webhook
            )
            if created:
                made.append(delivery)
    if made:
        from config.background import enqueue

        for delivery in made:
            enqueue("debate.slack_post", delivery_id=delivery.pk)
    return made


def delivery_post(delivery_id: int, *, now: datetime | None = None) -> str:
    """Post one delivery if it is due and nobody else is posting it; returns its status."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=3 * settings.SLACK_TIMEOUT_S + 30)
    claimed = (
        SlackDelivery.objects.filter(
            pk=delivery_id, status=SlackDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    delivery = (
        SlackDelivery.objects.select_related(
            "notification__user", "notification__session__rules", "webhook"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "gone"
    if not claimed:
        return delivery.status
    notification = delivery.notification
    if not _still_wanted(notification):
        _finish(delivery, SlackDelivery.Status.SKIPPED)
        return SlackDelivery.Status.SKIPPED
    try:
        _post(delivery.webhook.url, message_text(notification, delivery.webhook))
    except PostFailed as failure:
        return _failed(delivery, failure, now)
    _finish(delivery, SlackDelivery.Status.SENT, sent_at=timezone.now())
    SlackWebhook.objects.filter(pk=delivery.webhook_id).update(
        last_ok_at=timezone.now(), last_error=""
    )
    return SlackDelivery.Status.SENT


def deliveries_due(*, now: datetime | None = None) -> int:
    """Post the pending deliveries whose time has come (the sweep); returns how many were sent."""
    now = now or timezone.now()
    due = SlackDelivery.objects.filter(
        status=SlackDelivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(1 for pk in ids if delivery_post(pk, now=now) == SlackDelivery.Status.SENT)


def message_text(notification: Notification, webhook: SlackWebhook) -> str:
    """What Slack shows: the notification, its turn's deadline if any, and a link."""
    from debate.notifications import notification_deadline

    text = notification.text
    if webhook.group_id is not None:
        text = f"{notification.user.get_username()}: {text}"
    deadline = notification_deadline(notification)
    if deadline is not None:
        text += f" (due by {timezone.localtime(deadline):%H:%M %Z}, {deadline:%Y-%m-%d})"
    if settings.SITE_URL and notification.url:
        text += f" <{settings.SITE_URL}{notification.url}|Open it>"
    return text


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _post(url: str, text: str) -> None:
    try:
        response = httpx.post(
            url, json={"text": text}, timeout=settings.SLACK_TIMEOUT_S, follow_redirects=False
        )
        body = response.text
    except httpx.TimeoutException as error:
        raise PostFailed(f"Slack did not answer within {settings.SLACK_TIMEOUT_S} s") from error
    except httpx.HTTPError as error:  # refused, reset, cut off mid-answer
        raise PostFailed(f"Could not reach Slack: {error.__class__.__name__}: {error}") from error
    status = response.status_code
    if 200 <= status < 300:
        if "html" in response.headers.get("content-type", "") or body.lstrip().startswith("<"):
            # A proxy or captive portal answered in Slack's place: the post did not arrive.
            raise PostFailed(f"An HTML page answered instead of Slack (HTTP {status})")
        return
    detail = body.strip()[:200] or response.reason_phrase
    if status == 429:
        raise PostFailed(f"Slack limits the rate: {detail}", retry_after=_retry_after(response))
    if status == 408 or status >= 500:
        raise PostFailed(f"Slack failed (HTTP {status}): {detail}")
    raise PostFailed(f"Slack refused the post (HTTP {status}): {detail}", permanent=True)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _failed(delivery: SlackDelivery, failure: PostFailed, now: datetime) -> str:
    message = str(failure)
    attempts = delivery.attempts  # read after the claim, which counted this attempt
    if failure.permanent or attempts >= settings.SLACK_MAX_ATTEMPTS:
        logger.warning(
            "Slack delivery %s given up after %s attempts: %s", delivery.pk, attempts, message
        )
        _finish(delivery, SlackDelivery.Status.FAILED, last_error=message)
        SlackWebhook.objects.filter(pk=delivery.webhook_id).update(last_error=message)
        return SlackDelivery.Status.FAILED
    delay = failure.retry_after
    if delay is None:
        delay = settings.SLACK_RETRY_BASE_S * 2 ** (attempts - 1)
    delay = min(delay, 3600)
    logger.warning(
        "Slack delivery %s failed (attempt %s), retrying in %.0f s: %s",
        delivery.pk,
        attempts,
        delay,
        message,
    )
    SlackDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=None, last_error=message, next_attempt_at=now + timedelta(seconds=delay)
    )
    from config.background import enqueue_later

    enqueue_later("debate.slack_post", delay + 0.5, delivery_id=delivery.pk)
    return SlackDelivery.Status.PENDING


def _finish(delivery: SlackDelivery, status: str, **fields) -> None:
    SlackDelivery.objects.filter(pk=delivery.pk).update(status=status, claimed_at=None, **fields)


def _still_wanted(notification: Notification) -> bool:
    from debate.notifications import notification_still_open

    return notification.done_at is None and notification_still_open(notification)
