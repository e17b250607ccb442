"""The feedback survey in Chromium, as a judge fills it in: ratings in a row per debater, text
full width, required questions marked, an error beside the question left out, what was chosen
kept, and the whole survey within a scroll or two of a laptop screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.factories import make_debate, make_user, play_to_end

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def finished_debate() -> int:
    session = make_debate(
        judge=make_user("jude"), debater_a=make_user("ada"), debater_b=make_user("bo")
    )
    return play_to_end(session, (0.7, 0.3)).pk


def test_a_judge_fills_in_the_survey(new_page, screenshot):
    session_id = off_loop(finished_debate)
    page = new_page()
    page.allowed_errors = [422]  # the survey sent with an answer missing
    log_in(page, "jude", "pw")
    page.goto(f"/sessions/{session_id}/survey")
    # A scroll or two on a 1280 x 900 screen.
    height, screen = page.evaluate(
        "() => [document.documentElement.scrollHeight, window.innerHeight]"
    )
    assert height <= 3 * screen, f"the survey is {height / screen:.1f} screens long"
    screenshot(page, "survey")

    clarity = page.locator("fieldset", has_text="How clear was each debater's argument?")
    rows = clarity.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th")).to_have_text("Debater A")
    expect(rows.nth(1).locator("th")).to_have_text("Debater B")
    # The five ratings of one debater sit side by side in one row.
    tops = [rows.nth(0).locator("label").nth(i).bounding_box()["y"] for i in range(5)]
    assert max(tops) - min(tops) < 2
    rows.nth(0).get_by_label("4").check()
    rows.nth(1).get_by_label("2").check()
    # Text areas span the form.
    reason = page.get_by_label("Why do you think the session ended the way it did?")
    form_width = page.locator("form.survey").bounding_box()["width"]
    assert reason.bounding_box()["width"] > 0.85 * form_width
    expect(page.locator(".question", has=reason).locator(".required")).to_be_visible()

    page.get_by_role("button", name="Submit the survey").click()
    expect(page.locator("p.errors[role=alert]")).to_contain_text("Some answers are missing")
    left_out = page.locator(".question.has-error")
    expect(left_out).to_have_count(1)
    expect(left_out).to_contain_text("Why do you think the session ended the way it did?")
    expect(left_out.locator(".field-error")).to_have_text("This field is required.")
    # What was chosen is still chosen.
    clarity = page.locator("fieldset", has_text="How clear was each debater's argument?")
    expect(clarity.locator("tbody tr").nth(0).get_by_label("4")).to_be_checked()
    expect(clarity.locator("tbody tr").nth(1).get_by_label("2")).to_be_checked()
    screenshot(page, "survey-error")

    page.get_by_label("Why do you think the session ended the way it did?").fill("B had no quote.")
    page.get_by_role("button", name="Submit the survey").click()
    expect(page.locator(".identities")).to_contain_text("ada")
