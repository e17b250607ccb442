"""Failed logins are limited: a password cannot be guessed by trying many, on the site's login
page or the admin's, and a person who mistyped a few times is told what to do."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def attempt(client: Client, username: str, password: str, url: str = "/accounts/login/"):
    return client.post(url, {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one():
    make_user("ada")
    client = Client()
    for _ in range(5):
        response = attempt(client, "ada", "wrong")
        assert response.status_code == 200
        assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    locked = attempt(client, "ada", "pw")
    assert locked.status_code == 429
    assert "Too many failed logins. Try again in 15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_clears_the_count():
    make_user("bea")
    client = Client()
    for _ in range(4):
        attempt(client, "bea", "wrong")
    assert attempt(client, "bea", "pw").status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "bea", "wrong").status_code == 200
    assert attempt(client, "bea", "pw").status_code == 302


def test_the_lock_ends_after_the_lockout(settings, monkeypatch):
    make_user("cy")
    client = Client()
    for _ in range(5):
        attempt(client, "cy", "wrong")
    assert attempt(client, "cy", "pw").status_code == 429
    import time

    later = time.time() + settings.LOGIN_LOCKOUT_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert attempt(client, "cy", "pw").status_code == 302


def test_one_address_trying_many_usernames_is_locked(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    make_user("dee")
    client = Client()
    for n in range(8):
        attempt(client, f"nobody{n}", "guess")
    assert attempt(client, "dee", "pw").status_code == 429
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    assert attempt(other_address, "dee", "pw").status_code == 302


def test_the_admin_login_is_limited_too():
    make_user("staffer", is_staff=True)
    client = Client()
    for _ in range(5):
        assert attempt(client, "staffer", "wrong", "/admin/login/").status_code == 200
    locked = attempt(client, "staffer", "pw", "/admin/login/")
    assert locked.status_code == 429
    assert "ask the study staff to reset your password" in locked.content.decode()
    assert "_auth_user_id" not in client.session
