"""Scheduling against the database: history from earlier sessions and readings is respected, a
preview or a refusal writes nothing, created sessions are the planned ones; the command and the
staff page."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils.html import escape

from debate.models import AuditEvent, PassageReading, Seat, Session
from debate.protocol import Protocol, Role
from debate.scheduling.services import ScheduleRefused, schedule_create, schedule_preview
from llm_agents.models import Agent
from tests.factories import judge, make_debate, make_question, make_user, speak

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    """One question; alice and bob read its passage, carol and dave did not."""
    question = make_question()
    people = {name: make_user(f"s-{name}") for name in ("alice", "bob", "carol", "dave")}
    for name in ("alice", "bob"):
        PassageReading.objects.create(user=people[name], passage=question.passage)
    return question, people


def written() -> tuple[int, int, int, int]:
    return (
        Session.objects.count(),
        Seat.objects.count(),
        AuditEvent.objects.count(),
        PassageReading.objects.count(),
    )


def holder_names(plan_session) -> dict[Role, str]:
    return {seat.role: seat.person.name for seat in plan_session.seats}


# --- history ------------------------------------------------------------------------------------


def test_earlier_judgings_and_readings_rule_people_out(study):
    question, p = study
    earlier = make_question(passage=question.passage)
    make_debate(question=earlier, judge=p["carol"])
    plan = schedule_preview(questions=[question], participants=list(p.values()))
    (session,) = plan.sessions
    seats = holder_names(session)
    assert seats[Role.JUDGE] == "s-dave"
    assert {seats[Role.DEBATER_A], seats[Role.DEBATER_B]} == {"s-alice", "s-bob"}

    PassageReading.objects.create(user=p["dave"], passage=question.passage)
    plan = schedule_preview(questions=[question], participants=[p["alice"], p["bob"], p["carol"]])
    assert not plan.sessions
    message = plan.problems[0].message
    title = question.passage.title
    assert f"s-carol already judged a question on “{title}”" in message
    assert f"s-alice has read “{title}”" in message


def test_people_who_did_not_read_the_passage_do_not_debate_it(study):
    question, p = study
    plan = schedule_preview(questions=[question], participants=[p["alice"], p["carol"], p["dave"]])
    assert not plan.sessions
    assert f"s-carol has not read “{question.passage.title}”" in plan.problems[0].message
    agent = Agent.objects.create(name="sched-gpt", provider="openai", model="gpt-4o")
    plan = schedule_preview(
        questions=[question], participants=[p["alice"], p["carol"], p["dave"]], agents=[agent]
    )
    assert "sched-gpt" in holder_names(plan.sessions[0]).values()


def test_only_open_sessions_count_towards_the_limits(study):
    question, p = study
    make_debate(debater_a=p["alice"])  # open, on another passage
    finished = make_debate(debater_b=p["bob"])
    judge(finished)
    speak(finished, Role.DEBATER_A, "a")
    speak(finished, Role.DEBATER_B, "b")
    judge(finished, [0.6, 0.4], end=True)
    plan = schedule_preview(questions=[question], participants=list(p.values()), max_debating=1)
    assert not plan.sessions
    message = plan.problems[0].message
    assert "s-alice is at the limit of 1 open debates" in message
    assert "s-bob is at" not in message


def test_earlier_honesty_and_positions_tip_the_balance(study):
    question, p = study
    for _ in range(2):  # alice argued the correct answer as A twice, bob the wrong one as B
        make_debate(debater_a=p["alice"], debater_b=p["bob"])
    plan = schedule_preview(questions=[question], participants=list(p.values()), max_debating=5)
    session = plan.sessions[0]
    alice = next(s for s in session.seats if s.person.name == "s-alice")
    assert alice.role is Role.DEBATER_B and alice.honest is False
    assert "honest 2 vs dishonest 0 so far; A 2 vs B 0 so far" in alice.reason
    assert "met s-bob 2 times before" in alice.reason


# --- writing ------------------------------------------------------------------------------------


def test_a_preview_writes_nothing(study):
    question, p = study
    before = written()
    plan = schedule_preview(
        questions=[question],
        participants=list(p.values()),
        protocols=[Protocol.DEBATE, Protocol.CONSULTANCY],
    )
    assert plan.sessions
    assert written() == before


def test_a_pool_that_cannot_make_every_session_is_refused_and_nothing_is_written(study):
    question, p = study
    other = make_question()  # nobody read its passage
    before = written()
    with pytest.raises(ScheduleRefused) as refused:
        schedule_create(questions=[question, other], participants=list(p.values()))
    assert "Nothing was written: 1 of 2 sessions cannot be made" in refused.value.message
    assert f"s-alice has not read “{other.passage.title}”" in refused.value.message
    assert written() == before

    result = schedule_create(
        questions=[question, other], participants=list(p.values()), partial=True
    )
    assert [s.question for s in result.sessions] == [question]
    assert len(result.plan.problems) == 1


def test_created_sessions_have_the_planned_seats_and_answer_orders(study, staff_user):
    question, p = study
    carol_two = make_user("s-erin")
    result = schedule_create(
        questions=[question],
        participants=[*p.values(), carol_two],
        protocols=[Protocol.DEBATE, Protocol.CONSULTANCY],
        seed=3,
        actor=staff_user,
        via="test",
    )
    assert len(result.sessions) == 2
    for planned, session in zip(result.plan.sessions, result.sessions, strict=True):
        assert session.protocol == planned.protocol
        assert session.answer_order == list(planned.answer_order)
        assert session.rules.name == f"paper-{planned.protocol}"
        for seat in planned.seats:
            stored = session.seats.get(role=seat.role)
            assert stored.user.get_username() == seat.person.name
            if seat.honest is not None:
                assert (stored.answer_position == session.correct_position) is seat.honest
        event = AuditEvent.objects.get(session=session, action="session_scheduled")
        assert event.actor == staff_user and event.via == "test"
        assert event.after["answer_order"] == list(planned.answer_order)
        assert [s["reason"] for s in event.after["seats"]] == [s.reason for s in planned.seats]


def test_a_plan_that_changed_since_the_preview_is_refused(study):
    question, p = study
    plan = schedule_preview(questions=[question], participants=list(p.values()))
    make_debate(question=make_question(passage=question.passage), judge=p["carol"])
    make_debate(question=make_question(passage=question.passage), judge=p["dave"])
    before = written()
    with pytest.raises(ScheduleRefused, match="changed since the preview"):
        schedule_create(
            questions=[question],
            participants=list(p.values()),
            expected_fingerprint=plan.fingerprint,
        )
    assert written() == before


# --- the command --------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("schedule_sessions", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_plan_on_a_dry_run_and_then_creates_it(study):
    question, _ = study
    users = ["--participants", "s-alice", "s-bob", "s-carol", "s-dave"]
    before = written()
    output = run("--questions", str(question.pk), *users, "--dry-run", "--seed", "4")
    assert "Plan (seed 4): 1 session, 0 problems." in output
    assert "judge" in output and "read “" in output and "Dry run: nothing written." in output
    assert written() == before

    output = run("--questions", "passage__source=tests", *users, "--seed", "4")
    assert "Created 1 session:" in output
    assert Session.objects.count() == before[0] + 1


def test_the_command_refuses_an_impossible_pool_and_takes_a_group(study):
    question, p = study
    group = Group.objects.create(name="sched-study")
    group.user_set.add(p["alice"], p["carol"])
    before = written()
    with pytest.raises(CommandError, match="s-carol has not read") as error:
        run("--questions", str(question.pk), "--group", "sched-study")
    assert "--partial" in str(error.value)
    assert written() == before
    with pytest.raises(CommandError, match="No user named nobody"):
        run("--questions", str(question.pk), "--participants", "nobody")


# --- the staff page -----------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_staff_page_previews_then_creates(study, staff_user):
    question, p = study
    client = client_for(staff_user)
    assert client.get("/sessions/schedule/").status_code == 200
    data = {
        "questions": [question.pk],
        "participants": [u.pk for u in p.values()],
        "protocols": ["debate"],
        "per_question": 1,
        "max_judging": 2,
        "max_debating": 2,
        "seed": 5,
    }
    previewed = schedule_preview(questions=[question], participants=list(p.values()), seed=5)
    before = written()
    page = client.post("/sessions/schedule/", data).content.decode()
    assert "Create these sessions" in page and "open judgings of max 2" in page
    assert written() == before
    # The preview sits beside the form, the shown answers by letter and text.
    assert page.index('class="schedule-inputs"') < page.index('class="schedule-preview"')
    shown = previewed.sessions[0].answer_order
    first = question.answers[shown[0]]
    assert f"<li><b>A</b> {escape(first)}" in page and "<li><b>B</b> " in page
    assert '<span class="tag correct">correct</span>' in page and "Debater A" in page
    fingerprint = re.search(r'name="plan" value="(\w+)"', page).group(1)
    response = client.post("/sessions/schedule/", {**data, "confirm": "1", "plan": fingerprint})
    assert response.status_code == 302
    session = Session.objects.get(question=question)
    judge_name = holder_names(previewed.sessions[0])[Role.JUDGE]
    assert session.seats.get(role=Role.JUDGE).user.get_username() == judge_name
    assert session.answer_order == list(previewed.sessions[0].answer_order)


def test_the_staff_page_shows_problems_and_offers_no_creation(study, staff_user):
    question, p = study
    data = {
        "questions": [question.pk],
        "participants": [p["alice"].pk, p["bob"].pk],
        "protocols": ["debate"],
        "per_question": 1,
        "max_judging": 2,
        "max_debating": 2,
        "seed": 0,
    }
    page = client_for(staff_user).post("/sessions/schedule/", data).content.decode()
    assert "no eligible judge" in page and "Create these sessions" not in page


def test_participants_cannot_open_the_page(study):
    _, p = study
    client = client_for(p["alice"])
    assert client.get("/sessions/schedule/").status_code in (302, 403)
    assert client.post("/sessions/schedule/", {"confirm": "1"}).status_code == 403
    assert (
        client.post(
            "/sessions/schedule/readings", {"user": p["carol"].pk, "passage": 1}
        ).status_code
        == 403
    )
    assert Session.objects.count() == 0 and not PassageReading.objects.filter(user=p["carol"])


def test_staff_mark_a_reading_from_the_scheduling_page_and_the_reader_is_no_longer_a_judge(
    study, staff_user
):
    question, p = study
    client = client_for(staff_user)
    page = client.get("/sessions/schedule/").content.decode()
    assert "Mark a reading" in page and 'action="/sessions/schedule/readings"' in page
    form = {"user": p["carol"].pk, "passage": question.passage.pk, "note": "pilot group"}
    response = client.post("/sessions/schedule/readings", form, follow=True)
    assert "s-carol is marked as having read" in response.content.decode()
    reading = PassageReading.objects.get(user=p["carol"], passage=question.passage)
    assert reading.note == "pilot group"
    assert AuditEvent.objects.filter(action="reading_marked", actor=staff_user).count() == 1
    again = client.post("/sessions/schedule/readings", form, follow=True).content.decode()
    assert (
        "was already marked" in again
        and AuditEvent.objects.filter(action="reading_marked").count() == 1
    )
    # Only dave is left who has read nothing: he judges.
    (planned,) = schedule_preview(questions=[question], participants=list(p.values())).sessions
    assert holder_names(planned)[Role.JUDGE] == "s-dave"
    refused = client.post("/sessions/schedule/readings", {"user": p["carol"].pk, "passage": 0})
    assert refused.status_code == 422 and "Select a valid choice" in refused.content.decode()
