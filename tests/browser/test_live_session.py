"""Whole sessions played by people in real browsers, with no reload: three browser contexts
(judge, debater A, debater B) on the live ASGI server; quotes are selected with the mouse in the
story; every page follows the others' moves over its WebSocket."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.factories import make_consultancy, make_debate, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw"
CONTINUE = "Continue: every judge turn but the last costs 0.05"


def people(*roles: str) -> dict:
    return {role: make_user(f"{role}-{make_user().pk}") for role in roles}


def open_room(new_page, user, session_id: int, width: int = 1280, height: int = 900) -> Page:
    page = new_page(width, height)
    log_in(page, user.username, PASSWORD)
    page.goto(f"/sessions/{session_id}/")
    expect(page.locator("#turn-status")).to_be_visible()
    page.wait_for_function("() => document.querySelector('[ws-connect]') !== null")
    page.wait_for_timeout(300)  # let the socket open before others move
    return page


def select_in_story(page: Page, fragment: str) -> None:
    """Drag the mouse across ``fragment`` in the story, as a person would."""
    box = page.evaluate(
        """(fragment) => {
            for (const p of document.querySelectorAll('#passage p')) {
                const at = p.textContent.indexOf(fragment);
                if (at < 0) continue;
                p.scrollIntoView({block: 'center'});
                const node = p.firstChild, range = document.createRange();
                range.setStart(node, at); range.setEnd(node, at + 1);
                const first = range.getBoundingClientRect();
                const stop = at + fragment.length;
                range.setStart(node, stop - 1); range.setEnd(node, stop);
                const last = range.getBoundingClientRect();
                return {x1: first.left + 1, y1: first.top + first.height / 2,
                        x2: last.right - 1, y2: last.top + last.height / 2};
            }
            return null;
        }""",
        fragment,
    )
    assert box, f"{fragment!r} is not in the story on this page"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()
    assert page.evaluate("() => window.getSelection().toString()") == fragment


def type_in_editor(page: Page, text: str) -> None:
    """Type at the end of the speech editor, as a person would."""
    editor = page.locator("#draft-editor")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def speak(page: Page, before: str, fragment: str | None = None, after: str = "") -> None:
    # As a person would: wait until the page says it is your turn (the push that says so moves
    # the layout, and a selection dragged meanwhile would miss its words).
    expect(page.locator("#turn-status")).to_contain_text("write your speech")
    type_in_editor(page, before)
    if fragment:
        select_in_story(page, fragment)
        page.get_by_role("button", name="Quote selection").click()
        expect(page.locator("#draft-editor .quote-chip .quote-text").last).to_have_text(fragment)
    if after:
        type_in_editor(page, after)
    if fragment:
        expect(page.locator("#draft-preview mark.quote")).to_have_text(fragment)
    page.get_by_role("button", name="Submit speech").click()
    expect(page.locator("#draft")).to_have_value("")
    expect(page.locator("#draft-editor")).to_have_text("")


def judge_turn(page: Page, percent_a: int, note: str, end: bool = False) -> None:
    expect(page.get_by_role("button", name=CONTINUE)).to_be_enabled()
    page.locator('input[type=number][name="p0"]').fill(str(percent_a))
    page.locator('input[type=number][name="p0"]').dispatch_event("input")
    expect(page.locator('input[name="p1"]')).to_have_value(str(100 - percent_a))
    page.locator("#judge-text").fill(note)
    if end:
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="End with these probabilities").click()
    else:
        page.get_by_role("button", name=CONTINUE).click()


def test_a_whole_debate_in_three_browsers(new_page, screenshot):
    seats = off_loop(people, "judge", "debater_a", "debater_b")
    session = off_loop(make_debate, **seats)
    judge = open_room(new_page, seats["judge"], session.pk)
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    expect(a.locator("#turn-status")).to_contain_text("Waiting for the judge")
    expect(a.get_by_role("button", name="Submit speech")).to_be_disabled()

    judge_turn(judge, 50, "Show me the counts.")
    expect(a.locator("#turn-status")).to_contain_text("Your turn")  # pushed, no reload
    expect(a.locator(".judge-text")).to_have_text("Show me the counts.")

    speak(a, "The inspector decided: ", "the law named every vessel that carried passengers")
    expect(a.locator("#turn-status")).to_contain_text("Waiting for the other debater")
    expect(judge.locator("#transcript")).not_to_contain_text("The inspector decided")
    expect(b.locator("#transcript")).not_to_contain_text("The inspector decided")

    speak(b, "Only ships count: ", "seven ships passed the point")
    expect(judge.locator("#transcript mark.quote")).to_have_count(2)
    expect(judge.locator("#transcript")).to_contain_text("The inspector decided")
    expect(judge.locator("#quotes-panel li")).to_have_count(2)
    expect(judge.locator("#passage")).to_have_count(0)

    judge_turn(judge, 60, "B, what about the ferry?")
    speak(a, "Marta's count included the ferry: ", "counted the ferry that her father refused")
    speak(b, "A ferry is not a ship.")
    expect(judge.locator("#transcript .speech")).to_have_count(4)
    screenshot(judge, "judge-room")
    screenshot(a, "debater-room")

    judge_turn(judge, 80, "A wins.", end=True)
    for page in (judge, a, b):
        expect(page.locator("#result")).to_contain_text("The correct answer was A")
        expect(page.locator("#judge-form, #speech-form")).to_be_hidden()
    expect(judge.locator(".judge-score")).to_have_text("-0.42")  # log2(0.8) - 2 * 0.05
    expect(judge.locator("#result svg polyline")).to_have_count(2)
    screenshot(judge, "judge-room-finished")


def test_a_whole_consultancy_in_two_browsers(new_page, screenshot):
    seats = off_loop(people, "judge", "consultant")
    session = off_loop(make_consultancy, consultant_position=1, **seats)
    judge = open_room(new_page, seats["judge"], session.pk)
    consultant = open_room(new_page, seats["consultant"], session.pk)
    expect(consultant.locator(".answers .own")).to_have_count(1)

    judge_turn(judge, 50, "Convince me.")
    speak(consultant, "The keeper was right: ", "seven ships passed the point", " and no more.")
    expect(judge.locator("#transcript mark.quote")).to_have_text("seven ships passed the point")
    screenshot(consultant, "consultant-room")
    judge_turn(judge, 30, "Not convinced yet.")
    speak(consultant, "Nothing in the story says otherwise.")
    judge_turn(judge, 90, "The ferry carried passengers.", end=True)
    for page in (judge, consultant):
        expect(page.locator("#result")).to_contain_text("The correct answer was A")


def test_a_move_out_of_turn_is_refused_in_the_page(new_page):
    seats = off_loop(people, "judge", "debater_a", "debater_b")
    session = off_loop(make_debate, **seats)
    a = open_room(new_page, seats["debater_a"], session.pk)
    a.allowed_errors = [409]  # the refusal is the point
    # Force the disabled button and submit anyway: the server refuses, the page says why.
    type_in_editor(a, "Too early.")
    a.evaluate("() => document.querySelector('[data-needs=may-speak]').disabled = false")
    a.get_by_role("button", name="Submit speech").click()
    expect(a.locator("#speech-form .errors")).to_have_text("It is not your turn.")
    expect(a.locator("#draft-editor")).to_have_text("Too early.")  # nothing written is lost
    assert off_loop(lambda: session.rounds.count()) == 0
