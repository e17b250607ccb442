"""A write that cannot get the database in time is a 503 saying to try again, never a 500, and
nothing is saved: with the real SQLite lock held by another writer, and with the error as
PostgreSQL's pool would raise it."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import OperationalError, connection
from django.test import Client

from debate.models import Speech
from debate.protocol import Role
from tests.factories import judge, make_debate, seat

pytestmark = pytest.mark.django_db(transaction=True)


def debater_a(session) -> Client:
    client = Client()
    client.force_login(seat(session, Role.DEBATER_A).user)
    return client


def speech_post(session, client: Client | None = None, **headers):
    client = client or debater_a(session)
    return client.post(f"/sessions/{session.pk}/speech", {"text": "My opening."}, headers=headers)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite write lock")
def test_a_move_while_another_writer_holds_sqlite_is_a_503_and_saves_nothing():
    session = make_debate()
    judge(session, (0.5, 0.5))
    options = connection.settings_dict["OPTIONS"]
    saved_timeout = options.get("timeout")
    client = debater_a(session)
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        connection.close()
        options["timeout"] = 0.2  # the busy timeout, short for the test
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        response = speech_post(session, client)
        other.execute("ROLLBACK")
    finally:
        other.close()
        connection.close()
        options["timeout"] = saved_timeout
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "The platform is busy" in response.content.decode()
    assert not Speech.objects.exists()
    assert speech_post(session, client).status_code in {200, 302}  # the lock is free: it saves
    assert Speech.objects.count() == 1


def test_an_exhausted_pool_in_an_htmx_form_is_a_503_fragment(monkeypatch):
    session = make_debate()
    judge(session, (0.5, 0.5))

    def busy(**kwargs):
        raise OperationalError("couldn't get a connection after 30.00 sec")

    monkeypatch.setattr("debate.views.speech_submit", busy)
    response = speech_post(session, HX_Request="true")
    assert response.status_code == 503
    body = response.content.decode()
    assert "Nothing was saved" in body and "<html" not in body


def test_other_database_errors_are_not_hidden(monkeypatch):
    session = make_debate()
    judge(session, (0.5, 0.5))

    def broken(**kwargs):
        raise OperationalError("no such table: debate_speech")

    monkeypatch.setattr("debate.views.speech_submit", broken)
    with pytest.raises(OperationalError):
        speech_post(session)


def test_the_busy_answer_is_plain_text_when_its_page_cannot_be_drawn(monkeypatch):
    session = make_debate()
    judge(session, (0.5, 0.5))

    def busy(**kwargs):
        raise OperationalError("database is locked")

    def no_page(*args, **kwargs):
        raise ValueError("The file 'css/platform.css' could not be found")  # no collectstatic

    monkeypatch.setattr("debate.views.speech_submit", busy)
    monkeypatch.setattr("config.busy_database.render_to_string", no_page)
    response = speech_post(session)
    assert response.status_code == 503 and response["Content-Type"].startswith("text/plain")
    assert "nothing was saved" in response.content.decode()
