"""The lobby and staff's session lists: what each entry tells a person, paging, seat holders,
participants' histories for staff, and turn deadlines."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from debate.models import Rules, Session
from debate.protocol import Role
from debate.visibility import LOBBY_FINISHED_SHOWN, lobby_for
from tests.factories import (
    judge,
    make_debate,
    make_question,
    make_user,
    play_to_end,
    seat,
    timed_rules,
)

pytestmark = pytest.mark.django_db


def finish(session, p_correct=0.8):
    """Play the paper's debate to the judge's end, ``p_correct`` on the correct answer."""
    probabilities = [1 - p_correct, 1 - p_correct]
    probabilities[session.correct_position] = p_correct
    return play_to_end(session, probabilities)


def test_an_entry_names_session_protocol_story_seat_answer_whose_turn_and_outcome(client):
    alice, bob = make_user("alice"), make_user("bob")
    question = make_question()
    # Two sessions on one question: alice argues a different answer in each.
    first = make_debate(question=question, debater_a=alice, judge=bob)
    second = make_debate(question=question, debater_b=alice, order=[3, 0])
    lobby = lobby_for(alice)
    waiting = {e.session_id: e for e in lobby.waiting}
    assert set(waiting) == {first.pk, second.pk}  # the judge gives the prior first
    a, b = waiting[first.pk], waiting[second.pk]
    assert a.role_label == "debater A" and b.role_label == "debater B"
    assert a.own_answer.startswith("A: The daughter's") and b.own_answer.startswith(
        "B: The daughter's"
    )
    assert a.waiting_on == "the judge" and a.story == question.passage.title

    client.force_login(alice)
    page = client.get("/").content.decode()
    assert f"#{first.pk}" in page and f"#{second.pk}" in page
    assert "you are debater A, arguing A: The daughter" in page
    assert "you are debater B, arguing B: The daughter" in page
    assert "waiting for the judge" in page and "you are the debater" not in page

    judge(first, (0.5, 0.5))
    entry = lobby_for(alice).your_turn[0]
    assert entry.session_id == first.pk and entry.your_turn and not entry.waiting_on
    assert "<b>your turn</b>" in client.get("/").content.decode()

    finish(second)
    done = lobby_for(alice).finished[0]
    # alice argued the correct answer (position 1 of [3, 0]): the judge gave it 80%.
    assert done.outcome == "ended by the judge; the judge gave your answer 80%"
    assert lobby_for(second.seats.get(role=Role.JUDGE).user).finished[0].outcome == (
        "ended by the judge; you were right: 80% on the correct answer"
    )


def test_the_room_says_you_are_debater_a_and_waiting_for_the_judge(client):
    session = make_debate()
    client.force_login(seat(session, Role.DEBATER_A).user)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "you are debater A" in page and "Waiting for the judge." in page
    client.force_login(seat(session, Role.JUDGE).user)
    assert "you are the judge" in client.get(f"/sessions/{session.pk}/").content.decode()


def test_finished_sessions_page_into_the_history(client):
    alice = make_user("alice")
    sessions = [finish(make_debate(debater_a=alice)) for _ in range(LOBBY_FINISHED_SHOWN + 3)]
    lobby = lobby_for(alice)
    assert len(lobby.finished) == LOBBY_FINISHED_SHOWN and lobby.finished_total == len(sessions)
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "3 older finished sessions in your history" in page
    history = client.get("/me/").content.decode()
    assert history.count('href="/sessions/') == len(sessions)


def test_staff_actions_come_first_and_the_latest_sessions_show_their_seat_holders(
    client, staff_user
):
    alice = make_user("alice")
    session = make_debate(debater_a=alice)
    client.force_login(staff_user)
    page = client.get("/").content.decode()
    assert page.index("Create a session") < page.index("Your sessions")
    assert f'href="/people/{alice.pk}/history/">alice</a>' in page
    assert "Debater A: " in page and "waiting for the judge" in page
    assert "All 1 session" in page and 'href="/sessions/"' in page
    # The room's staff panel names the holders while the session runs.
    room = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Who holds the seats" in room and f'href="/people/{alice.pk}/history/"' in room
    assert "staff view" in room


def test_staff_open_any_participants_history_and_participants_cannot(client, staff_user):
    alice = make_user("alice")
    finish(make_debate(debater_a=alice))
    client.force_login(staff_user)
    page = client.get(f"/people/{alice.pk}/history/").content.decode()
    assert "History of alice" in page and "debater A" in page
    assert client.get("/people/999999/history/").status_code == 404
    client.force_login(make_user("mallory"))
    assert client.get(f"/people/{alice.pk}/history/").status_code == 403


def test_the_all_sessions_page_filters_by_status_and_pages(client, staff_user):
    finished = [finish(make_debate()) for _ in range(3)]
    running = [make_debate() for _ in range(27)]
    client.force_login(staff_user)
    page = client.get("/sessions/").content.decode()
    assert "30 sessions, page 1 of 2" in page and 'rel="next"' in page
    second = client.get("/sessions/?page=2").content.decode()
    assert "page 2 of 2" in second and len(re.findall(r'class="session-number"', second)) == 5
    only_finished = client.get("/sessions/?status=finished").content.decode()
    assert "3 sessions." in only_finished
    assert all(f"#{s.pk}</span>" in only_finished for s in finished)
    assert f"#{running[0].pk}</span>" not in only_finished
    assert "the judge was right: 80% on the correct answer" in only_finished
    # Paging keeps the filter.
    paged = client.get("/sessions/?status=not_started&page=2").content.decode()
    assert "27 sessions, page 2 of 2" in paged
    assert 'href="?status=not_started&amp;page=1" rel="prev"' in paged
    assert client.get("/sessions/?status=nonsense").status_code == 200  # an unknown filter: all
    client.force_login(make_user("participant"))
    assert client.get("/sessions/").status_code == 403


def test_a_turn_deadline_shows_in_the_lobby_the_room_and_flags_staff_when_overdue(
    client, staff_user
):
    alice = make_user("alice")
    session = make_debate(judge=alice, rules=timed_rules(600))
    other = make_debate(rules=timed_rules(600))
    entry = lobby_for(alice).your_turn[0]
    assert entry.deadline == session.created_at + timedelta(seconds=600) and not entry.overdue
    client.force_login(alice)
    room = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'data-deadline="{entry.deadline.isoformat()}"' in room
    assert "due by" in client.get("/").content.decode()

    later = timezone.now() + timedelta(seconds=601)
    assert lobby_for(alice, now=later).your_turn[0].overdue
    lobby = lobby_for(staff_user, now=later)
    assert {e.session_id for e in lobby.overdue} == {session.pk, other.pk}
    # A move starts the next turn's clock: after the judge's prior the debaters are due.
    prior = judge(session, (0.5, 0.5))
    debater = lobby_for(seat(session, Role.DEBATER_A).user).your_turn[0]
    assert debater.deadline == prior.created_at + timedelta(seconds=600)
    before = {e.session_id for e in lobby_for(staff_user, now=debater.deadline).overdue}
    after = lobby_for(staff_user, now=debater.deadline + timedelta(seconds=1)).overdue
    assert session.pk not in before and session.pk in {e.session_id for e in after}
    flagged = next(e for e in after if e.session_id == session.pk)
    assert flagged.waiting_on == "debater A and debater B" and flagged.holders
    # Nothing moved by itself: the judge's turn in the other session is still open.
    assert lobby_for(seat(other, Role.JUDGE).user, now=later).your_turn[0].overdue
    # The staff list filters what is overdue by the real clock.
    Session.objects.filter(pk=other.pk).update(created_at=timezone.now() - timedelta(hours=1))
    client.force_login(staff_user)
    page = client.get("/sessions/?status=overdue").content.decode()
    assert "1 session." in page and f"#{other.pk}</span>" in page and "overdue since" in page
    assert "Overdue turns (staff)" in client.get("/").content.decode()


def test_sessions_without_a_time_per_turn_have_no_deadline(staff_user):
    alice = make_user("alice")
    make_debate(judge=alice)
    assert lobby_for(alice).your_turn[0].deadline is None
    assert lobby_for(staff_user, now=timezone.now() + timedelta(days=30)).overdue == ()


def test_staff_set_the_time_per_turn_in_the_rules_admin(client, staff_user):
    from debate.services import paper_rules

    paper = paper_rules("debate")
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    form = {
        "name": "paper debate, ten minutes",
        "description": "",
        "structure": json.dumps(paper.structure),
        "scoring": json.dumps(paper.scoring),
        "turn_minutes": "10",
    }
    response = client.post("/admin/debate/rules/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    rules = Rules.objects.get(name="paper debate, ten minutes")
    assert rules.get_structure().turn_time_limit_s == 600
    page = client.get(f"/admin/debate/rules/{rules.pk}/change/").content.decode()
    assert 'name="turn_minutes" value="10"' in page
    client.post(f"/admin/debate/rules/{rules.pk}/change/", {**form, "turn_minutes": ""})
    rules.refresh_from_db()
    assert rules.get_structure().turn_time_limit_s is None


def test_the_time_per_turn_round_trips_and_must_be_positive():
    from debate import protocol

    structure = protocol.structure_from_dict(
        {**protocol.structure_to_dict(protocol.debate_structure()), "turn_time_limit_s": 90}
    )
    assert structure.turn_time_limit_s == 90
    assert protocol.structure_to_dict(structure)["turn_time_limit_s"] == 90
    assert "turn_time_limit_s" not in protocol.structure_to_dict(protocol.debate_structure())
    for bad in (0, -5, "soon", True):
        rejected = protocol.structure_from_dict(
            {**protocol.structure_to_dict(protocol.debate_structure()), "turn_time_limit_s": bad}
        )
        assert isinstance(rejected, protocol.Rejection) and "turn_time_limit_s" in rejected.message


@pytest.mark.parametrize("staff", [False, True])
def test_a_lobby_takes_the_same_queries_for_two_sessions_or_twelve(
    staff, django_assert_max_num_queries
):
    """One bulk read, whatever the number of seats: no query per seat or session."""

    person = make_user("busy", is_staff=staff)
    for _ in range(2):
        judge(make_debate(judge=person), (0.5, 0.5))
    with django_assert_max_num_queries(20) as few:
        lobby_for(person)
    for n in range(10):
        session = make_debate(judge=person)
        if n % 2:
            judge(session, (0.5, 0.5))
    with django_assert_max_num_queries(len(few.captured_queries)):
        lobby = lobby_for(person)
    assert len(lobby.your_turn) + len(lobby.waiting) == 12
