"""Feedback surveys: who may open and submit one, what is checked, that it is final, and the
rule that a seat sees who held the other seats only after submitting its own."""

from __future__ import annotations

import re

import pytest

from debate.models import AuditEvent
from debate.protocol import Role
from debate.visibility import view_for
from judging.models import SurveyResponse
from judging.services import survey_questions_for, survey_submit
from tests.factories import make_debate, make_user, play_to_end, seat

pytestmark = pytest.mark.django_db


def finished(**users):
    return play_to_end(make_debate(**users))


def judge_answers(**extra):
    return {
        "reason for outcome": "A showed the decisive line.",
        "judge reasoning": "4",
        "clarity": {"debater_a": "5", "debater_b": "2"},
        **extra,
    }


def test_each_role_is_asked_its_own_questions():
    session = finished()
    judge_keys = {q.key for q in survey_questions_for(seat(session, Role.JUDGE))}
    debater_keys = {q.key for q in survey_questions_for(seat(session, Role.DEBATER_A))}
    assert "evidence in debate" in judge_keys and "evidence in debate" not in debater_keys
    assert "subjective correctness" in debater_keys and "subjective correctness" not in judge_keys


def test_identities_are_hidden_until_the_seat_submits_its_own_survey():
    alice, bob = make_user("alice"), make_user("bob")
    session = finished(debater_a=alice, debater_b=bob)
    judge_seat = seat(session, Role.JUDGE)
    assert view_for(judge_seat, session).identities is None
    assert view_for(judge_seat, session).survey_pending
    survey_submit(seat=judge_seat, answers=judge_answers(), user=judge_seat.user)
    identities = view_for(judge_seat, session).identities
    assert identities["debater_a"] == "alice" and identities["debater_b"] == "bob"
    assert not view_for(judge_seat, session).survey_pending
    # Another seat's submission reveals nothing to those who have not submitted.
    assert view_for(seat(session, Role.DEBATER_A), session).identities is None


def test_a_survey_is_checked_and_saved_once_on_our_scale():
    session = finished()
    judge_seat = seat(session, Role.JUDGE)
    with pytest.raises(ValueError, match="Please answer"):
        survey_submit(seat=judge_seat, answers={}, user=judge_seat.user)
    with pytest.raises(ValueError, match="from 1 to 5"):
        survey_submit(
            seat=judge_seat, answers=judge_answers(**{"judge reasoning": "9"}), user=judge_seat.user
        )
    response = survey_submit(seat=judge_seat, answers=judge_answers(), user=judge_seat.user)
    assert response.answers["judge reasoning"] == 4
    assert response.answers["clarity"] == {"debater_a": 5, "debater_b": 2}
    with pytest.raises(ValueError, match="already submitted"):
        survey_submit(seat=judge_seat, answers=judge_answers(), user=judge_seat.user)
    assert SurveyResponse.objects.count() == 1
    assert AuditEvent.objects.filter(action="survey", session=session).count() == 1


def test_a_survey_opens_only_when_the_session_is_over():
    session = make_debate()
    judge_seat = seat(session, Role.JUDGE)
    with pytest.raises(ValueError, match="when your part of the session is over"):
        survey_submit(seat=judge_seat, answers=judge_answers(), user=judge_seat.user)


def test_the_survey_page_submits_and_then_shows_it_cannot_change(client):
    session = finished()
    judge_seat = seat(session, Role.JUDGE)
    client.force_login(judge_seat.user)
    page = client.get(f"/sessions/{session.pk}/survey")
    assert page.status_code == 200 and "Feedback survey" in page.content.decode()
    room = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Fill in the feedback survey" in room and "Who held the seats" not in room
    form = {
        "reason for outcome": "Clear quote.",
        "judge reasoning": "3",
        "clarity::debater_a": "4",
        "clarity::debater_b": "2",
    }
    assert client.post(f"/sessions/{session.pk}/survey", form).status_code == 302
    room = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Who held the seats" in room and "Fill in the feedback survey" not in room
    again = client.post(f"/sessions/{session.pk}/survey", {**form, "judge reasoning": "1"})
    assert again.status_code == 409
    assert SurveyResponse.objects.get(seat=judge_seat).answers["judge reasoning"] == 3


def test_a_bad_survey_is_shown_again_with_its_errors(client):
    session = finished()
    client.force_login(seat(session, Role.JUDGE).user)
    typed = {"judge reasoning": "3", "interface": "The timer was hard to see."}
    response = client.post(f"/sessions/{session.pk}/survey", typed)
    page = response.content.decode()
    assert response.status_code == 422 and not SurveyResponse.objects.exists()
    # Each missing answer's error sits inside its own question, and what was typed is kept.
    blocks = re.findall(
        r'<(?:fieldset|div) class="question[^"]*"[^>]*>.*?</(?:fieldset|div)>', page, re.S
    )
    missing = [b for b in blocks if "has-error" in b]
    assert missing and all("This field is required." in b for b in missing)
    reasoning = next(b for b in blocks if "How sound was the judge" in b)
    assert "has-error" not in reasoning and re.search(r'value="3"[^>]*checked', reasoning)
    assert "The timer was hard to see." in page
    assert page.count('class="required"') >= len(missing)


def test_nobody_opens_a_survey_that_is_not_theirs(client):
    session = finished()
    client.force_login(make_user("stranger"))
    assert client.get(f"/sessions/{session.pk}/survey").status_code == 404
    assert client.post(f"/sessions/{session.pk}/survey", judge_answers()).status_code == 404
    client.force_login(make_user("ops", is_staff=True))
    assert client.get(f"/sessions/{session.pk}/survey").status_code == 404
