"""A newcomer's first minute in a real browser: the home page, logging in with a demo login,
the admin site, and a WebSocket to a session the user holds, all on the live ASGI server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from debate.demo import DEMO_PASSWORD, demo_data_create
from debate.models import Seat
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".who")).to_have_text(username)


def test_home_page_login_and_admin(new_page, screenshot):
    off_loop(demo_data_create)
    page = new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="Debate and consultancy experiments")).to_be_visible()
    expect(page.locator(".counts dd").first).to_have_text("4")  # passages
    screenshot(page, "home")
    log_in(page, "admin")
    expect(page.locator(".who")).to_have_text("admin")
    page.get_by_role("link", name="Passages, questions, rules and people").click()
    page.get_by_role("link", name="Sessions").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(5)  # the demo's sessions
    screenshot(page, "admin-sessions")


def test_browser_websocket_receives_the_seats_own_view(new_page):
    off_loop(demo_data_create)
    session_id = off_loop(
        lambda: Seat.objects.filter(user__username="judy", role="judge").first().session_id
    )
    page = new_page()
    log_in(page, "judy")
    view = page.evaluate(
        """(id) => new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://${location.host}/ws/sessions/${id}/`);
            ws.onmessage = (event) => { resolve(JSON.parse(event.data).view); ws.close(); };
            ws.onclose = (event) => reject(new Error("closed " + event.code));
            setTimeout(() => reject(new Error("no message")), 10000);
        })""",
        session_id,
    )
    assert view["viewer_role"] == "judge"
    assert view["passage_text"] is None and view["correct_position"] is None
