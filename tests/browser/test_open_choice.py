"""Open consultancy in a real browser (issue 16): the consultant's room offers "Choose the answer
you will argue" with a button per answer while the judge's room says it waits for the choice;
pressing one records the choice, and the push reaches the judge (its turn now) and every other
tab of the consultant, where the other button is disabled and refused if forced."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import off_loop
from tests.browser.test_live_session import judge_turn, open_room, people, speak

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


def open_debate():
    from debate.protocol import Protocol, Role
    from debate.services import SeatAssignment, open_rules, session_create
    from tests.factories import make_question

    seats = people("judge", "debater_a", "debater_b")
    question = make_question()
    session = session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=open_rules(Protocol.DEBATE),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[SeatAssignment(Role(r), user=u) for r, u in seats.items()],
    )
    return session, seats


def test_an_open_debate_debater_a_chooses_and_every_room_hears_of_it(new_page, screenshot):
    """Open debate: debater A chooses (its one choice settles both sides), debater B and the
    judge see the argued answers pushed, and the debate is played to the end. Every control
    shown is used: both choice buttons (the second refused), the judge's Continue and End, each
    debater's Quote selection, Submit speech and Take back my speech, every seat's notes."""
    session, seats = off_loop(open_debate)
    judge = open_room(new_page, seats["judge"], session.pk)
    a = open_room(new_page, seats["debater_a"], session.pk)
    b = open_room(new_page, seats["debater_b"], session.pk)
    a.allowed_errors = [409]
    expect(judge.locator("#turn-status")).to_contain_text(
        "Waiting for the first debater to choose the answer they argue."
    )
    expect(b.locator("#turn-status")).to_contain_text("Waiting for the first debater")
    expect(b.locator("#choice-form")).to_have_count(0)  # debater B is given the other answer
    expect(b.locator("#speech-form button[type=submit]")).to_be_disabled()
    for page in (judge, a, b):  # the debaters are shown which is correct, nothing else yet
        expect(page.locator("#answers .tag.own, #answers .tag.argued")).to_have_count(0)
    expect(a.locator("#turn-status")).to_contain_text(
        "Your turn: choose the answer you will argue."
    )
    argue_a = a.get_by_role("button", name="Argue A")
    argue_b = a.get_by_role("button", name="Argue B")
    expect(argue_a).to_be_enabled()
    expect(argue_b).to_be_enabled()
    screenshot(a, "open-debate-choice")

    argue_b.click()
    expect(a.locator("#choice-form")).to_be_hidden()
    expect(a.locator('#answers [data-answer="1"] .tag.own')).to_have_text("your answer")
    # Pushed to the others' headers, no reload: B argues A, the judge sees both sides.
    expect(b.locator('#answers [data-answer="0"] .tag.own')).to_have_text("your answer")
    expect(b.locator('#answers [data-answer="1"] .tag.argued')).to_have_text("chosen by debater A")
    expect(judge.locator('#answers [data-answer="1"] .tag.argued')).to_have_text(
        "chosen by debater A"
    )
    expect(judge.locator('#answers [data-answer="0"] .tag.argued')).to_have_text(
        "argued by debater B"
    )
    expect(judge.locator("#turn-status")).to_contain_text("Your turn")
    # The other choice button, forced: refused, the choice unchanged.
    a.evaluate(
        "() => { const f = document.getElementById('choice-form'); f.hidden = false;"
        " const x = f.querySelectorAll('button')[0]; x.disabled = false; x.click(); }"
    )
    expect(a.locator("#choice-form .errors")).to_contain_text("It is not your turn.")

    # Each seat's private notes, saved as typed.
    for page, note in ((judge, "Who counted what?"), (a, "Argue B hard."), (b, "I argue A.")):
        page.locator("#scratchpad").fill(note)
        expect(page.locator("#scratchpad-status")).to_have_text("Saved.")
    judge_turn(judge, 50, "Tell me about the count.")
    speak(a, "Only ships count: ", "seven ships passed the point")
    # Taken back (the button a push brought), then sent again from the draft it returned to.
    a.get_by_role("button", name="Take back my speech").click()
    expect(a.locator("#draft-editor")).to_contain_text("Only ships count:")
    a.get_by_role("button", name="Submit speech").click()
    expect(a.locator("#draft-editor")).to_have_text("")
    speak(b, "The law counted the ferry: ", "counted the ferry that her father refused")
    expect(judge.locator("#transcript .speech")).to_have_count(2)
    expect(judge.locator("#transcript")).to_contain_text("Arguing B")
    judge_turn(judge, 70, "A is right.", end=True)
    for page in (judge, a, b):
        expect(page.locator("#result")).to_contain_text("The correct answer was A")

    def positions():
        from debate.models import Seat

        return dict(
            Seat.objects.filter(session=session, role__startswith="debater").values_list(
                "role", "answer_position"
            )
        )

    assert off_loop(positions) == {"debater_a": 1, "debater_b": 0}
