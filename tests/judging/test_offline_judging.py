"""Offline judging: who may be assigned, reading a finished transcript round by round as the live
judge saw it, the end rules, scoring, and offline judgments as their own analysis setting."""

from __future__ import annotations

import pytest

from debate.judgments import offline_judge_assign, offline_judging_start, offline_judgment_record
from debate.models import Judgment, PassageReading
from debate.protocol import Role
from debate.services import MoveRejected
from debate.visibility import view_for
from judging.analysis import AnalysisFilters, analysis_run
from tests.factories import judge, make_debate, make_user, seat, speak

pytestmark = pytest.mark.django_db


def two_round_debate():
    """Prior; opening speeches; the judge continues; a sequential round; the judge ends."""
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "First A.")
    speak(session, Role.DEBATER_B, "First B.")
    judge(session, (0.6, 0.4), text="Go on.")
    speak(session, Role.DEBATER_A, "Second A.")
    speak(session, Role.DEBATER_B, "Second B.")
    judge(session, (0.9, 0.1), end=True)
    session.refresh_from_db()
    return session


def begun(session, user=None, mode="stepped"):
    """An offline judge assigned to ``session`` who has pressed "Begin judging"."""
    seat = offline_judge_assign(session=session, user=user or make_user(), mode=mode)
    return offline_judging_start(session=session, seat=seat)


def speeches_seen(view) -> list[str]:
    return [s.segments[0].text for r in view.rounds for s in r.speeches]


def test_only_people_who_never_met_the_passage_are_assigned():
    session = two_round_debate()
    debater = seat(session, Role.DEBATER_A).user
    with pytest.raises(ValueError, match="already holds a seat"):
        offline_judge_assign(session=session, user=debater)
    reader = make_user("reader")
    PassageReading.objects.create(user=reader, passage=session.question.passage)
    with pytest.raises(ValueError, match="has read"):
        offline_judge_assign(session=session, user=reader)
    other_judge = make_user("other")
    make_debate(question=session.question, judge=other_judge)
    with pytest.raises(ValueError, match="already judged a question"):
        offline_judge_assign(session=session, user=other_judge)
    with pytest.raises(ValueError, match="Only finished sessions"):
        offline_judge_assign(session=make_debate(), user=make_user())
    assert offline_judge_assign(session=session, user=make_user("fresh")).role == "offline_judge"


def test_the_offline_judge_reads_round_by_round_and_scores_like_the_live_judge():
    session = two_round_debate()
    offline = offline_judge_assign(session=session, user=make_user("olive"))
    view = view_for(offline, session)
    assert view.your_turn and speeches_seen(view) == [] and view.passage_text is None
    assert view.correct_position is None and not view.may_end
    assert not view.judging_started and view.judging_mode == "stepped"
    with pytest.raises(MoveRejected, match="Begin judging"):
        offline_judgment_record(session=session, seat=offline, probabilities=[0.5, 0.5])
    offline_judging_start(session=session, seat=offline)
    view = view_for(offline, session)
    assert view.judging_started and view.your_turn and speeches_seen(view) == []
    offline_judgment_record(session=session, seat=offline, probabilities=[0.5, 0.5])
    view = view_for(offline, session)
    assert speeches_seen(view) == ["First A.", "First B."]
    assert all(not r.judgments for r in view.rounds)  # never the live judge's opinion
    assert view.may_end and view.may_continue
    offline_judgment_record(session=session, seat=offline, probabilities=[0.3, 0.7], text="Hm.")
    view = view_for(offline, session)
    assert speeches_seen(view) == ["First A.", "First B.", "Second A.", "Second B."]
    assert not view.may_continue  # the last judge round: the judgment must be final
    with pytest.raises(MoveRejected, match="must be final"):
        offline_judgment_record(session=session, seat=offline, probabilities=[0.8, 0.2])
    offline_judgment_record(session=session, seat=offline, probabilities=[0.8, 0.2], end=True)
    view = view_for(offline, session)
    assert view.finished and view.correct_position == session.correct_position
    correct = session.correct_position
    import math

    p = [0.8, 0.2][correct]
    assert view.judge_score == pytest.approx(math.log2(p) - 0.05 * 2)
    with pytest.raises(MoveRejected, match="over"):
        offline_judgment_record(session=session, seat=offline, probabilities=[0.8, 0.2], end=True)
    assert Judgment.objects.filter(seat=offline, kind="offline").count() == 3


def test_an_offline_judge_cannot_end_before_reading_a_round():
    session = two_round_debate()
    offline = begun(session)
    with pytest.raises(MoveRejected, match="at least one round"):
        offline_judgment_record(session=session, seat=offline, probabilities=[0.5, 0.5], end=True)


def test_offline_judgments_are_their_own_setting_in_the_analysis():
    session = two_round_debate()
    offline = begun(session)
    offline_judgment_record(session=session, seat=offline, probabilities=[0.5, 0.5])
    offline_judgment_record(session=session, seat=offline, probabilities=[0.9, 0.1], end=True)
    table = analysis_run(AnalysisFilters()).table
    assert table["human_debate"].n == 1 and table["human_debate_offline"].n == 1
    assert table["human_debate_offline"].rounds_mean == 1


def test_staff_assign_an_offline_judge_from_the_session_page(client):
    session = two_round_debate()
    client.force_login(make_user("ops", is_staff=True))
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Assign an offline judge" in page
    make_user("olive")
    client.post(f"/sessions/{session.pk}/offline-judges", {"username": "olive"})
    assert session.seats.filter(role="offline_judge", user__username="olive").exists()
    response = client.post(f"/sessions/{session.pk}/offline-judges", {"username": "nobody"})
    assert response.status_code == 302
    client.force_login(make_user("participant"))
    assert (
        client.post(f"/sessions/{session.pk}/offline-judges", {"username": "x"}).status_code == 403
    )
    assert session.seats.filter(role="offline_judge").count() == 1


def test_the_offline_judge_posts_judgments_through_the_judge_form(client):
    session = two_round_debate()
    offline = offline_judge_assign(session=session, user=make_user("olive"))
    client.force_login(offline.user)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "you are an offline judge" in page and "First A." not in page
    assert "Begin judging" in page and 'id="judge-form"' not in page
    client.post(f"/sessions/{session.pk}/offline-start")
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Begin judging" not in page and 'id="judge-form"' in page
    client.post(f"/sessions/{session.pk}/judgment", {"p0": "50", "p1": "50", "action": "continue"})
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "First A." in page and "Second A." not in page
    stranger = make_user("stranger")
    client.force_login(stranger)
    assert (
        client.post(f"/sessions/{session.pk}/judgment", {"p0": "50", "p1": "50"}).status_code == 404
    )
