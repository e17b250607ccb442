"""Slack notifications against a local stub webhook: set by a person or by staff for a group,
"your turn", "survey due" and offline assignments posted once in the background, retried when
the webhook fails for a while, given up when it refuses for good, never posted twice.

The clock is moved by passing ``now``; nothing here sleeps for a retry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from config.background import wait_for_background
from debate import slack
from debate.judgments import offline_judge_assign
from debate.models import Notification, SlackDelivery, SlackWebhook
from debate.notifications import notifications_for_changes
from debate.protocol import Role
from tests.factories import judge, make_debate, make_user, play_to_end, seat, speak, timed_rules
from tests.slack_stub import (
    CUT_OFF,
    OK,
    PROXY_PAGE,
    RATE_LIMITED,
    REVOKED,
    SERVER_ERROR,
    Answer,
    StubSlack,
)

SENT, PENDING, FAILED, SKIPPED = (
    SlackDelivery.Status.SENT,
    SlackDelivery.Status.PENDING,
    SlackDelivery.Status.FAILED,
    SlackDelivery.Status.SKIPPED,
)


@pytest.fixture(autouse=True)
def local_webhooks(settings):
    # The posts run in this process whatever the mode of the pass (no Celery worker here).
    settings.BACKGROUND_MODE = "inprocess"
    settings.SLACK_WEBHOOK_HOSTS = ["127.0.0.1", "hooks.slack.com"]
    settings.SLACK_TIMEOUT_S = 0.5
    settings.SLACK_RETRY_BASE_S = 30
    settings.SLACK_MAX_ATTEMPTS = 4
    settings.SITE_URL = "https://debate.example.org"
    settings.NOTIFY_EMAIL_AFTER_S = 0


def turn_for(user, *, stub, **debate):
    """A debate in which ``user`` judges and the prior is due; their notification and its
    delivery (nothing posted yet)."""
    SlackWebhook.objects.update_or_create(user=user, defaults={"url": stub.url()})
    session = make_debate(judge=user, **debate)
    notifications_for_changes(session.pk)  # (already run if the creation committed)
    note = Notification.objects.get(user=user, session=session, kind=Notification.Kind.TURN)
    (delivery,) = note.slack_deliveries.all()
    return session, note, delivery


def status_of(delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


# --- the webhook -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_person_sets_their_webhook_and_a_test_message_arrives():
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    page = client.get("/me/notifications/")
    assert page.status_code == 200 and "Slack incoming-webhook URL" in page.content.decode()
    refused = client.post("/me/notifications/", {"url": "http://10.0.0.7/admin"})
    assert refused.status_code == 422
    assert "Only Slack webhooks are accepted" in refused.content.decode()
    assert not SlackWebhook.objects.exists()
    with StubSlack(OK) as stub:
        saved = client.post("/me/notifications/", {"url": stub.url(), "test": "1"}, follow=True)
        assert "a test message was posted to Slack" in saved.content.decode()
        assert stub.texts == ["Test from the debate platform: notifications will arrive here."]
        assert SlackWebhook.objects.get(user=alice).url == stub.url()
        assert "last posted" in client.get("/me/notifications/").content.decode()
    with StubSlack(REVOKED) as stub:
        failed = client.post("/me/notifications/", {"url": stub.url(), "test": "1"}, follow=True)
        assert "did not arrive: Slack refused the post (HTTP 404): no_service" in (
            failed.content.decode()
        )
    client.post("/me/notifications/", {"url": ""})
    assert not SlackWebhook.objects.exists()


def test_only_slack_hosts_over_https_are_webhooks(settings):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    assert slack.webhook_url_problem("https://hooks.slack.com/services/T/B/x") is None
    assert "Only Slack webhooks" in slack.webhook_url_problem("https://example.org/hook")
    assert "https://" in slack.webhook_url_problem("http://hooks.slack.com/services/T/B/x")
    assert "whole webhook URL" in slack.webhook_url_problem("hooks.slack.com/services")


@pytest.mark.django_db
def test_staff_set_a_groups_webhook_in_the_admin_and_posts_name_the_person():
    boss = make_user("boss", is_staff=True, is_superuser=True)
    group = Group.objects.create(name="cohort 1")
    alice = make_user("alice")
    alice.groups.add(group)
    client = Client()
    client.force_login(boss)
    with StubSlack(OK) as stub:
        response = client.post(
            "/admin/debate/slackwebhook/add/", {"group": group.pk, "user": "", "url": stub.url()}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        bad = client.post(
            "/admin/debate/slackwebhook/add/",
            {"group": group.pk, "user": "", "url": "https://example.org/x"},
        )
        assert "Only Slack webhooks are accepted" in bad.content.decode()
        session = make_debate(judge=alice)
        (note,) = notifications_for_changes(session.pk)
        (delivery,) = note.slack_deliveries.all()
        assert slack.delivery_post(delivery.pk) == SENT
        assert stub.texts == [
            f"alice: Your turn as judge in debate #{session.pk} "
            f"<https://debate.example.org/sessions/{session.pk}/|Open it>"
        ]


# --- posted once, in the background ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_your_turn_is_posted_once_in_the_background_and_the_survey_after(
    django_capture_on_commit_callbacks,
):
    alice = make_user("alice")
    with StubSlack(OK) as stub:
        SlackWebhook.objects.create(user=alice, url=stub.url())
        with django_capture_on_commit_callbacks(execute=True):
            session = make_debate(judge=alice)
        wait_for_background()
        assert stub.texts == [
            f"Your turn as judge in debate #{session.pk} "
            f"<https://debate.example.org/sessions/{session.pk}/|Open it>"
        ]
        # The same turn again (another change pushed, a second worker): nothing new is posted.
        notifications_for_changes(session.pk)
        assert slack.deliveries_due() == 0
        wait_for_background()
        assert len(stub.posts) == 1
        delivery = SlackDelivery.objects.get()
        assert delivery.status == SENT and delivery.attempts == 1
        # Playing on to the end: each of alice's turns once, then her survey.
        with django_capture_on_commit_callbacks(execute=True):
            judge(session, (0.5, 0.5))
            speak(session, Role.DEBATER_A, "Mine.")
            speak(session, Role.DEBATER_B, "No, mine.")
        wait_for_background()  # a turn is posted while it is still the judge's (a person reads)
        assert len(stub.posts) == 2
        assert stub.texts[1].startswith(f"Your turn as judge in debate #{session.pk}")
        with django_capture_on_commit_callbacks(execute=True):
            judge(session, (0.8, 0.2), end=True)
        wait_for_background()
        assert len(stub.posts) == 3
        assert stub.texts[2].startswith(f"Fill in the feedback survey for debate #{session.pk}")
        assert "/survey|Open it>" in stub.texts[2]


@pytest.mark.django_db(transaction=True)
def test_an_offline_assignment_is_posted(django_capture_on_commit_callbacks):
    session = play_to_end(make_debate())
    olive = make_user("olive")
    with StubSlack(OK) as stub:
        SlackWebhook.objects.create(user=olive, url=stub.url())
        with django_capture_on_commit_callbacks(execute=True):
            offline_judge_assign(session=session, user=olive)
        wait_for_background()
        assert stub.texts[0].startswith(f"Judge session {session.pk} offline (stepped)")


@pytest.mark.django_db
def test_a_turn_with_a_deadline_says_when_it_is_due():
    alice = make_user("alice")
    with StubSlack(OK) as stub:
        session, _, delivery = turn_for(alice, stub=stub, rules=timed_rules(3600))
        assert slack.delivery_post(delivery.pk) == SENT
        due = timezone.localtime(session.created_at + timedelta(hours=1))
        assert f"(due by {due:%H:%M %Z}, {due:%Y-%m-%d})" in stub.texts[0]


@pytest.mark.django_db
def test_a_turn_taken_before_the_post_is_not_posted():
    alice = make_user("alice")
    with StubSlack(OK) as stub:
        session, _, delivery = turn_for(alice, stub=stub)
        judge(session, (0.5, 0.5))
        notifications_for_changes(session.pk)  # marks the old turn done
        assert slack.delivery_post(delivery.pk) == SKIPPED
        assert stub.posts == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_post_one_delivery_twice():
    alice = make_user("alice")
    with StubSlack(Answer(delay=0.3)) as stub:
        _, _, delivery = turn_for(alice, stub=stub)
        results = []

        def post():
            results.append(slack.delivery_post(delivery.pk))

        workers = [threading.Thread(target=post) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wait_for_background()  # the creation's own background post races them too
        assert len(stub.posts) == 1 and status_of(delivery) == SENT
        assert results.count(SENT) <= 1 and len(results) == 4


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (SERVER_ERROR, "Slack failed (HTTP 500): internal_error"),
        (PROXY_PAGE, "An HTML page answered instead of Slack"),
        (CUT_OFF, "Could not reach Slack"),
        (Answer(delay=2), "Slack did not answer within 0.5 s"),
    ],
    ids=["5xx", "proxy page", "cut off", "hang"],
)
def test_a_passing_failure_is_retried_later_and_then_posted(failure, reason):
    alice = make_user("alice")
    with StubSlack(failure, OK) as stub:
        _, _, delivery = turn_for(alice, stub=stub)
        before = timezone.now()
        assert slack.delivery_post(delivery.pk) == PENDING
        delivery.refresh_from_db()
        assert reason in delivery.last_error and delivery.attempts == 1
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert 30 <= wait < 35  # the first retry's delay
        assert slack.deliveries_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0
        assert slack.deliveries_due(now=delivery.next_attempt_at) == 1
        assert status_of(delivery) == SENT and len(stub.posts) == 2
        assert SlackWebhook.objects.get().last_error == ""


@pytest.mark.django_db
def test_a_rate_limit_waits_as_long_as_slack_says():
    alice = make_user("alice")
    with StubSlack(RATE_LIMITED, OK) as stub:
        _, _, delivery = turn_for(alice, stub=stub)
        before = timezone.now()
        assert slack.delivery_post(delivery.pk) == PENDING
        delivery.refresh_from_db()
        assert 7 <= (delivery.next_attempt_at - before).total_seconds() < 9
        assert "rate" in delivery.last_error


@pytest.mark.django_db
def test_a_revoked_webhook_is_given_up_at_once_and_its_owner_sees_why():
    alice = make_user("alice")
    with StubSlack(REVOKED) as stub:
        _, _, delivery = turn_for(alice, stub=stub)
        assert slack.delivery_post(delivery.pk) == FAILED
        assert slack.deliveries_due(now=timezone.now() + timedelta(days=1)) == 0
        assert len(stub.posts) == 1
    client = Client()
    client.force_login(alice)
    page = client.get("/me/notifications/").content.decode()
    assert "the last post failed: Slack refused the post (HTTP 404): no_service" in page


@pytest.mark.django_db
def test_retries_wait_twice_as_long_each_time_and_stop_after_the_last_attempt():
    alice = make_user("alice")
    with StubSlack(SERVER_ERROR) as stub:
        _, _, delivery = turn_for(alice, stub=stub)
        now, delays = timezone.now(), []
        while slack.delivery_post(delivery.pk, now=now) == PENDING:
            delivery.refresh_from_db()
            delays.append(round((delivery.next_attempt_at - now).total_seconds()))
            now = delivery.next_attempt_at
        assert delays == [30, 60, 120]
        assert status_of(delivery) == FAILED and len(stub.posts) == 4  # SLACK_MAX_ATTEMPTS
        assert slack.deliveries_due(now=now + timedelta(days=1)) == 0 and len(stub.posts) == 4


@pytest.mark.django_db
def test_people_without_a_webhook_get_no_deliveries():
    session = make_debate()
    notes = notifications_for_changes(session.pk)
    assert notes and not SlackDelivery.objects.exists()
    assert Notification.objects.filter(kind=Notification.Kind.TURN).count() == 1
    assert seat(session, Role.JUDGE).user.pk == notes[0].user_id
