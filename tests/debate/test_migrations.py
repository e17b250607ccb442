"""Upgrading a database across the moves that made the apps depend one way keeps every row: the
judge's moves into the protocol app (debate 0017, judging 0008 and 0009) keep every judgment and
the fact of every survey; the foreign keys up to the AI app becoming its links (debate 0018 and
0019, llm_agents 0009) keep which agent holds each seat and which batch owns each session. The
rows are made with today's models, the schema is taken back to before the move, and forward."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from debate.models import Judgment, Seat
from debate.protocol import Role
from judging.models import SurveyResponse
from llm_agents.models import Agent, BatchRun, BatchSession, SeatAgent
from tests.factories import judge, make_debate, speak

BEFORE = [("debate", "0016_seat_answer_chosen_open_rules"), ("judging", "0007_judgment_questions")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_judgments_and_surveys_survive_the_move_of_judgments_into_debate():
    session = make_debate()
    judge(session, (0.6, 0.4), text="first thoughts")
    speak(session, Role.DEBATER_A, "A.")
    speak(session, Role.DEBATER_B, "B.")
    judge(session, (0.8, 0.2), end=True)
    judge_seat = session.seats.get(role=Role.JUDGE)
    SurveyResponse.objects.create(seat=judge_seat, answers={"confidence": 4})
    kept = sorted(Judgment.objects.values_list("pk", "text", "end"))
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _migrate(BEFORE)
        with connection.cursor() as cursor:  # before the move: the judging app's table
            cursor.execute('SELECT id, text, "end" FROM judging_judgment ORDER BY id')
            assert sorted(cursor.fetchall()) == [(pk, text, bool(end)) for pk, text, end in kept]
    finally:
        _migrate(latest)
    assert sorted(Judgment.objects.values_list("pk", "text", "end")) == kept
    assert Seat.objects.get(pk=judge_seat.pk).surveyed_at is not None  # filled from the survey
    assert Seat.objects.filter(session=session, surveyed_at__isnull=True).count() == 2


BEFORE_LINKS = [
    ("debate", "0017_judgment_moves_here_seat_surveyed_at"),
    ("llm_agents", "0008_agent_strategies"),
]


@pytest.mark.django_db(transaction=True)
def test_agent_seats_and_batch_sessions_survive_the_move_of_their_links_to_llm_agents():
    session = make_debate()
    agent = Agent.objects.create(name="linked-bot", provider="openai", model="m")
    debater = session.seats.get(role=Role.DEBATER_B)
    Seat.objects.filter(pk=debater.pk).update(user=None, ai_player=agent.name)
    SeatAgent.objects.create(seat=debater, agent=agent)
    batch = BatchRun.objects.create(
        batch_id="kept", protocol="debate", debater_spec="x", judge_spec="y", questions=1
    )
    BatchSession.objects.create(session=session, batch=batch)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _migrate(BEFORE_LINKS)
        with connection.cursor() as cursor:  # before: the foreign keys on debate's rows
            cursor.execute("SELECT agent_id FROM debate_seat WHERE id = %s", [debater.pk])
            assert cursor.fetchone() == (agent.pk,)
            cursor.execute("SELECT batch_id FROM debate_session WHERE id = %s", [session.pk])
            assert cursor.fetchone() == (batch.pk,)
    finally:
        _migrate(latest)
    assert Seat.objects.get(pk=debater.pk).ai_player == "linked-bot"
    assert SeatAgent.objects.get(seat_id=debater.pk).agent_id == agent.pk
    assert BatchSession.objects.get(session_id=session.pk).batch_id == batch.pk
    assert not Seat.objects.filter(session=session, ai_player="linked-bot", user__isnull=False)
