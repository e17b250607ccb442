"""A batch run's sessions through `analyze --batch` and the staff page's ?batch=: its Table 1
beside the paper's, position bias, position-swapped judgings, win rates and debater ratings."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from debate.models import Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from judging.analysis import AnalysisFilters, analysis_run
from llm_agents.models import Agent, BatchRun, BatchSession
from tests.factories import judge, make_question, make_user, speak

pytestmark = pytest.mark.django_db


def agent(name: str) -> Agent:
    return Agent.objects.get_or_create(name=name, defaults={"provider": "openai", "model": name})[0]


def batch_run(batch_id: str) -> BatchRun:
    return BatchRun.objects.create(
        batch_id=batch_id, protocol="debate", debater_spec="x", judge_spec="judge-bot", questions=1
    )


def agents_debate(
    batch: BatchRun | None, a: str, b: str, *, order_swapped: bool, p_correct: float, question=None
) -> Session:
    """A debate between agents ``a`` (debater A) and ``b``, judged by the agent judge-bot, the
    correct answer shown first (or second), ending at ``p_correct`` on the correct answer."""
    question = question or make_question()
    order = [question.correct_index, question.best_distractor_index]
    if order_swapped:
        order.reverse()
    session = session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=paper_rules(Protocol.DEBATE),
        answer_order=order,
        seats=[
            SeatAssignment(Role.JUDGE, agent=agent("judge-bot")),
            SeatAssignment(Role.DEBATER_A, agent=agent(a)),
            SeatAssignment(Role.DEBATER_B, agent=agent(b)),
        ],
    )
    BatchSession.objects.create(session=session, batch=batch)
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Mine.")
    speak(session, Role.DEBATER_B, "No, mine.")
    p_first = 1 - p_correct if order_swapped else p_correct
    judge(session, (p_first, 1 - p_first), end=True)
    return session


def human_debate(final: float, *, included_in_paper: bool | None = None) -> Session:
    question = make_question()
    session = session_create(
        question=question,
        protocol_name=Protocol.DEBATE,
        rules=paper_rules(Protocol.DEBATE),
        answer_order=[question.correct_index, question.best_distractor_index],
        seats=[
            SeatAssignment(Role.JUDGE, user=make_user()),
            SeatAssignment(Role.DEBATER_A, user=make_user()),
            SeatAssignment(Role.DEBATER_B, user=make_user()),
        ],
    )
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, "Mine.")
    speak(session, Role.DEBATER_B, "No, mine.")
    judge(session, (final, 1 - final), end=True)
    if included_in_paper is not None:
        Session.objects.filter(pk=session.pk).update(included_in_paper=included_in_paper)
    return session


def analyze(*args: str) -> str:
    out = io.StringIO()
    call_command("analyze", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def batch() -> BatchRun:
    """Batch b1: one question judged in both orders (alpha against beta, then beta against
    alpha), and two more debates of alpha against beta; b2 and a human debate outside it."""
    run = batch_run("b1")
    question = make_question()
    agents_debate(run, "alpha", "beta", order_swapped=False, p_correct=0.8, question=question)
    agents_debate(run, "beta", "alpha", order_swapped=True, p_correct=0.3, question=question)
    agents_debate(run, "alpha", "beta", order_swapped=False, p_correct=0.9)
    agents_debate(run, "alpha", "beta", order_swapped=True, p_correct=0.7)
    agents_debate(batch_run("b2"), "gamma", "beta", order_swapped=False, p_correct=0.9)
    human_debate(0.9)
    return run


def test_analyze_batch_prints_its_table_beside_the_papers_published_one(batch):
    text = analyze("--batch", "b1")
    assert "4 finished sessions" in text
    beside = text[text.index("Beside the paper") :].split("\n\n")[0]
    assert "Michael et al. (2023)" in beside and "as printed" in beside
    rows = [line.split() for line in beside.splitlines()[2:]]
    # The batch's AI debate row, then the paper's; the other settings from the paper alone.
    assert [(r[0], r[1]) for r in rows] == [
        ("human_debate", "paper"),
        ("human_consultancy", "paper"),
        ("ai_debate", "batch"),
        ("ai_debate", "paper"),
        ("ai_consultancy", "paper"),
    ]
    assert rows[2][3:5] == ["4", "75%"]  # 3 of 4 right (0.3 on the correct answer is wrong)
    assert rows[3][2:4] == ["87", "78%"] and rows[0][2:4] == ["154", "84%"]
    assert "Position bias" in text and "Position-swapped AI judgings" in text
    assert "ai_debate: pairs 1" in text and "orders disagree 1/1" in text
    assert "ai_debate · alpha (AI): honest 2/3" in text
    assert "Debater ratings from 4 cross-play debates" in text
    assert "gamma" not in text  # b2's debater
    both = analyze("--batch", "b1", "--batch", "b2")
    assert "5 finished sessions" in both and "batch b1, b2" in both and "gamma:" in both


def test_analyze_json_batch_carries_the_new_measures(batch):
    data = json.loads(analyze("--json", "--batch", "b1"))
    assert data["sessions"] == 4 and data["batches"] == ["b1"]
    bias = data["position_bias"]["ai_debate"]
    # Preferences: 0.8 first, 0.3 on the correct (shown second): first; 0.9 first; 0.7 on the
    # correct shown second: second.
    assert bias["prefers_first"]["k"] == 3 and bias["prefers_first"]["n"] == 4
    assert bias["accuracy_correct_first"]["n"] == 2 and bias["accuracy_correct_later"]["n"] == 2
    assert bias["accuracy_correct_later"]["k"] == 1
    (swap,) = data["position_swaps"].values()
    assert swap["pairs"] == 1 and swap["p_correct_mean"] == pytest.approx(0.55)
    assert swap["disagreement"]["k"] == 1
    wins = {w["expert"]: w for w in data["win_rates"]}
    assert wins["alpha"]["honest"] == {
        "k": 2,
        "n": 3,
        "share": pytest.approx(2 / 3),
        "ci": pytest.approx(list(wins["alpha"]["honest"]["ci"])),
    }
    # beta: dishonest in the first three (won the second), honest in the fourth (won it).
    assert wins["beta"]["dishonest"]["k"] == 1 and wins["beta"]["dishonest"]["n"] == 3
    assert wins["beta"]["honest"]["k"] == wins["beta"]["honest"]["n"] == 1
    ratings = data["ratings"]
    assert {r["debater"] for r in ratings["ratings"]} == {"alpha", "beta"}
    assert {(r["wins"], r["debates"]) for r in ratings["ratings"]} == {(2, 4)}
    assert ratings["debates"] == 4 and ratings["ratings"][0]["ci"] is not None
    assert data["paper"]["source"] == "published"
    assert data["paper"]["settings"]["human_debate"]["accuracy"] == 0.84
    # Without --batch: no paper block, every session, and no swap is none (null), not zero.
    plain = json.loads(analyze("--json", "--setting", "human_debate"))
    assert "paper" not in plain and plain["position_swaps"] is None and plain["ratings"] is None


def test_the_papers_rows_come_from_its_sessions_when_the_database_holds_them(batch):
    human_debate(0.9, included_in_paper=True)
    human_debate(0.2, included_in_paper=True)
    data = json.loads(analyze("--json", "--batch", "b1"))
    assert data["paper"]["source"] == "database"
    assert set(data["paper"]["settings"]) == {"human_debate"}
    assert data["paper"]["settings"]["human_debate"]["n"] == 2
    assert data["paper"]["settings"]["human_debate"]["accuracy"] == 0.5
    text = analyze("--batch", "b1")
    assert "computed from the 2 sessions marked as the paper's" in text


def test_an_unknown_batch_matches_nothing_and_still_shows_the_paper(batch):
    text = analyze("--batch", "nope")
    assert "No finished sessions match." in text and "Beside the paper" in text


def test_the_page_shows_position_bias_win_rates_and_ratings_for_a_batch(batch, client):
    client.force_login(make_user("ops", is_staff=True))
    html = client.get("/analysis/?batch=b1").content.decode()
    assert "4 finished sessions" in html
    assert 'id="position-table"' in html and 'id="swap-table"' in html
    assert 'id="win-table"' in html and 'id="rating-table"' in html
    assert 'name="batch" value="b1" checked' in html  # kept when the filters are applied
    assert "gamma" not in html
    win_table = html[html.index('id="win-table"') :].split("</table>")[0]
    assert "alpha (AI)" in win_table and "67% <span" in win_table
    everything = client.get("/analysis/").content.decode()
    assert "6 finished sessions" in everything and "gamma" in everything
    humans = client.get("/analysis/?setting=human_debate").content.decode()
    assert 'id="swap-none"' in humans and 'id="rating-none"' in humans
    csv = client.get("/analysis/table.csv?batch=b1").content.decode()
    assert len(csv.splitlines()) == 2 and "ai_debate" in csv


def test_the_analysis_of_a_batch_takes_a_fixed_number_of_queries(
    batch, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        analysis = analysis_run(AnalysisFilters(batches=("b1",)))
    assert analysis.table["ai_debate"].n == 4 and analysis.ratings is not None
