"""The leaderboards page and a participant's own history from the database: they render for any
logged-in user, show a participant their own seats and scores, and say nothing of a session
still running (nor of one an offline judge has not finished) beyond "in progress"."""

from __future__ import annotations

import pytest

from debate.models import Judgment, Seat, Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent
from tests.factories import judge, make_consultancy, make_debate, make_question, make_user, speak

pytestmark = pytest.mark.django_db


def finished_debate(final: float, **users) -> Session:
    """Prior, opening speeches, then the judge ends at ``final`` on the correct answer (shown
    first, argued by debater A)."""
    session = make_debate(**users)
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "It is the first.")
    speak(session, Role.DEBATER_B, "It is the second.")
    judge(session, (final, 1 - final), end=True)
    return session


def ai_consultancy(final: float, agent: Agent, judge_user) -> Session:
    """An AI consultant arguing the wrong answer; the judge ends at ``final`` on the correct."""
    question = make_question()
    session = session_create(
        question=question,
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=judge_user),
            SeatAssignment(Role.CONSULTANT, agent=agent, answer_position=1),
        ],
    )
    judge(session, (0.5, 0.5))
    speak(session, Role.CONSULTANT, "Believe me.")
    judge(session, (final, 1 - final), end=True)
    return session


@pytest.mark.parametrize("url", ["/leaderboards/", "/me/"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_leaderboards_rank_judges_and_debaters_and_mark_agents(client):
    ann = make_user("ann-judge")
    finished_debate(0.8, judge=ann, debater_a=make_user("honest-hal"), debater_b=make_user("sly"))
    agent = Agent.objects.create(name="gpt-consultant", provider="openai", model="m")
    ai_consultancy(0.3, agent, judge_user=make_user("bob-judge"))
    client.force_login(make_user("viewer"))
    page = client.get("/leaderboards/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'href="/leaderboards/"' in html and 'href="/me/"' in html  # in the navigation
    assert "2 finished sessions" in html
    for board in ("judge-board", "honest-board", "dishonest-board", "expert-board"):
        assert f'id="{board}"' in html
    judges = html.split('id="judge-board"')[1].split("</table>")[0]
    assert judges.index("ann-judge") < judges.index("bob-judge")  # -0.37 above -1.79
    assert "-0.37" in judges and "80%" not in judges and "100%" in judges
    dishonest = html.split('id="dishonest-board"')[1].split("</table>")[0]
    assert 'gpt-consultant <span class="tag">AI</span>' in dishonest
    assert dishonest.index("gpt-consultant") < dishonest.index("sly")  # log2 .7 above log2 .2
    assert "honest-hal" in html.split('id="honest-board"')[1].split("</table>")[0]
    assert "Bradley-Terry" in html and "N(0, 1)" in html


def test_the_leaderboards_filter_by_protocol_and_day_and_refuse_bad_filters(client):
    finished_debate(0.8, judge=make_user("debate-judge"))
    agent = Agent.objects.create(name="gpt-consultant", provider="openai", model="m")
    ai_consultancy(0.3, agent, judge_user=make_user("consult-judge"))
    client.force_login(make_user("viewer"))
    html = client.get("/leaderboards/?protocol=consultancy").content.decode()
    assert "consult-judge" in html and "debate-judge" not in html
    assert "1 finished session." in html
    html = client.get("/leaderboards/?since=2999-01-01").content.decode()
    assert "0 finished sessions" in html and "debate-judge" not in html
    assert client.get("/leaderboards/?protocol=chess").status_code == 400
    assert client.get("/leaderboards/?since=yesterday").status_code == 400
    assert client.get("/leaderboards/?since=2026-03-02&until=2026-03-01").status_code == 400


def test_the_leaderboards_read_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    client.force_login(make_user("viewer"))
    finished_debate(0.9)
    with django_assert_max_num_queries(15) as few:
        client.get("/leaderboards/")
    for i in range(5):
        finished_debate(0.2 + 0.1 * i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/leaderboards/").status_code == 200


def test_a_participant_sees_their_own_history_scores_and_totals(client):
    me = make_user("me")
    finished_debate(0.8, judge=me)
    finished_debate(0.25, debater_b=me)
    make_consultancy(consultant=make_user(), judge=make_user())  # not mine
    client.force_login(me)
    page = client.get("/me/")
    html = page.content.decode()
    assert page.status_code == 200 and html.count('<tr class="over">') == 2
    rows = html.split('id="my-history"')[1]
    assert "judge" in rows and "debater B" in rows and '<span class="tag">dishonest</span>' in rows
    assert "correct" in rows and "won" in rows
    assert "-0.37" in rows  # S_j = log2 0.8 - 0.05
    assert "-0.42" in rows and "75%" in rows  # log2 0.75 on my own answer
    totals = html.split('id="my-totals"')[1].split("</table>")[0]
    assert ">dishonest expert</th>" in totals and ">honest expert</th>" not in totals
    assert ">judge</th>" in totals


def test_nothing_of_a_running_session_leaks_into_the_history_or_the_leaderboards(client):
    me = make_user("me")
    running = make_debate(judge=make_user("secret-judge"), debater_a=me,
                          debater_b=make_user("secret-rival"))  # fmt: skip
    judge(running, (0.37, 0.63), text="secret-judge-note")
    speak(running, Role.DEBATER_A, "secret-speech-a")
    client.force_login(me)
    html = client.get("/me/").content.decode()
    rows = html.split('id="my-history"')[1]
    assert "in progress" in rows and "debater A" in rows
    for hidden in ("37%", "63%", "secret-judge", "secret-rival", "secret-speech", "honest",
                   running.question.text[:20], "correct", "won", "lost"):  # fmt: skip
        assert hidden not in rows, hidden
    assert "Nothing finished yet." in html
    board = client.get("/leaderboards/").content.decode()
    assert "secret-judge" not in board and "secret-rival" not in board
    assert ">me<" not in board.split("</header>")[1]


def test_an_offline_judge_learns_nothing_of_a_session_they_have_not_finished_judging(client):
    session = finished_debate(0.9)
    offline = make_user("offline")
    seat = Seat.objects.create(session=session, role=Role.OFFLINE_JUDGE, user=offline)
    first = session.rounds.order_by("index").first()
    Judgment.objects.create(
        session=session, round=first, seat=seat, kind="offline", probabilities=[0.4, 0.6]
    )
    client.force_login(offline)
    rows = client.get("/me/").content.decode().split('id="my-history"')[1]
    assert "offline judge" in rows and "in progress" in rows
    for hidden in ("finished", "correct", "wrong", "90%", "40%", session.question.text[:20]):
        assert hidden not in rows, hidden
    Judgment.objects.filter(seat=seat).update(end=True)
    rows = client.get("/me/").content.decode().split('id="my-history"')[1]
    assert "finished" in rows and "wrong" in rows and "40%" in rows


def test_a_participant_sees_no_session_on_the_boards_before_submitting_its_survey(client):
    """The boards would otherwise tell them who held the other seats."""
    from debate.protocol import Role
    from judging.models import SurveyResponse
    from tests.factories import judge, make_debate, make_user, speak

    mine, other = make_user("me-judge"), make_user("rival")
    session = make_debate(judge=mine, debater_a=other)
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "A.")
    speak(session, Role.DEBATER_B, "B.")
    judge(session, (0.9, 0.1), end=True)
    client.force_login(mine)
    assert "rival" not in client.get("/leaderboards/").content.decode()
    response = SurveyResponse.objects.create(seat=session.seats.get(role="judge"), answers={})
    Seat.objects.filter(pk=response.seat_id).update(surveyed_at=response.submitted_at)
    assert "rival" in client.get("/leaderboards/").content.decode()
