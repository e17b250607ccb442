"""Open consultancy in a real browser (issue 16): the consultant's room offers "Choose the answer
you will argue" with a button per answer while the judge's room says it waits for the choice;
pressing one records the choice, and the push reaches the judge (its turn now) and every other
tab of the consultant, where the other button is disabled and refused if forced."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import off_loop
from tests.browser.test_live_session import open_room, people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_consultancy():
    from debate.protocol import Protocol, Role
    from debate.services import SeatAssignment, open_rules, session_create
    from tests.factories import make_question

    seats = people("judge", "consultant")
    question = make_question()
    session = session_create(
        question=question,
        protocol_name=Protocol.CONSULTANCY,
        rules=open_rules(Protocol.CONSULTANCY),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=seats["judge"]),
            SeatAssignment(Role.CONSULTANT, user=seats["consultant"]),
        ],
    )
    return session, seats


def test_the_consultant_chooses_its_answer_and_the_judge_hears_of_it(new_page, screenshot):
    session, seats = off_loop(open_consultancy)
    judge = open_room(new_page, seats["judge"], session.pk)
    consultant = open_room(new_page, seats["consultant"], session.pk)
    stale = open_room(new_page, seats["consultant"], session.pk)
    stale.allowed_errors = [409]  # the forced second choice is refused: that is the point
    expect(judge.locator("#turn-status")).to_contain_text(
        "Waiting for the consultant to choose the answer it argues."
    )
    expect(judge.locator("#choice-form")).to_have_count(0)
    expect(judge.locator("#judge-form button[type=submit]").first).to_be_disabled()
    expect(judge.locator("#answers .tag")).to_have_count(0)  # nothing argued before the choice
    expect(consultant.locator("#turn-status")).to_contain_text(
        "Your turn: choose the answer you will argue."
    )
    argue_a = consultant.get_by_role("button", name="Argue A")
    argue_b = consultant.get_by_role("button", name="Argue B")
    expect(argue_a).to_be_enabled()
    expect(argue_b).to_be_enabled()
    screenshot(consultant, "open-consultancy-choice")

    argue_b.click()
    expect(consultant.locator("#choice-form")).to_be_hidden()
    expect(consultant.locator("#turn-status")).not_to_contain_text("choose")
    # The push reaches the judge: its turn now, the wait gone.
    expect(judge.locator("#turn-status")).to_contain_text("Your turn")
    expect(judge.locator("#turn-status")).not_to_contain_text("Waiting for the consultant")
    # ...and its header names the argued answer, without a reload; the other is argued by none.
    expect(judge.locator('#answers [data-answer="1"] .tag.argued')).to_have_text(
        "chosen by the consultant"
    )
    expect(judge.locator('#answers [data-answer="0"] .tag')).to_have_count(0)
    expect(consultant.locator('#answers [data-answer="1"] .tag.own')).to_have_text("your answer")
    # The consultant's other tab hears of it too: both buttons are disabled there...
    stale_a = stale.get_by_role("button", name="Argue A")
    expect(stale_a).to_be_disabled()
    expect(stale.get_by_role("button", name="Argue B")).to_be_disabled()
    # ...and pressing A anyway (a crafted request) is refused, the choice unchanged.
    stale.evaluate(
        "() => { const a = [...document.querySelectorAll('#choice-form button')][0];"
        " a.disabled = false; a.click(); }"
    )
    expect(stale.locator("#choice-form .errors")).to_contain_text("It is not your turn.")

    def positions():
        from debate.models import Seat

        return list(Seat.objects.filter(session=session).values_list("role", "answer_position"))

    assert sorted(off_loop(positions), key=str) == sorted(
        [("judge", None), ("consultant", 1)], key=str
    )
    # The judge's page never says which answer is correct.
    expect(judge.locator(".tag.correct")).to_have_count(0)

