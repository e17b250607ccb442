"""The admin writes no history the rules forbid: a session's rounds, speeches, quotes, judgments
and seats' roles are read-only there; giving a seat to someone else goes through the service,
with the same rules as creating a session, audited; each session links to its page."""

from __future__ import annotations

import pytest
from django.test import Client

from debate.models import AuditEvent, Judgment, PassageReading, Quote, Round, Seat, Speech
from debate.protocol import Role
from tests.factories import judge, make_debate, make_user, play_to_end, quote, seat, speak

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(make_user("chief", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def played():
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "A: " + quote(session, "the law"))
    speak(session, Role.DEBATER_B, "B speaks.")
    return session


def test_the_history_is_shown_but_never_changed_added_or_deleted(staff_client, played):
    rows = {
        "round": Round.objects.filter(session=played).first(),
        "speech": Speech.objects.filter(round__session=played).first(),
        "quote": Quote.objects.filter(speech__round__session=played).first(),
    }
    judgment = Judgment.objects.filter(session=played).first()
    urls = {f"/admin/debate/{name}/{row.pk}/": row for name, row in rows.items()}
    urls[f"/admin/debate/judgment/{judgment.pk}/"] = judgment
    urls[f"/admin/debate/session/{played.pk}/"] = played
    for base in urls:
        assert staff_client.get(base + "change/").status_code == 200, base
        assert staff_client.post(base + "change/", {}).status_code == 403, base
        assert staff_client.post(base + "delete/", {"post": "yes"}).status_code == 403, base
    for name in ("round", "speech", "quote", "session", "seat"):
        assert staff_client.get(f"/admin/debate/{name}/add/").status_code == 403, name
    assert staff_client.get("/admin/debate/judgment/add/").status_code == 403
    assert Speech.objects.filter(round__session=played).count() == 2


def test_each_session_links_to_its_page_on_the_site(staff_client, played):
    listing = staff_client.get("/admin/debate/session/").content.decode()
    assert f'href="/sessions/{played.pk}/"' in listing
    page = staff_client.get(f"/admin/debate/session/{played.pk}/change/").content.decode()
    assert "View on site" in page


def test_a_seat_is_given_to_someone_else_through_the_service(staff_client, played):
    debater = seat(played, Role.DEBATER_A)
    old, newcomer = debater.user, make_user("newcomer")
    url = f"/admin/debate/seat/{debater.pk}/change/"
    response = staff_client.post(
        url, {"user": newcomer.pk, "agent": "", "role": "judge", "answer_position": 1}
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    debater.refresh_from_db()
    assert debater.user == newcomer and debater.role == Role.DEBATER_A  # the role stays
    event = AuditEvent.objects.get(action="seat_holder_replace")
    assert event.before["user"] == old.pk and event.after["user"] == newcomer.pk
    # The speech stays the former holder's: the history is as it happened.
    assert Speech.objects.get(seat=debater).seat_id == debater.pk


def test_a_seat_goes_to_an_agent_offered_by_name_and_back_to_a_person(staff_client, played):
    """The admin offers the AI app's agents by name (debate imports none of it): giving a seat to
    one links the seat to that agent; giving it back to a person drops the link."""
    from llm_agents.models import Agent, SeatAgent

    agent = Agent.objects.create(name="admin-bot", provider="openai", model="m")
    debater = seat(played, Role.DEBATER_B)
    url = f"/admin/debate/seat/{debater.pk}/change/"
    assert '<option value="admin-bot">admin-bot</option>' in staff_client.get(url).content.decode()
    response = staff_client.post(url, {"user": "", "agent": "admin-bot"})
    assert response.status_code == 302, response.content.decode()[:1500]
    debater.refresh_from_db()
    assert debater.user is None and debater.ai_player == "admin-bot" and debater.is_ai
    assert SeatAgent.objects.get(seat=debater).agent == agent
    assert AuditEvent.objects.get(action="seat_holder_replace").after["agent"] == "admin-bot"
    person = make_user("back-again")
    assert staff_client.post(url, {"user": person.pk, "agent": ""}).status_code == 302
    debater.refresh_from_db()
    assert debater.user == person and debater.ai_player == "" and not debater.is_ai
    assert not SeatAgent.objects.filter(seat=debater).exists()


@pytest.mark.parametrize("problem", ["holds another seat", "read the story", "no holder"])
def test_a_seat_cannot_go_to_someone_the_rules_refuse(staff_client, played, problem):
    judge_seat = seat(played, Role.JUDGE)
    before = judge_seat.user_id
    if problem == "holds another seat":
        data, reason = {"user": seat(played, Role.DEBATER_B).user_id}, "two seats"
    elif problem == "read the story":
        reader = make_user("reader")
        PassageReading.objects.create(user=reader, passage=played.question.passage)
        data, reason = {"user": reader.pk}, "cannot judge this question"
    else:
        data, reason = {"user": ""}, "exactly one holder"
    response = staff_client.post(
        f"/admin/debate/seat/{judge_seat.pk}/change/", {"agent": "", **data}
    )
    assert response.status_code == 200 and reason in response.content.decode()
    assert Seat.objects.get(pk=judge_seat.pk).user_id == before
    assert not AuditEvent.objects.filter(action="seat_holder_replace").exists()


def test_saving_a_seat_unchanged_is_no_change(staff_client, played):
    judge_seat = seat(played, Role.JUDGE)  # this judge has judged this session already
    response = staff_client.post(
        f"/admin/debate/seat/{judge_seat.pk}/change/", {"user": judge_seat.user_id, "agent": ""}
    )
    assert response.status_code == 302


def test_staff_void_a_session_with_a_reason_and_it_takes_no_more_moves(staff_client, played):
    from debate.models import Session
    from debate.services import MoveRejected

    changelist = "/admin/debate/session/"
    asked = staff_client.post(changelist, {"action": "void", "_selected_action": [played.pk]})
    assert asked.status_code == 200 and "Void sessions" in asked.content.decode()
    refused = staff_client.post(
        changelist, {"action": "void", "_selected_action": [played.pk], "reason": "  "}
    )
    assert refused.status_code == 200 and Session.objects.get(pk=played.pk).voided_at is None
    done = staff_client.post(
        changelist,
        {"action": "void", "_selected_action": [played.pk], "reason": "The judge read the story."},
    )
    assert done.status_code == 302
    played.refresh_from_db()
    assert played.voided_at is not None and played.void_reason == "The judge read the story."
    assert AuditEvent.objects.get(action="session_void").after == {
        "reason": "The judge read the story."
    }
    with pytest.raises(MoveRejected, match="voided by the study staff"):
        judge(played, (0.6, 0.4))
    room = Client()
    room.force_login(seat(played, Role.JUDGE).user)
    page = room.get(f"/sessions/{played.pk}/").content.decode()
    assert "This session was voided by the study staff" in page
    assert "The judge read the story." in page


def test_a_void_finished_session_leaves_the_analysis_and_the_leaderboards():
    from debate.services import session_void
    from judging.analysis import AnalysisFilters, analysis_sessions
    from judging.leaderboards.selectors import leaderboards_get

    kept, voided = play_to_end(make_debate()), play_to_end(make_debate())
    session_void(session=voided, reason="A participant withdrew.")
    analysed = set(analysis_sessions(AnalysisFilters()).values_list("pk", flat=True))
    assert kept.pk in analysed and voided.pk not in analysed
    assert leaderboards_get().sessions == 1  # the kept one only


def test_a_void_session_is_over_in_the_lobby_and_its_notifications_close(played):
    from debate.models import Notification
    from debate.notifications import notifications_for_changes
    from debate.services import session_void
    from debate.visibility import lobby_for

    judge_user = seat(played, Role.JUDGE).user  # the judge's turn: both openings are in
    notifications_for_changes(played.pk)  # (the hook after each commit; none in this test)
    assert Notification.objects.filter(user=judge_user, done_at__isnull=True).exists()
    session_void(session=played, reason="Study error.")
    notifications_for_changes(played.pk)
    assert not Notification.objects.filter(session=played, done_at__isnull=True).exists()
    lobby = lobby_for(judge_user)
    assert not lobby.your_turn
    assert [e.outcome for e in lobby.finished] == ["voided: Study error."]


def test_the_exports_say_a_session_was_voided_and_why():
    import csv
    import io
    import json

    from debate.models import Session
    from debate.services import session_void
    from judging.export import export_sessions

    session = play_to_end(make_debate())
    session_void(session=session, reason="Consent withdrawn.")
    rows = Session.objects.filter(pk=session.pk)
    out = io.StringIO()
    export_sessions(sessions=rows, fmt="jsonl", out=out)
    assert json.loads(out.getvalue())["void_reason"] == "Consent withdrawn."
    out = io.StringIO()
    export_sessions(sessions=rows, fmt="csv", out=out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["void_reason"] == "Consent withdrawn."


def test_error_tags_are_shown_in_the_admin_and_set_on_the_sessions_page(staff_client):
    from judging.defaults import error_categories_ensure
    from judging.models import ErrorCategory, ErrorTag

    error_categories_ensure()
    assert staff_client.get("/admin/judging/errortag/add/").status_code == 403
    wrong = play_to_end(make_debate(), final=(0.2, 0.8))  # the correct answer is shown first
    category = ErrorCategory.objects.filter(active=True).first()
    staff_client.post(f"/sessions/{wrong.pk}/error-tags", {"categories": [category.pk]})
    tag = ErrorTag.objects.get(session=wrong)
    assert staff_client.get(f"/admin/judging/errortag/{tag.pk}/change/").status_code == 200
    assert staff_client.post(f"/admin/judging/errortag/{tag.pk}/change/", {}).status_code == 403
