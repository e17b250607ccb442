"""The judge's round rules in a real browser (issue 16): under rules that ask for two speech rounds
before the judge may end, and one more round after a swing of over 20 points, the judge's room
states the rule and how many rounds are to go (kept current by the pushes that follow the
debaters' speeches), has no working End until the rule allows it, shows the protocol's reason
when an end is forced anyway, disables End while the typed probabilities swing too far, and
ends once the rule allows. Every control of the judge's form is pressed in each state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import off_loop
from tests.browser.test_live_session import CONTINUE, open_room, people, speak
from tests.factories import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

END = "End with these probabilities"


def ruled_debate():
    from debate.models import Rules
    from debate.services import paper_rules

    paper = paper_rules("debate")
    rules = Rules.objects.create(
        name="paper-debate, two rounds before the end, swings of 20 points",
        structure={
            **paper.structure,
            "min_speech_rounds_before_end": 2,
            "end_blocked_after_swing": 0.2,
        },
        scoring=paper.scoring,
    )
    seats = people("judge", "debater_a", "debater_b")
    return make_debate(rules=rules, **seats), seats


def set_probability(page: Page, percent_a: int) -> None:
    """Type A's probability as a person would (B follows), and leave the field."""
    field = page.locator('input[type=number][name="p0"]')
    field.fill(str(percent_a))
    field.dispatch_event("input")
    field.dispatch_event("change")
    expect(page.locator('input[type=number][name="p1"]')).to_have_value(str(100 - percent_a))


def slide_probability(page: Page, percent_a: int) -> None:
    """Move A's slider (the range input), as a person dragging it would."""
    slider = page.locator('input[type=range][data-prob="0"]')
    slider.evaluate("(el, v) => { el.value = v; }", str(percent_a))
    slider.dispatch_event("input")
    expect(page.locator('input[type=number][name="p0"]')).to_have_value(str(percent_a))


def force_end(page: Page) -> None:
    """Press End though the page disabled it (a stale page, a crafted request): the server
    decides, and the form shows why it refused."""
    page.wait_for_timeout(400)  # the score preview a typed probability asks for has come back
    page.once("dialog", lambda dialog: dialog.accept())
    # Enabled and pressed in one go: a pushed fragment re-disables it when it settles.
    page.evaluate(
        "() => { const end = document.querySelector('[data-needs=may-end]');"
        " end.disabled = false; end.click(); }"
    )


def test_the_judge_sees_the_rule_cannot_end_before_it_and_ends_after(new_page, screenshot):
    session, seats = off_loop(ruled_debate)
    judge = open_room(new_page, seats["judge"], session.pk)
    judge.allowed_errors = [422]  # the refusals of a forced End are the point
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    status = judge.locator("#turn-status")
    end = judge.get_by_role("button", name=END)
    go_on = judge.get_by_role("button", name=CONTINUE)

    # The prior: the rule is stated, End does nothing, a forced End is refused with the reason.
    expect(status).to_contain_text("You may end after 2 speech rounds; 2 to go.")
    expect(status).to_contain_text("moves by more than 20 points from your last judgment")
    expect(end).to_be_disabled()
    expect(go_on).to_be_enabled()
    slide_probability(judge, 55)
    set_probability(judge, 50)
    judge.locator("#judge-text").fill("Tell me what happened.")
    force_end(judge)
    expect(judge.locator("#judge-form .errors")).to_have_text(
        "You can end the session only after hearing at least 2 rounds of speeches; 2 more to go."
    )
    expect(judge.locator("#judge-text")).to_have_value("Tell me what happened.")  # kept
    assert off_loop(lambda: session.judgments.count()) == 0
    judge.get_by_role("button", name=CONTINUE).click()
    expect(status).to_contain_text("Waiting for")

    # The openings arrive over the WebSocket: one round heard, one to go, End still off.
    speak(a, "A opens.")
    speak(b, "B opens.")
    expect(status).to_contain_text("Your turn: give your probabilities")
    expect(status).to_contain_text("You may end after 2 speech rounds; 1 to go.")
    expect(status).to_contain_text("(A 50%, B 50%)")
    expect(judge.locator("#transcript")).to_contain_text("B opens.")
    expect(end).to_be_disabled()
    screenshot(judge, "judge-round-rules-one-to-go")
    set_probability(judge, 60)
    force_end(judge)
    expect(judge.locator("#judge-form .errors")).to_have_text(
        "You can end the session only after hearing at least 2 rounds of speeches; 1 more to go."
    )
    expect(judge.locator('input[type=number][name="p0"]')).to_have_value("60")
    judge.locator("#judge-text").fill("Go on.")
    judge.get_by_role("button", name=CONTINUE).click()
    expect(status).to_contain_text("Waiting for")

    # Two rounds heard: End works, except while the probabilities swing by more than 20 points.
    speak(a, "A again.")
    speak(b, "B again.")
    expect(status).to_contain_text("You may end after 2 speech rounds; you have heard 2.")
    expect(status).to_contain_text("(A 60%, B 40%)")
    expect(end).to_be_enabled()
    expect(go_on).to_be_enabled()
    set_probability(judge, 90)
    expect(end).to_be_disabled()
    expect(judge.locator("#swing-hint")).to_be_visible()
    screenshot(judge, "judge-round-rules-swing")
    force_end(judge)
    expect(judge.locator("#judge-form .errors")).to_contain_text(
        "Your probability on A moved by 30 points since your last judgment"
    )
    expect(judge.locator("#judge-form .errors")).to_contain_text("one more round of speeches")
    slide_probability(judge, 75)
    expect(judge.locator("#swing-hint")).to_be_hidden()
    expect(end).to_be_enabled()
    assert off_loop(lambda: session.judgments.filter(end=True).count()) == 0
    judge.locator("#judge-text").fill("A has it.")
    judge.once("dialog", lambda dialog: dialog.accept())
    end.click()
    expect(judge.locator("#result")).to_contain_text("The correct answer was A")
    expect(status).to_contain_text("The session is over: ended by the judge")
    expect(status).not_to_contain_text("You may end after")
    expect(judge.locator("#judge-form")).to_be_hidden()
    for page in (a, b):
        expect(page.locator("#result")).to_contain_text("The correct answer was A")
        expect(page.locator("#turn-status")).not_to_contain_text(re.compile("You may end"))
    assert off_loop(lambda: list(session.judgments.values_list("end", flat=True))) == [
        False,
        False,
        True,
    ]
