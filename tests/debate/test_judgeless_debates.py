"""Judgeless debates, as the NYU platform ran them: no live judge; after each round of speeches
the debaters vote on ending; when both vote to end it ends by agreement, and offline judges (round
by round or timed) judge it afterwards. Through the services, the views of every seat, the room,
the lobby and the analysis."""

from __future__ import annotations

import json

import pytest

from debate.judgments import offline_judge_assign, offline_judging_start, offline_judgment_record
from debate.models import EndVote, Session
from debate.protocol import EndReason, Protocol, Role
from debate.services import MoveRejected, SeatAssignment, judgeless_debate_rules, session_create
from debate.visibility import lobby_for, view_for, view_to_dict
from judging.analysis import AnalysisFilters, analysis_run
from tests.factories import make_judgeless_debate, make_question, make_user, seat, speak, vote

pytestmark = pytest.mark.django_db


def ended_by_agreement() -> Session:
    """Openings, a vote to go on (B), a sequential round, both vote to end."""
    session = make_judgeless_debate()
    speak(session, Role.DEBATER_A, "Opening A.")
    speak(session, Role.DEBATER_B, "Opening B.")
    vote(session, Role.DEBATER_A, end=True)
    vote(session, Role.DEBATER_B, end=False)
    speak(session, Role.DEBATER_A, "Second A.")
    speak(session, Role.DEBATER_B, "Second B.")
    vote(session, Role.DEBATER_B, end=True)
    vote(session, Role.DEBATER_A, end=True)
    session.refresh_from_db()
    return session


def speeches_seen(view) -> list[str]:
    return [s.segments[0].text for r in view.rounds for s in r.speeches]


def test_a_judgeless_debate_has_no_judge_seat_and_refuses_one():
    session = make_judgeless_debate()
    assert sorted(session.seats.values_list("role", flat=True)) == ["debater_a", "debater_b"]
    with pytest.raises(MoveRejected, match="judgeless debate needs exactly these seats"):
        session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=judgeless_debate_rules(),
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.DEBATER_A, user=make_user()),
                SeatAssignment(Role.DEBATER_B, user=make_user()),
            ],
        )


def test_both_votes_to_end_end_it_by_agreement_and_one_vote_to_go_on_continues():
    session = ended_by_agreement()

    assert session.status == Session.Status.FINISHED and session.finished_at is not None
    view = view_for(seat(session, Role.DEBATER_A), session)
    assert view.finished and view.ended_by == EndReason.AGREEMENT
    assert view.ended_by_label == "ended by agreement"
    assert [(v.role, v.end) for r in view.rounds for v in r.votes] == [
        ("debater_a", True),
        ("debater_b", False),
        ("debater_b", True),
        ("debater_a", True),
    ]
    assert EndVote.objects.filter(round__session=session).count() == 4
    with pytest.raises(MoveRejected, match="over"):
        vote(session, Role.DEBATER_A, end=False)


def test_a_vote_is_secret_until_both_have_voted_and_only_a_speaker_votes():
    session = make_judgeless_debate()
    speak(session, Role.DEBATER_A, "Opening A.")
    speak(session, Role.DEBATER_B, "Opening B.")
    vote(session, Role.DEBATER_A, end=True)

    own = view_for(seat(session, Role.DEBATER_A), session)
    other = view_for(seat(session, Role.DEBATER_B), session)
    staff = view_for(None, session)
    assert [(v.role, v.end) for r in own.rounds for v in r.votes] == [("debater_a", True)]
    assert [v for r in other.rounds for v in r.votes] == []
    assert other.voting and other.may_end and other.may_continue and not own.your_turn
    assert [v.role for r in staff.rounds for v in r.votes] == ["debater_a"]
    with pytest.raises(MoveRejected, match="not your turn"):
        vote(session, Role.DEBATER_A, end=False)
    with pytest.raises(MoveRejected, match="expects a vote"):
        speak(session, Role.DEBATER_B, "A speech instead of a vote.")


def test_offline_judges_step_through_the_speech_rounds_and_never_see_the_votes():
    session = ended_by_agreement()
    offline = offline_judge_assign(session=session, user=make_user("olive"))
    offline_judging_start(session=session, seat=offline)

    view = view_for(offline, session)
    assert speeches_seen(view) == [] and not view.may_end and view.may_continue
    offline_judgment_record(session=session, seat=offline, probabilities=[0.5, 0.5])
    view = view_for(offline, session)
    assert speeches_seen(view) == ["Opening A.", "Opening B."]
    assert all(not r.votes and r.kind != "negotiate_end" for r in view.rounds)
    assert all(r["votes"] == [] for r in view_to_dict(view)["rounds"])
    assert "negotiate" not in json.dumps(view_to_dict(view))
    assert view.ended_by is None  # how it ended is not the judge's evidence
    offline_judgment_record(session=session, seat=offline, probabilities=[0.6, 0.4])
    view = view_for(offline, session)
    assert speeches_seen(view)[-2:] == ["Second A.", "Second B."]
    assert not view.may_continue  # the last speech round read: the judgment is final
    offline_judgment_record(session=session, seat=offline, probabilities=[0.8, 0.2], end=True)
    view = view_for(offline, session)
    assert view.finished and view.correct_position == session.correct_position
    assert view.ended_by == "agreement"


