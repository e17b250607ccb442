"""The admin writes no history the rules forbid: a session's rounds, speeches, quotes, judgments
and seats' roles are read-only there; giving a seat to someone else goes through the service,
with the same rules as creating a session, audited; each session links to its page."""

from __future__ import annotations

import pytest
from django.test import Client

from debate.models import AuditEvent, PassageReading, Quote, Round, Seat, Speech
from debate.protocol import Role
from judging.models import Judgment
from tests.factories import judge, make_debate, make_user, quote, seat, speak

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
    urls[f"/admin/judging/judgment/{judgment.pk}/"] = judgment
    urls[f"/admin/debate/session/{played.pk}/"] = played
    for base in urls:
        assert staff_client.get(base + "change/").status_code == 200, base
        assert staff_client.post(base + "change/", {}).status_code == 403, base
        assert staff_client.post(base + "delete/", {"post": "yes"}).status_code == 403, base
    for name in ("round", "speech", "quote", "session", "seat"):
        assert staff_client.get(f"/admin/debate/{name}/add/").status_code == 403, name
    assert staff_client.get("/admin/judging/judgment/add/").status_code == 403
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
