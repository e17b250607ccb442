"""Notifications: a turn notifies exactly the human seat now due, once, live in the lobby; acting
closes it; an open one is emailed once after NOTIFY_EMAIL_AFTER_S to users with an address;
finished sessions remind each human seat of its survey until the survey is in.

The clock is moved by passing ``now`` to the email check; nothing here sleeps."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from config.asgi import application
from debate.models import Notification, Seat, Session
from debate.notifications import (
    notification_done,
    notifications_email_due,
    notifications_for_changes,
    notifications_pending,
)
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from debate.tasks import notifications_email
from judging.models import SurveyResponse
from tests.factories import judge, make_debate, make_question, make_user, seat, speak

pytestmark = pytest.mark.django_db

TURN = Notification.Kind.TURN
SURVEY = Notification.Kind.SURVEY
HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture(autouse=True)
def email_after_ten_minutes(settings):
    settings.NOTIFY_EMAIL_AFTER_S = 600
    settings.SITE_URL = "https://debate.example.org"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service as a request does: its after-commit hooks run when it returns."""

    def run(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return run


@pytest.fixture
def people():
    return {
        r: make_user(f"n-{r}", email=f"{r}@example.org")
        for r in ("judge", "debater_a", "debater_b")
    }


@pytest.fixture
def session(people, committed):
    return committed(make_debate, **people)


def open_notes(**filters):
    return list(Notification.objects.filter(done_at__isnull=True, **filters))


def later(seconds: int = 601):
    return timezone.now() + timedelta(seconds=seconds)


def finish(session, committed):
    committed(judge, session, (0.5, 0.5))
    committed(speak, session, Role.DEBATER_A, "Mine.")
    committed(speak, session, Role.DEBATER_B, "No, mine.")
    committed(judge, session, (0.8, 0.2), end=True)


# --- in-app notifications ------------------------------------------------------------------------


def test_a_turn_notifies_exactly_the_due_human_once(session, people):
    (note,) = Notification.objects.all()
    assert note.user == people["judge"] and note.kind == TURN and note.session == session
    assert note.url == f"/sessions/{session.pk}/" and "judge" in note.text
    notifications_for_changes(session.pk)  # a second hook for the same state adds nothing
    notifications_for_changes(session.pk)
    assert Notification.objects.count() == 1


def test_simultaneous_speeches_notify_both_debaters_and_acting_closes_only_ones_own(
    session, people, committed
):
    committed(judge, session, (0.5, 0.5))
    assert {n.user for n in open_notes()} == {people["debater_a"], people["debater_b"]}
    assert Notification.objects.get(user=people["judge"]).done_at is not None

    committed(speak, session, Role.DEBATER_A, "Mine.")
    assert [n.user for n in open_notes()] == [people["debater_b"]]
    committed(speak, session, Role.DEBATER_B, "No, mine.")
    (judge_turn,) = open_notes()
    assert judge_turn.user == people["judge"] and judge_turn.key.endswith(":2:judge")
    assert Notification.objects.filter(user=people["judge"], kind=TURN).count() == 2


def test_agents_and_people_without_a_seat_get_nothing(committed):
    from llm_agents.models import Agent

    human, stranger = make_user("n-human"), make_user("n-stranger")
    agent = Agent.objects.create(name="n-agent", provider="openai", model="m")
    question = make_question()
    session = committed(
        session_create,
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=paper_rules(Protocol.DEBATE),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=make_user("n-judge")),
            SeatAssignment(Role.DEBATER_A, user=human),
            SeatAssignment(Role.DEBATER_B, agent=agent),
        ],
    )
    Session.objects.filter(pk=session.pk).update(attention="no AI turns in this test")
    committed(judge, session, (0.5, 0.5))
    assert [n.user for n in open_notes()] == [human]  # B, the agent, is due too
    assert not Notification.objects.filter(user=stranger).exists()


def test_the_lobby_lists_open_notifications_and_the_title_counts_them(session, people, committed):
    client = Client()
    client.force_login(people["debater_a"])
    page = client.get("/").content.decode()
    assert 'id="notifications"' not in page and "<title>Debate platform</title>" in page

    committed(judge, session, (0.5, 0.5))
    page = client.get("/").content.decode()
    notes = page.split('id="notifications"')[1].split('id="turn-heading"')[0]
    assert f'href="/sessions/{session.pk}/"' in notes and "Your turn as debater A" in notes
    assert "<title>(1) Debate platform</title>" in page and 'data-open-count="1"' in page
    assert [n.text for n in notifications_pending(people["debater_a"])] == [
        f"Your turn as debater A in debate #{session.pk}"
    ]


def test_notification_done_closes_a_users_open_turns(session, people):
    assert notification_done(user=people["judge"], session_id=session.pk) == 1
    assert open_notes() == []