def test_a_timed_offline_judge_reads_everything_at_once_and_judges_once():
    session = ended_by_agreement()
    offline = offline_judge_assign(session=session, user=make_user("tim"), mode="timed")

    before = view_for(offline, session)
    assert before.your_turn and not before.judging_started and speeches_seen(before) == []
    offline_judging_start(session=session, seat=offline)
    view = view_for(offline, session)
    assert len(speeches_seen(view)) == 4 and view.may_end and not view.may_continue
    with pytest.raises(MoveRejected, match="must be final"):
        offline_judgment_record(session=session, seat=offline, probabilities=[0.7, 0.3])
    offline_judgment_record(session=session, seat=offline, probabilities=[0.7, 0.3], end=True)
    offline.refresh_from_db()
    assert offline.judging_mode == "timed" and offline.judging_started_at is not None


def test_the_lobby_files_offline_work_as_the_judges_turn_and_shows_the_outcome():
    session = ended_by_agreement()
    debater = seat(session, Role.DEBATER_A).user
    entry = lobby_for(debater).finished[0]
    assert entry.outcome == "ended by agreement"
    offline = offline_judge_assign(session=session, user=make_user("olive"))
    lobby = lobby_for(offline.user)
    assert [e.session_id for e in lobby.your_turn] == [session.pk] and not lobby.finished
    assert lobby.turn_count == 1
    offline_judging_start(session=session, seat=offline)
    for p in ([0.5, 0.5], [0.6, 0.4]):
        offline_judgment_record(session=session, seat=offline, probabilities=p)
    offline_judgment_record(session=session, seat=offline, probabilities=[0.9, 0.1], end=True)
    lobby = lobby_for(offline.user)
    # The judge's own verdict, now that its judging is over, beside how the debate ended.
    outcome = "ended by agreement; you were right: 90% on the correct answer"
    assert not lobby.your_turn and lobby.finished[0].outcome == outcome


def test_the_analysis_counts_offline_judgings_of_judgeless_debates_in_settings_of_their_own():
    session = ended_by_agreement()
    stepped = offline_judge_assign(session=session, user=make_user())
    offline_judging_start(session=session, seat=stepped)
    offline_judgment_record(session=session, seat=stepped, probabilities=[0.5, 0.5])
    offline_judgment_record(session=session, seat=stepped, probabilities=[0.9, 0.1], end=True)
    timed = offline_judge_assign(session=session, user=make_user(), mode="timed")
    offline_judging_start(session=session, seat=timed)
    offline_judgment_record(session=session, seat=timed, probabilities=[0.2, 0.8], end=True)

    table = analysis_run(AnalysisFilters()).table
    assert set(table) == {"human_debate_judgeless_offline", "human_debate_judgeless_offline_timed"}
    stepped_row = table["human_debate_judgeless_offline"]
    assert stepped_row.n == 1 and stepped_row.accuracy == 1.0 and stepped_row.rounds_mean == 1
    timed_row = table["human_debate_judgeless_offline_timed"]
    assert timed_row.n == 1 and timed_row.accuracy == 0.0 and timed_row.rounds_mean == 2


def test_the_room_offers_the_vote_on_the_speakers_turn_and_records_it(client):
    session = make_judgeless_debate()
    speak(session, Role.DEBATER_A, "Opening A.")
    speak(session, Role.DEBATER_B, "Opening B.")
    debater = seat(session, Role.DEBATER_B).user
    client.force_login(debater)

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Vote to end the debate" in page and "vote on ending the debate" in page
    bad = client.post(f"/sessions/{session.pk}/vote", {"vote": "maybe"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and "Vote to end the debate or to go on" in bad.content.decode()
    assert not EndVote.objects.exists()
    client.post(f"/sessions/{session.pk}/vote", {"vote": "continue"}, HTTP_HX_REQUEST="true")
    assert EndVote.objects.get().end is False
    again = client.post(f"/sessions/{session.pk}/vote", {"vote": "end"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409  # one vote per round
    client.force_login(make_user("stranger"))
    assert client.post(f"/sessions/{session.pk}/vote", {"vote": "end"}).status_code == 404


def test_staff_create_a_judgeless_session_without_a_judge(client):
    question = make_question()
    rules = judgeless_debate_rules()
    a, b, judge = make_user("ann"), make_user("ben"), make_user("jo")
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    form = {"question": question.pk, "protocol": "debate", "rules": rules.pk}
    a, b, judge = (f"user:{u.pk}" for u in (a, b, judge))
    refused = client.post(
        "/sessions/new/", {**form, "judge": judge, "debater_a": a, "debater_b": b}
    )
    assert refused.status_code == 422 and "leave the judge empty" in refused.content.decode()
    client.post("/sessions/new/", {**form, "debater_a": a, "debater_b": b})
    session = Session.objects.get()
    assert not session.seats.filter(role="judge").exists()


def test_the_export_and_a_debaters_history_say_how_it_ended(client):
    import io

    from judging.export import export_sessions

    session = ended_by_agreement()
    out = io.StringIO()
    export_sessions(sessions=Session.objects.all(), fmt="jsonl", out=out)
    record = json.loads(out.getvalue())
    assert record["ended_by"] == "agreement" and record["final_judgment"] is None
    votes = [v for r in record["rounds"] for v in r["votes"]]
    assert [(v["role"], v["end"]) for v in votes][:2] == [("debater_a", True), ("debater_b", False)]
    debater = seat(session, Role.DEBATER_A).user
    assert votes[0]["participant"] == debater.username
    client.force_login(debater)
    page = client.get("/me/").content.decode()
    assert "ended by agreement" in page
