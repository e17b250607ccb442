"""A judgeless debate in a real browser: the two debaters vote on ending after the openings (one
goes on, so a sequential round follows), then both vote to end and it ends by agreement; a timed
offline judge then begins, reads the whole transcript at once and gives one final judgment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from debate.judgments import offline_judge_assign
from debate.protocol import Role
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.browser.test_live_session import type_in_editor
from tests.factories import make_judgeless_debate, make_user, speak

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def openings_given() -> int:
    session = make_judgeless_debate(debater_a=make_user("ada"), debater_b=make_user("bo"))
    speak(session, Role.DEBATER_A, "Opening from A.")
    speak(session, Role.DEBATER_B, "Opening from B.")
    make_user("tim")
    return session.pk


def test_debaters_vote_on_ending_and_a_timed_offline_judge_judges_once(new_page, screenshot):
    session_id = off_loop(openings_given)
    ada, bo = new_page(), new_page()
    log_in(ada, "ada", password="pw")
    log_in(bo, "bo", password="pw")
    for page in (ada, bo):
        page.goto(f"/sessions/{session_id}/")
        expect(page.locator("#turn-status")).to_contain_text("vote on ending the debate")
        expect(page.get_by_role("button", name="Submit speech")).to_be_disabled()

    ada.get_by_role("button", name="Vote to end the debate").click()
    expect(ada.locator("#turn-status")).to_contain_text("Waiting for the other debater's vote")
    expect(ada.get_by_role("button", name="Vote to go on")).to_be_disabled()
    expect(bo.locator("#transcript")).not_to_contain_text("Votes on ending")  # A's vote is secret
    screenshot(bo, "judgeless-vote")
    bo.get_by_role("button", name="Vote to go on").click()
    # The vote is over: both see both votes, and A speaks next.
    for page in (ada, bo):
        expect(page.locator("#transcript .votes").first).to_contain_text("Debater A: end")
        expect(page.locator("#transcript .votes").first).to_contain_text("Debater B: go on")
    expect(ada.locator("#turn-status")).to_contain_text("write your speech")
    type_in_editor(ada, "A second time, then.")
    ada.get_by_role("button", name="Submit speech").click()
    expect(bo.locator("#turn-status")).to_contain_text("write your speech")
    type_in_editor(bo, "And B again.")
    bo.get_by_role("button", name="Submit speech").click()
    bo.get_by_role("button", name="Vote to end the debate").click()
    ada.get_by_role("button", name="Vote to end the debate").click()
    for page in (ada, bo):
        expect(page.locator("#turn-status")).to_contain_text(
            "The session is over: ended by agreement"
        )

    off_loop(
        lambda: offline_judge_assign(session=_session(session_id), user=_user("tim"), mode="timed")
    )
    tim = new_page()
    tim.on("dialog", lambda dialog: dialog.accept())
    log_in(tim, "tim", password="pw")
    tim.goto(f"/sessions/{session_id}/")
    expect(tim.locator(".begin-judging")).to_contain_text("The time you take")
    expect(tim.locator("#transcript")).not_to_contain_text("Opening from A.")
    tim.get_by_role("button", name="Begin judging").click()
    transcript = tim.locator("#transcript")
    expect(transcript).to_contain_text("Opening from A.")
    expect(transcript).to_contain_text("And B again.")  # everything at once
    expect(transcript).not_to_contain_text("Votes on ending")  # never the debaters' votes
    expect(tim.get_by_role("button", name=re.compile("^Continue"))).to_be_disabled()
    tim.locator("input[name=p0]").fill("70")
    tim.locator("input[name=p1]").fill("30")
    tim.get_by_role("button", name="End with these probabilities").click()
    expect(tim.locator("#result")).to_contain_text("The correct answer was")
    screenshot(tim, "judgeless-timed-offline-judge")


def _session(session_id: int):
    from debate.models import Session

    return Session.objects.get(pk=session_id)


def _user(name: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)
