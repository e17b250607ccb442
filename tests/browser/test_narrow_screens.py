"""The rooms on a tablet (768 px) and a phone (390 px): nothing scrolls sideways, and a debater
quotes and speaks and a judge judges as on a wide screen. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from debate.protocol import Role
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.browser.test_live_session import PASSWORD, judge_turn, open_room, people, speak
from tests.factories import make_debate
from tests.factories import speak as speak_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = {"tablet": (768, 1024), "phone": (390, 844)}


def assert_no_sideways_scroll(page: Page) -> None:
    wide, view = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert wide <= view, f"the page is {wide} px wide on a {view} px screen"


@pytest.mark.parametrize("screen", SCREENS, ids=list(SCREENS))
def test_a_debate_on_a_narrow_screen(new_page, screenshot, screen):
    width, height = SCREENS[screen]
    seats = off_loop(people, "judge", "debater_a", "debater_b")
    session = off_loop(make_debate, **seats)
    j = open_room(new_page, seats["judge"], session.pk, width, height)
    assert_no_sideways_scroll(j)
    judge_turn(j, 50, "Show me the counts.")
    a = open_room(new_page, seats["debater_a"], session.pk, width, height)
    expect(a.locator("#turn-status")).to_contain_text("write your speech")
    assert_no_sideways_scroll(a)
    speak(a, "The inspector: ", "seven ships passed the point", " and none stopped.")
    assert_no_sideways_scroll(a)
    screenshot(a, f"debater-room-{screen}")
    off_loop(speak_now, session, Role.DEBATER_B, "The ferry is no ship.")
    j.reload()  # that move was made outside the server, which pushes only its own changes
    expect(j.locator("#transcript")).to_contain_text("The ferry is no ship.")
    expect(j.get_by_role("button", name="End with these probabilities")).to_be_enabled()
    assert_no_sideways_scroll(j)
    screenshot(j, f"judge-room-{screen}")
    judge_turn(j, 80, "Convinced.", end=True)
    expect(j.locator("#result")).to_contain_text("The correct answer was")
    assert_no_sideways_scroll(j)
    home = new_page(width, height)
    log_in(home, seats["debater_a"].username, PASSWORD)
    expect(home.locator("#lobby")).to_contain_text(f"#{session.pk}")
    assert_no_sideways_scroll(home)
    screenshot(home, f"lobby-{screen}")
