"""Offline judging end to end in a real browser: staff assign an offline judge to a finished
debate from its page; the offline judge reads the transcript round by round, as the live judge
saw it, gives probabilities after each round and a final judgment, sees the result and score,
fills in the survey and only then sees who held the seats."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from debate.demo import demo_data_create
from debate.protocol import Role
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.factories import judge, make_debate, make_user, speak

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def finished_debate() -> int:
    session = make_debate(
        debater_a=make_user("ada"), debater_b=make_user("bo"), judge=make_user("jo")
    )
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Opening from A.")
    speak(session, Role.DEBATER_B, "Opening from B.")
    judge(session, (0.6, 0.4), text="Tell me more.")
    speak(session, Role.DEBATER_A, "Rebuttal from A.")
    speak(session, Role.DEBATER_B, "Rebuttal from B.")
    judge(session, (0.9, 0.1), end=True)
    make_user("olive")  # password "pw"
    return session.pk


def give(page, first: str, second: str, action: str) -> None:
    page.locator("input[name=p0]").fill(first)
    page.locator("input[name=p1]").fill(second)
    button = "End with these probabilities" if action == "End" else re.compile("^Continue")
    page.get_by_role("button", name=button).click()


def test_an_offline_judge_is_assigned_and_judges_round_by_round(new_page, screenshot):
    off_loop(demo_data_create)
    session_id = off_loop(finished_debate)
    staff = new_page()
    log_in(staff, "admin")
    staff.goto(f"/sessions/{session_id}/")
    staff.get_by_label("Assign an offline judge (username)").fill("olive")
    expect(staff.get_by_role("radio", name=re.compile("stepped"))).to_be_checked()
    staff.get_by_role("radio", name=re.compile("timed")).check()
    staff.get_by_role("radio", name=re.compile("stepped")).check()
    staff.get_by_role("button", name="Assign").click()
    expect(staff.get_by_text("olive will judge this session offline (stepped).")).to_be_visible()

    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "End the session ...? This is final."
    log_in(page, "olive", password="pw")
    page.goto(f"/sessions/{session_id}/")
    expect(page.locator(".kicker")).to_contain_text("you are an offline judge")
    transcript = page.locator("#transcript")
    expect(transcript).not_to_contain_text("Opening from A.")
    expect(page.locator("#passage")).to_have_count(0)
    expect(page.locator("#judge-form")).to_have_count(0)
    expect(page.locator("#turn-status")).to_contain_text("press “Begin judging”")
    page.get_by_role("button", name="Begin judging").click()
    expect(page.locator("#judge-form")).to_be_visible()
    give(page, "50", "50", "Continue")
    expect(transcript).to_contain_text("Opening from A.")
    expect(transcript).not_to_contain_text("Rebuttal from A.")
    expect(transcript).not_to_contain_text("Tell me more.")  # never the live judge's notes
    give(page, "40", "60", "Continue")
    expect(transcript).to_contain_text("Rebuttal from B.")
    screenshot(page, "offline-judge-reading")
    give(page, "80", "20", "End")
    result = page.locator("#result")
    expect(result).to_contain_text("The correct answer was")
    expect(result.locator(".judge-score")).to_be_visible()
    expect(result).not_to_contain_text("Who held the seats")
    page.get_by_role("link", name="Fill in the feedback survey").click()
    page.get_by_label("Why do you think the session ended the way it did?").fill("Clear rebuttal.")
    page.get_by_role("button", name="Submit the survey").click()
    expect(page.locator("#result")).to_contain_text("Who held the seats")
    expect(page.locator(".identities")).to_contain_text("ada")
    screenshot(page, "offline-judge-finished")
