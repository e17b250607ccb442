"""The Content Security Policy holds in a real browser: a script or style that found its way into
a page (an injected element) does not run, and the platform's own pages, the room's WebSocket and
the admin need nothing the policy forbids (every browser test fails on a violation)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from debate.demo import demo_data_create
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_injected_inline_script_and_style_do_not_run(new_page):
    off_loop(demo_data_create)
    page = new_page()
    page.expected_console_errors = ["CSP violation", "Content Security Policy directive"]
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation",
                (event) => seen.push(event.violatedDirective));
            window.injected = false;
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
            const style = document.createElement("style");
            style.textContent = "body { display: none }";
            document.head.appendChild(style);
            setTimeout(() => resolve({injected: window.injected, seen}), 300);
        })"""
    )
    assert ran["injected"] is False
    assert any(d.startswith("script-src") for d in ran["seen"])
    assert any(d.startswith("style-src") for d in ran["seen"])
    expect(page.locator("body")).to_be_visible()


def test_the_admin_pages_work_under_the_policy(new_page):
    off_loop(demo_data_create)
    page = new_page()
    log_in(page, "admin")
    for path in [
        "/admin/",
        "/admin/debate/session/",
        "/admin/debate/rules/add/",
        "/admin/debate/rules/",
        "/admin/auth/user/1/change/",
    ]:
        page.goto(path)
        expect(page.locator("#content")).to_be_visible()
    page.goto("/admin/debate/session/")
    page.locator("#changelist-search input[type=text]").fill("1")
    page.locator("#changelist-search input[type=submit]").click()
    expect(page.locator("#content")).to_be_visible()
    # A session's history is read-only; its seat's page gives the seat to someone else.
    page.goto("/admin/debate/session/")
    page.locator("#result_list tbody tr .field-id a").first.click()
    expect(page.get_by_role("link", name="View on site")).to_be_visible()
    page.locator("#seats-group a.inlineviewlink, #seats-group a.inlinechangelink").first.click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_be_visible()