@pytest.mark.django_db(transaction=True)
async def test_the_turn_is_pushed_to_the_lobby_at_once():
    people = await database_sync_to_async(
        lambda: {r: make_user(f"nws-{r}") for r in ("judge", "debater_a", "debater_b")}
    )()
    session = await database_sync_to_async(make_debate)(**people)
    ws = WebsocketCommunicator(application, "/ws/lobby/", headers=HEADERS)
    ws.scope["user"] = people["debater_a"]
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_from()
    assert 'data-open-count="0"' in first and 'id="notifications"' not in first
    await database_sync_to_async(judge)(session, [0.5, 0.5])
    pushed = await ws.receive_from(timeout=5)
    assert 'id="notifications"' in pushed and "Your turn as debater A" in pushed
    assert 'data-open-count="1"' in pushed
    await ws.disconnect()


# --- email after the delay -----------------------------------------------------------------------


def test_an_open_notification_is_emailed_once_after_the_delay(session, people, mailoutbox):
    assert notifications_email_due() == 0  # too early
    assert notifications_email_due(now=later(599)) == 0
    assert notifications_email_due(now=later()) == 1
    (mail,) = mailoutbox
    assert mail.to == ["judge@example.org"]
    assert f"Your turn as judge in debate #{session.pk}" in mail.subject
    assert f"https://debate.example.org/sessions/{session.pk}/" in mail.body
    assert Notification.objects.get().emailed_at is not None
    assert notifications_email_due(now=later(3600)) == 0  # never twice
    assert len(mailoutbox) == 1


def test_done_notifications_are_not_emailed(session, people, committed, mailoutbox):
    committed(judge, session, (0.5, 0.5))
    assert notifications_email_due(now=later()) == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["debater_a@example.org", "debater_b@example.org"]


def test_a_turn_already_taken_is_marked_done_instead_of_emailed(session, mailoutbox):
    judge(session, (0.5, 0.5))  # its after-commit hook never runs here: the notification is stale
    assert notifications_email_due(now=later()) == 0
    assert mailoutbox == [] and open_notes() == []


def test_users_without_an_email_address_are_skipped(committed, mailoutbox):
    committed(make_debate, judge=make_user("n-no-mail"))
    assert notifications_email_due(now=later()) == 0
    assert mailoutbox == [] and Notification.objects.get().emailed_at is None


def test_a_delay_of_zero_turns_the_emails_off(session, settings, mailoutbox):
    settings.NOTIFY_EMAIL_AFTER_S = 0
    assert notifications_email_due(now=later(10**6)) == 0 and mailoutbox == []


def test_the_background_check_sends_what_is_due(session, mailoutbox):
    Notification.objects.update(created_at=timezone.now() - timedelta(seconds=700))
    assert notifications_email() == 1  # the task Celery beat runs every minute
    assert [m.to for m in mailoutbox] == [["judge@example.org"]]


def test_beat_checks_the_emails_every_minute_in_celery_mode_only():
    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CELERY_BEAT_SCHEDULE.get('notification-emails'))"
    )
    cases = (
        ({"BACKGROUND_MODE": "celery"}, "{'task': 'debate.notifications_email', 'schedule': 60.0}"),
        ({"BACKGROUND_MODE": "celery", "NOTIFY_EMAIL_AFTER_S": "0"}, "None"),
        ({"BACKGROUND_MODE": "inprocess"}, "None"),
    )
    for extra, expected in cases:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_EMAIL_AFTER_S"}
        env.update(extra, DJANGO_SETTINGS_MODULE="config.settings_test")
        result = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        assert result.stdout.strip().splitlines()[-1] == expected


# --- survey reminders ----------------------------------------------------------------------------


def test_finishing_reminds_every_human_seat_of_its_survey(session, people, committed):
    finish(session, committed)
    surveys = open_notes(kind=SURVEY)
    assert {n.user for n in surveys} == set(people.values())
    assert {n.url for n in surveys} == {f"/sessions/{session.pk}/survey"}
    assert open_notes(kind=TURN) == []
    notifications_for_changes(session.pk)
    assert Notification.objects.filter(kind=SURVEY).count() == 3


def test_a_submitted_survey_is_not_emailed(session, people, committed, mailoutbox):
    finish(session, committed)
    response = SurveyResponse.objects.create(seat=seat(session, Role.JUDGE), answers={})
    Seat.objects.filter(pk=response.seat_id).update(surveyed_at=response.submitted_at)
    assert notifications_email_due(now=later()) == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["debater_a@example.org", "debater_b@example.org"]
    judge_survey = Notification.objects.get(user=people["judge"], kind=SURVEY)
    assert judge_survey.done_at is not None and judge_survey.emailed_at is None


def test_the_lobby_title_counts_a_pending_survey(session, people, committed):
    finish(session, committed)
    client = Client()
    client.force_login(people["debater_b"])
    page = client.get("/").content.decode()
    assert "<title>(1) Debate platform</title>" in page
    assert f'href="/sessions/{session.pk}/survey"' in page
    assert Seat.objects.filter(session=session, user=people["debater_b"]).exists()


def test_the_email_of_a_timed_turn_says_when_it_is_due(committed, mailoutbox):
    from tests.factories import timed_rules

    jo = make_user("n-jo", email="jo@example.org")
    session = committed(make_debate, judge=jo, rules=timed_rules(3600))
    assert notifications_email_due(now=later()) == 1
    due = timezone.localtime(session.created_at + timedelta(hours=1))
    assert f"It is due by {due:%H:%M %Z on %Y-%m-%d}." in mailoutbox[0].body
