"""The "Create a session" page in a real browser: it shows exactly the seats the chosen protocol
and rules take (the paper's debate: a judge and two debaters; consultancy: a judge and a
consultant with its honesty; the blind judge's rules: the judge alone; judgeless rules: the
debaters alone; open consultancy: no honesty to assign, the consultant chooses), and a session
made with what it shows is created with those seats only. Every control shown is used."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.browser.test_live_session import PASSWORD
from tests.factories import make_question, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEATS = ("judge", "debater_a", "debater_b", "consultant", "consultant_honest")


def setup():
    from debate.protocol import Protocol
    from debate.services import blind_judge_rules, judgeless_debate_rules, open_rules

    question = make_question()
    for name in ("fresh-judge", "deb-a", "deb-b", "cons"):
        make_user(name)
    make_user("staffer", is_staff=True, is_superuser=True)
    rules = {
        "blind": blind_judge_rules(),
        "judgeless": judgeless_debate_rules(),
        "open": open_rules(Protocol.CONSULTANCY),
    }
    return question, {key: (r.pk, r.name) for key, r in rules.items()}


def shown(page: Page) -> list[str]:
    return [name for name in SEATS if page.locator(f'[data-seat-field="{name}"]').is_visible()]


def expect_seats(page: Page, *names: str) -> None:
    for name in SEATS:
        field = page.locator(f'[data-seat-field="{name}"]')
        if name in names:
            expect(field).to_be_visible()
            expect(field.locator("select, input").first).to_be_enabled()
        else:
            expect(field).to_be_hidden()
            expect(field.locator("select, input").first).to_be_disabled()


def test_the_page_shows_exactly_the_seats_the_rules_take(new_page):
    question, rules = off_loop(setup)
    page = new_page()
    log_in(page, "staffer", PASSWORD)
    page.goto("/sessions/new/")
    protocol, chosen = page.locator("#id_protocol"), page.locator("#id_rules")
    expect_seats(page, "judge", "debater_a", "debater_b")  # the paper's debate, by default
    protocol.select_option("consultancy")
    expect_seats(page, "judge", "consultant", "consultant_honest")
    chosen.select_option(str(rules["open"][0]))
    expect_seats(page, "judge", "consultant")  # the consultant chooses: nothing to assign
    protocol.select_option("debate")
    chosen.select_option(str(rules["judgeless"][0]))
    expect_seats(page, "debater_a", "debater_b")
    chosen.select_option(str(rules["blind"][0]))
    expect_seats(page, "judge")
    # The question's judge list is swapped in by htmx: still the judge alone afterwards.
    page.get_by_label("Question").select_option(str(question.pk))
    expect(page.locator("#judge-field select option", has_text="fresh-judge")).to_have_count(1)
    expect_seats(page, "judge")
    assert shown(page) == ["judge"]

    # A debater chosen under other rules is not sent once hidden: the session takes the judge.
    chosen.select_option("")
    page.get_by_label("Debater A").select_option(label="deb-a")
    chosen.select_option(str(rules["blind"][0]))
    page.locator("#judge-field select").select_option(label="fresh-judge")
    page.get_by_role("button", name="Create session").click()
    expect(page.locator(".messages")).to_contain_text("created")

    def seats():
        from debate.models import Session

        session = Session.objects.get()
        return session.rules.name, sorted(session.seats.values_list("role", flat=True))

    assert off_loop(seats) == (rules["blind"][1], ["judge"])


def test_a_consultancy_made_from_the_page_takes_the_honesty_shown(new_page):
    question, _ = off_loop(setup)
    page = new_page()
    log_in(page, "staffer", PASSWORD)
    page.goto("/sessions/new/")
    # The question's judge list is swapped in by htmx: choose the judge from the new list.
    page.evaluate("document.getElementById('judge-field').dataset.before = 'question'")
    page.get_by_label("Question").select_option(str(question.pk))
    expect(page.locator("#judge-field[data-before]")).to_have_count(0)
    page.locator("#id_protocol").select_option("consultancy")
    page.locator("#id_rules").select_option("")
    expect_seats(page, "judge", "consultant", "consultant_honest")
    page.locator("#judge-field select").select_option(label="fresh-judge")
    page.locator("#id_consultant").select_option(label="cons")
    page.get_by_label("Honest consultant").check()
    page.get_by_role("button", name="Create session").click()
    expect(page.locator(".messages")).to_contain_text("created")

    def consultant():
        from debate.models import Seat

        s = Seat.objects.get(role="consultant")
        return s.answer_position == s.session.correct_position

    assert off_loop(consultant) is True
