"""Staff pages and the notification settings in Chromium, every control pressed: the lobby's
staff actions and seat holders, all sessions filtered and paged, a participant's history, the
scheduling page's reading mark, and a participant's Slack webhook saved and tested against a
local stub."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from debate.models import PassageReading
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.browser.test_lobby_data import sessions_for_staff
from tests.factories import make_user
from tests.slack_stub import OK, REVOKED, StubSlack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_find_sessions_and_people(new_page, screenshot):
    ids = off_loop(sessions_for_staff)
    page = new_page()
    log_in(page, "boss", "pw")
    nav = page.get_by_role("navigation", name="Staff actions")
    expect(nav.get_by_role("link", name="Create a session")).to_be_visible()
    latest = page.locator("#lobby section", has_text="Latest sessions (staff)")
    expect(latest.locator(".holders").first).to_contain_text("Debater A: ")
    screenshot(page, "staff-lobby")
    page.get_by_role("link", name="All 27 sessions, by status").click()
    expect(page.locator("#session-count")).to_have_text("27 sessions, page 1 of 2.")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator("#session-count")).to_have_text("27 sessions, page 2 of 2.")
    page.get_by_role("link", name="← Newer").click()
    page.get_by_label("Status").select_option("finished")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#session-count")).to_have_text("2 sessions.")
    expect(page.locator(".session-entry .outcome").first).to_contain_text("the judge was")
    page.get_by_label("Question or story contains").fill("no such words")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#session-count")).to_have_text("0 sessions.")
    page.get_by_label("Question or story contains").fill("")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Protocol").select_option("consultancy")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#session-count")).to_have_text("0 sessions.")
    screenshot(page, "all-sessions")
    page.goto("/sessions/")
    page.locator(".holders a", has_text="reader").first.click()
    expect(page.get_by_role("heading", name="History of reader")).to_be_visible()
    page.goto("/")
    page.get_by_role("navigation", name="Staff actions").get_by_role(
        "link", name="Schedule sessions"
    ).click()
    expect(page.get_by_role("heading", name="Mark a reading")).to_be_visible()
    page.locator("select[name=user]").select_option(label="newcomer")
    page.locator("select[name=passage]").select_option(index=1)
    page.get_by_label("Note").fill("read it in the pilot")
    page.get_by_role("button", name="Mark as read").click()
    expect(page.locator(".messages")).to_contain_text("newcomer is marked as having read")
    assert off_loop(lambda: PassageReading.objects.filter(user__username="newcomer").count()) == 1
    assert len(ids) == 27


def test_a_participant_connects_slack(new_page, screenshot):
    off_loop(make_user, "alice")
    page = new_page()
    page.allowed_errors = [422]  # a refused URL
    log_in(page, "alice", "pw")
    page.get_by_role("link", name="Notifications").click()
    field = page.get_by_label("Slack incoming-webhook URL")
    field.fill("https://example.org/not-slack")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("form .errors")).to_contain_text("Only Slack webhooks are accepted")
    with StubSlack(OK) as stub:
        page.get_by_label("Slack incoming-webhook URL").fill(stub.url())
        page.get_by_role("button", name="Save and post a test message").click()
        expect(page.locator(".messages")).to_contain_text("a test message was posted to Slack")
        assert stub.texts == ["Test from the debate platform: notifications will arrive here."]
    expect(page.get_by_label("Slack incoming-webhook URL")).to_have_value(stub.url())
    screenshot(page, "notification-settings")
    with StubSlack(REVOKED) as revoked:
        page.get_by_label("Slack incoming-webhook URL").fill(revoked.url())
        page.get_by_role("button", name="Save and post a test message").click()
        expect(page.locator(".messages")).to_contain_text("did not arrive")
    expect(page.locator("main")).to_contain_text("the last post failed")
    page.get_by_label("Slack incoming-webhook URL").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("no longer posted to Slack")


def test_staff_void_a_session_in_the_admin_and_its_room_says_so(new_page):
    from debate.demo import demo_data_create
    from debate.models import Session

    off_loop(demo_data_create)
    running = off_loop(
        lambda: Session.objects.exclude(status=Session.Status.FINISHED).order_by("pk").first()
    )
    page = new_page()
    log_in(page, "admin", "debate-demo")
    page.goto("/admin/debate/session/")
    page.locator(f"#result_list input[name=_selected_action][value='{running.pk}']").check()
    page.locator("select[name=action]").select_option("void")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_role("heading", name="Void sessions")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()  # back to the list, nothing voided
    expect(page.locator("#result_list")).to_be_visible()
    assert off_loop(lambda: Session.objects.get(pk=running.pk).voided_at) is None
    page.locator(f"#result_list input[name=_selected_action][value='{running.pk}']").check()
    page.locator("select[name=action]").select_option("void")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_label("Reason").fill("A participant withdrew.")
    page.get_by_role("button", name="Void them").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Voided: {running.pk}.")
    page.goto(f"/sessions/{running.pk}/")
    expect(page.locator("#turn-status")).to_contain_text(
        "This session was voided by the study staff: A participant withdrew."
    )
