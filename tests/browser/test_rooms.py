"""The rooms as people use them, in Chromium: the controls that once spoiled data (taking back a
speech from a pushed fragment, an empty speech, ending without a confirmation, a judge who read
the story, offline work filed as finished), drafts that survive a reload, the quoting editor, the
judge's quotes panel and probability inputs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from debate.protocol import Role
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.browser.test_live_session import (
    CONTINUE,
    PASSWORD,
    open_room,
    people,
    select_in_story,
    speak,
    type_in_editor,
)
from tests.factories import judge, make_debate, make_question, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def debate_with_prior():
    seats = people("judge", "debater_a", "debater_b")
    session = make_debate(**seats)
    judge(session, (0.5, 0.5))
    return session, seats


def test_a_speech_is_taken_back_with_the_button_a_push_brought_and_returns_to_the_draft(
    new_page, screenshot
):
    session, seats = off_loop(debate_with_prior)
    a = open_room(new_page, seats["debater_a"], session.pk)
    speak(a, "My first try: ", "seven ships passed the point")
    # The page got the "Take back" form in a fragment pushed over its WebSocket.
    undo = a.get_by_role("button", name="Take back my speech")
    expect(undo).to_be_visible()
    undo.click()
    expect(a.locator(".messages")).to_contain_text("Your speech was taken back")
    expect(a.locator("#draft-editor")).to_contain_text("My first try:")
    expect(a.locator("#draft-editor .quote-chip .quote-text")).to_have_text(
        "seven ships passed the point"
    )
    assert off_loop(lambda: session.rounds.get(index=1).speeches.count()) == 0
    screenshot(a, "speech-taken-back")


def test_an_empty_speech_is_refused_with_the_reason_and_the_typing_kept(new_page):
    session, seats = off_loop(debate_with_prior)
    a = open_room(new_page, seats["debater_a"], session.pk)
    a.allowed_errors = [422]  # the refusal is the point
    type_in_editor(a, "   ")
    a.get_by_role("button", name="Submit speech").click()
    expect(a.locator("#speech-form .errors")).to_contain_text("Your speech is empty")
    assert off_loop(lambda: session.rounds.filter(index=1).exists()) is False


def test_ending_asks_for_a_confirmation_naming_both_answers(new_page):
    seats = off_loop(people, "judge", "debater_a", "debater_b")
    session = off_loop(make_debate, **seats)
    j = open_room(new_page, seats["judge"], session.pk)
    j.get_by_role("button", name=CONTINUE).click()
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    speak(a, "A says so.")
    speak(b, "B says not.")
    end = j.get_by_role("button", name="End with these probabilities")
    expect(end).to_be_enabled()
    j.locator('input[type=number][name="p0"]').fill("70")
    j.locator('input[type=number][name="p0"]').dispatch_event("change")
    messages: list[str] = []

    def dismiss(dialog):
        messages.append(dialog.message)
        dialog.dismiss()

    j.once("dialog", dismiss)
    end.click()
    j.wait_for_timeout(500)
    assert messages and "A 70%, B 30%" in messages[0] and "This is final" in messages[0]
    expect(j.locator("#result")).not_to_contain_text("The correct answer was")
    assert off_loop(lambda: session.judgments.filter(end=True).count()) == 0

    j.once("dialog", lambda dialog: dialog.accept())
    end.click()
    expect(j.locator("#result")).to_contain_text("The correct answer was")


def test_create_a_session_offers_only_eligible_judges_and_refuses_a_reader(new_page):
    def setup():
        question = make_question()
        from debate.models import PassageReading

        reader = make_user("story-reader")
        PassageReading.objects.create(user=reader, passage=question.passage)
        make_user("fresh-judge"), make_user("deb-a"), make_user("deb-b")
        make_user("staffer", is_staff=True, is_superuser=True)
        return question

    question = off_loop(setup)
    page = new_page()
    log_in(page, "staffer", PASSWORD)
    page.goto("/sessions/new/")
    page.get_by_label("Question").select_option(str(question.pk))
    details = page.locator(".not-offered")
    expect(details).to_contain_text("1 person is not offered as judge of this question")
    details.locator("summary").click()
    expect(details).to_contain_text("story-reader has read")
    judges = page.locator("#judge-field select")
    expect(judges.locator("option", has_text="story-reader")).to_have_count(0)
    judges.select_option(label="fresh-judge")
    page.get_by_label("Debater A").select_option(label="deb-a")
    page.get_by_label("Debater B").select_option(label="deb-b")
    page.get_by_role("button", name="Create session").click()
    expect(page.locator(".messages")).to_contain_text("created")
    expect(page.locator(".kicker")).to_contain_text("Debate")


def test_offline_work_is_the_judges_turn_in_the_lobby(new_page):
    def setup():
        session, _ = debate_with_prior()
        from tests.factories import speak as say

        say(session, Role.DEBATER_A, "One.")
        say(session, Role.DEBATER_B, "Two.")
        judge(session, (0.8, 0.2), end=True)
        from debate.judgments import offline_judge_assign

        offline_judge_assign(session=session, user=make_user("late-judge"))
        return session

    session = off_loop(setup)
    page = new_page()
    log_in(page, "late-judge", PASSWORD)
    page.goto("/")
    turn = page.locator("section[aria-labelledby=turn-heading]")
    expect(turn.locator(".badge")).to_have_text("1")
    expect(turn).to_contain_text("offline judge")
    expect(page.locator("section[aria-labelledby=finished-heading]")).to_contain_text(
        "No finished sessions yet."
    )
    expect(page).to_have_title(re.compile(r"^\(\d\)"))
    turn.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(f"/sessions/{session.pk}/$"))


def test_a_draft_survives_a_reload_and_shows_in_a_second_tab_and_a_submission_clears_it(
    new_page,
):
    session, seats = off_loop(debate_with_prior)
    a = open_room(new_page, seats["debater_a"], session.pk)
    type_in_editor(a, "Half a thought about ")
    select_in_story(a, "seven ships passed the point")
    a.get_by_role("button", name="Quote selection").click()
    expect(a.locator("#draft-preview")).to_contain_text("quoted")
    a.wait_for_timeout(900)  # the debounced save
    a.reload()
    expect(a.locator("#draft-editor")).to_contain_text("Half a thought about")
    expect(a.locator("#draft-editor .quote-chip")).to_have_count(1)
    second = open_room(new_page, seats["debater_a"], session.pk)
    expect(second.locator("#draft-editor")).to_contain_text("Half a thought about")
    b = open_room(new_page, seats["debater_b"], session.pk)
    expect(b.locator("#draft-editor")).not_to_contain_text("Half a thought")
    a.get_by_role("button", name="Submit speech").click()
    expect(a.locator("#draft-editor")).to_have_text("")
    second.reload()
    expect(second.locator("#draft-editor")).to_have_text("")


def test_the_quoting_editor_keeps_quotes_whole_and_moves_and_removes_them(new_page, screenshot):
    session, seats = off_loop(debate_with_prior)
    a = open_room(new_page, seats["debater_a"], session.pk)
    quote_button = a.get_by_role("button", name="Quote selection")
    expect(quote_button).to_be_disabled()
    # A selection snaps to whole words: "even shi" becomes "seven ships".
    select_in_story(a, "even shi")
    expect(quote_button).to_be_enabled()
    type_in_editor(a, "Look at this: ")
    select_in_story(a, "even shi")
    quote_button.click()
    chip = a.locator("#draft-editor .quote-chip")
    expect(chip.locator(".quote-text")).to_have_text("seven ships")
    expect(a.locator("#draft")).to_have_value(
        re.compile(r'Look at this: <quote start="\d+" end="\d+">seven ships</quote>')
    )
    # The quote cannot be typed into: clicking into it and typing writes beside it, not in it.
    chip.locator(".quote-text").click()
    a.keyboard.type("X")
    expect(chip.locator(".quote-text")).to_have_text("seven ships")
    # A selection outside the story disables the button.
    a.locator("h1.question").select_text()
    expect(quote_button).to_be_disabled()
    type_in_editor(a, "and more words")
    expect(a.locator("#draft")).to_have_value(re.compile(r"</quote>.*and more words"))
    # Move the quote right past a word, then left, with its buttons.
    chip.get_by_role("button", name="Move this quote right").click()
    expect(a.locator("#draft")).to_have_value(re.compile(r"Look at this: +X?and <quote"))
    chip.get_by_role("button", name="Move this quote left").click()
    chip.get_by_role("button", name="Move this quote left").click()
    expect(a.locator("#draft")).to_have_value(re.compile(r"^Look at <quote"))
    # The story marks the draft's quote.
    assert a.evaluate("() => CSS.highlights.get('story-draft').size") == 1
    screenshot(a, "quote-editor")
    chip.get_by_role("button", name="Remove this quote").click()
    expect(a.locator("#draft-editor .quote-chip")).to_have_count(0)
    expect(a.locator("#draft")).not_to_have_value(re.compile("<quote"))
    assert a.evaluate("() => CSS.highlights.get('story-draft').size") == 0


def test_revealed_quotes_are_marked_merged_and_linked_without_offsets(new_page, screenshot):
    session, seats = off_loop(debate_with_prior)
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    j = open_room(new_page, seats["judge"], session.pk)
    speak(a, "Mine: ", "seven ships passed the point")
    speak(b, "Overlap: ", "passed the point, and none of them stopped")
    panel = j.locator("#quotes-panel li")
    expect(panel).to_have_count(1)  # the two overlapping quotes read as one passage
    expect(panel).to_have_text("seven ships passed the point, and none of them stopped")
    expect(j.locator("#quotes-panel")).not_to_contain_text("\u2013")  # no character offsets
    expect(j.locator("#transcript .round-title").first).to_have_text("Round 1: Judge")
    expect(j.locator("#transcript h4", has_text="Arguing A")).to_have_count(1)
    panel.get_by_role("link").click()
    expect(j).to_have_url(re.compile(r"#quote-1-debater_a-0$"))
    # Debaters see what was revealed, by whom.
    assert a.evaluate("() => CSS.highlights.get('story-own').size") >= 1
    assert a.evaluate("() => CSS.highlights.get('story-both').size") == 1
    expect(a.locator(".story-legend")).to_contain_text("by your opponent")
    # Quoting what the judge has already seen says it adds nothing new.
    select_in_story(a, "seven ships")
    expect(a.locator("#quote-hint")).to_contain_text("adds nothing new")
    screenshot(j, "judge-quotes-panel")


def test_probability_inputs_stay_in_range_and_sum_to_100(new_page):
    seats = off_loop(people, "judge", "debater_a", "debater_b")
    session = off_loop(make_debate, **seats)
    j = open_room(new_page, seats["judge"], session.pk)
    p0, p1 = j.locator('input[type=number][name="p0"]'), j.locator('input[type=number][name="p1"]')
    p0.fill("150")
    p0.dispatch_event("change")
    expect(p0).to_have_value("99")
    expect(p1).to_have_value("1")
    p1.fill("-5")
    p1.dispatch_event("change")
    expect(p1).to_have_value("1")
    expect(p0).to_have_value("99")
    slider = j.locator('input[type=range][data-prob="1"]')
    slider.fill("30")
    expect(p0).to_have_value("70")
    expect(j.locator("#score-preview")).to_contain_text("expected (your probabilities)")
