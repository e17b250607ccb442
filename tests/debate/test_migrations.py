"""Upgrading a database across the move of the judge's moves into the protocol app (debate 0017,
judging 0008 and 0009) keeps every judgment and the fact of every survey: the rows are made with
today's models, the schema is taken back to before the move, and forward again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from debate.models import Judgment, Seat
from debate.protocol import Role
from judging.models import SurveyResponse
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
