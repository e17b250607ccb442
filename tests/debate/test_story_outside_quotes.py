"""The judge sees the story only through certified quotes: a speech whose plain text (or a quote
that does not match the story) carries a run of story text is refused, with the run shown."""

from __future__ import annotations

import pytest

from debate.models import Rules, Speech
from debate.protocol import RejectionCode, Role
from debate.services import MoveRejected, paper_rules
from tests.factories import PASSAGE_TEXT, judge, make_debate, quote, seat, speak

pytestmark = pytest.mark.django_db


@pytest.fixture
def debate_due():
    session = make_debate()
    judge(session, (0.5, 0.5))
    return session


def refused(session, text):
    with pytest.raises(MoveRejected) as error:
        speak(session, Role.DEBATER_A, text)
    return error.value


def test_story_pasted_as_plain_text_is_refused_with_the_run_shown(debate_due):
    pasted = PASSAGE_TEXT[:300]  # over the 250-character quote budget, and no markup at all
    error = refused(debate_due, pasted)
    (rejection,) = error.rejections
    assert rejection.code == RejectionCode.STORY_OUTSIDE_QUOTES
    assert "is copied from the story outside a quote" in error.message
    assert "The lighthouse keeper counted the ships" in error.message
    assert not Speech.objects.exists()


def test_a_quote_with_one_word_changed_is_plain_text_and_refused(debate_due):
    near = PASSAGE_TEXT[:240].replace("counted", "tallied")
    error = refused(debate_due, f"<quote>{near}</quote>")
    assert "nearly copies the story outside a quote" in error.message


def test_the_same_words_inside_a_certified_quote_are_fine(debate_due):
    speak(debate_due, Role.DEBATER_A, "Look: " + quote(debate_due, PASSAGE_TEXT[:240]))
    assert Speech.objects.count() == 1


def test_a_short_phrase_from_the_story_is_ordinary_speech(debate_due):
    speak(debate_due, Role.DEBATER_A, "Seven ships passed the point, and I say the ferry counts.")
    assert Speech.objects.count() == 1


def test_rules_may_turn_the_check_off(debate_due):
    paper = paper_rules("debate")
    rules = Rules.objects.create(
        name="no story check", structure={**paper.structure, "story_run_limit": None}
    )
    session = make_debate(rules=rules)
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, PASSAGE_TEXT[:200])
    assert Speech.objects.filter(round__session=session).count() == 1


def test_the_draft_preview_points_at_the_run_before_submitting(client, debate_due):
    client.force_login(seat(debate_due, Role.DEBATER_A).user)
    page = client.post(f"/sessions/{debate_due.pk}/draft", {"text": PASSAGE_TEXT[:120]})
    body = page.content.decode()
    assert page.status_code == 200 and "story-outside-quote" in body
    assert "Quote it instead" in body and "Quote selection" in body
    refused_page = client.post(
        f"/sessions/{debate_due.pk}/speech",
        {"text": PASSAGE_TEXT[:120]},
        headers={"HX-Request": "true"},
    )
    assert refused_page.status_code == 422
    assert "is copied from the story outside a quote" in refused_page.content.decode()
    assert not Speech.objects.exists()
