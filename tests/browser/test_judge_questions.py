"""Interactive debate in a real browser (issue 16): under rules with judge questions on, the
judge's form has one question box per debater, named by seat and answer; a refused question
keeps everything typed; after Continue each debater's room shows, pushed, the question addressed
to it above its speech box, until it has answered in its speech; the transcript shows the
judge's questions to everyone. Every control of each form is pressed in each state."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import off_loop
from tests.browser.test_live_session import CONTINUE, open_room, people, speak
from tests.factories import make_debate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

END = "End with these probabilities"
TO_A = "Question to Debater A (arguing A)"
TO_B = "Question to Debater B (arguing B)"


def questions_debate():
    from debate.models import Rules
    from debate.services import paper_rules

    paper = paper_rules("debate")
    rules = Rules.objects.create(
        name="paper-debate with judge questions",
        structure={**paper.structure, "judge_questions": True},
        scoring=paper.scoring,
    )
    seats = people("judge", "debater_a", "debater_b")
    return make_debate(rules=rules, **seats), seats


def probabilities(page: Page, percent_a: int) -> None:
    slider = page.locator('input[type=range][data-prob="0"]')
    slider.evaluate("(el, v) => { el.value = v; }", str(percent_a + 1))
    slider.dispatch_event("input")
    field = page.locator('input[type=number][name="p0"]')
    field.fill(str(percent_a))
    field.dispatch_event("input")
    field.dispatch_event("change")
    expect(page.locator('input[type=number][name="p1"]')).to_have_value(str(100 - percent_a))


def test_the_judge_asks_each_debater_and_each_answers(new_page, screenshot):
    session, seats = off_loop(questions_debate)
    judge = open_room(new_page, seats["judge"], session.pk)
    judge.allowed_errors = [422]  # the refused question is part of the test
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    to_a, to_b = judge.locator("#question-debater_a"), judge.locator("#question-debater_b")
    expect(judge.locator('label[for="question-debater_a"]')).to_contain_text(TO_A)
    expect(judge.locator('label[for="question-debater_b"]')).to_contain_text(TO_B)
    for page in (a, b):
        expect(page.locator("#judge-question")).to_be_hidden()
        expect(page.locator("#question-debater_a")).to_have_count(0)  # only the judge asks

    # The prior, with a question too long: refused with the reason, everything typed kept.
    probabilities(judge, 50)
    judge.locator("#judge-text").fill("Tell me what happened.")
    to_a.fill("x" * 751)
    to_b.fill("What does the story say about the ship?")
    expect(judge.locator('[data-counter-for="question-debater_a"]')).to_contain_text("751")
    judge.get_by_role("button", name=CONTINUE).click()
    expect(judge.locator("#judge-form .errors")).to_have_text(
        "Your question to debater A has 751 characters; the limit is 750."
    )
    expect(to_a).to_have_value("x" * 751)
    expect(to_b).to_have_value("What does the story say about the ship?")
    expect(judge.locator("#judge-text")).to_have_value("Tell me what happened.")
    assert off_loop(lambda: session.judgments.count()) == 0
    to_a.fill("Why should I believe your answer?")
    judge.get_by_role("button", name=CONTINUE).click()
    expect(judge.locator("#turn-status")).to_contain_text("Waiting for")
    expect(to_a).to_have_value("")  # the form is fresh for the next turn
    transcript = judge.locator("#transcript")
    expect(transcript).to_contain_text(f"{TO_A}: Why should I believe your answer?")
    expect(transcript).to_contain_text(f"{TO_B}: What does the story say about the ship?")

    # Pushed to each debater: its own question above its speech box, both in the transcript.
    expect(a.locator("#judge-question")).to_contain_text("Why should I believe your answer?")
    expect(b.locator("#judge-question")).to_contain_text("What does the story say about the ship?")
    expect(a.locator("#judge-question")).not_to_contain_text("ship")
    expect(a.locator("#transcript")).to_contain_text(f"{TO_A} (you): Why should I believe")
    expect(a.locator("#transcript")).to_contain_text(f"{TO_B}: What does the story say")
    screenshot(a, "judge-question-to-debater-a")
    speak(a, "Because the story says so.")
    expect(a.locator("#judge-question")).to_be_hidden()  # answered
    expect(b.locator("#judge-question")).to_be_visible()  # simultaneous: not yet B's answer
    speak(b, "The ship is never mentioned.")
    expect(b.locator("#judge-question")).to_be_hidden()

    # The next judge turn: a question to B only, then B alone has one waiting.
    expect(judge.locator("#turn-status")).to_contain_text("Your turn: give your probabilities")
    expect(judge.locator("#transcript")).to_contain_text("The ship is never mentioned.")
    probabilities(judge, 60)
    judge.locator("#judge-text").fill("Go on.")
    to_b.fill("Then where is the ship?")
    judge.get_by_role("button", name=CONTINUE).click()
    expect(judge.locator("#turn-status")).to_contain_text("Waiting for")
    expect(b.locator("#judge-question")).to_contain_text("Then where is the ship?")
    expect(a.locator("#judge-question")).to_be_hidden()
    speak(a, "A again.")
    speak(b, "Nowhere; that is my point.")
    expect(b.locator("#judge-question")).to_be_hidden()

    # The end: a question typed with End is not kept (nobody is left to answer it).
    expect(judge.locator("#turn-status")).to_contain_text("Your turn: give your probabilities")
    probabilities(judge, 70)
    to_a.fill("A last one?")
    judge.once("dialog", lambda dialog: dialog.accept())
    judge.get_by_role("button", name=END).click()
    expect(judge.locator("#result")).to_contain_text("The correct answer was A")
    for page in (a, b):
        expect(page.locator("#result")).to_contain_text("The correct answer was A")
        expect(page.locator("#judge-question")).to_be_hidden()
    assert off_loop(lambda: list(session.judgments.values_list("questions", flat=True))) == [
        {
            "debater_a": "Why should I believe your answer?",
            "debater_b": "What does the story say about the ship?",
        },
        {"debater_b": "Then where is the ship?"},
        {},
    ]
