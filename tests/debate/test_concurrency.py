"""Two submissions for the same turn at the same moment, each on its own database connection:
exactly one is accepted, the other is told it is not its turn, and nothing is written twice.

On PostgreSQL (the CI run with DATABASE_URL) the session row lock serialises the two; on SQLite
its IMMEDIATE transactions do. The test runs on both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from debate.models import Judgment, Speech
from debate.protocol import RejectionCode, Role
from debate.services import MoveRejected
from tests.factories import judge, make_debate, speak

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 8


def race(*moves: Callable[[], object]) -> list[object]:
    """Start every move at the same instant on its own thread (and connection)."""
    barrier = threading.Barrier(len(moves))
    results: list[object] = [None] * len(moves)

    def run(index: int, move: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = move()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(moves)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def outcomes(results: list[object]) -> tuple[list[object], list[MoveRejected]]:
    errors = [r for r in results if isinstance(r, Exception)]
    unexpected = [e for e in errors if not isinstance(e, MoveRejected)]
    assert not unexpected, f"a racing move failed with an unexpected error: {unexpected!r}"
    return [r for r in results if not isinstance(r, Exception)], errors


def test_two_judgments_for_one_judge_turn_exactly_one_wins():
    for _ in range(ATTEMPTS):
        session = make_debate()
        results = race(
            lambda s=session: judge(s, [0.5, 0.5], "first"),
            lambda s=session: judge(s, [0.3, 0.7], "second"),
        )
        accepted, refused = outcomes(results)
        assert len(accepted) == 1 and len(refused) == 1
        assert refused[0].code == RejectionCode.NOT_YOUR_TURN
        assert "not your turn" in refused[0].message.lower()
        assert Judgment.objects.filter(session=session).count() == 1


def test_the_same_speech_sent_twice_at_once_is_saved_once():
    for _ in range(ATTEMPTS):
        session = make_debate()
        judge(session)
        speak(session, Role.DEBATER_A, "opening a")
        speak(session, Role.DEBATER_B, "opening b")
        judge(session)
        results = race(
            lambda s=session: speak(s, Role.DEBATER_A, "double click"),
            lambda s=session: speak(s, Role.DEBATER_A, "double click"),
        )
        accepted, refused = outcomes(results)
        assert len(accepted) == 1 and len(refused) == 1
        assert refused[0].code == RejectionCode.NOT_YOUR_TURN
        assert Speech.objects.filter(round__session=session, round__index=3).count() == 1


def test_both_simultaneous_openings_racing_are_both_accepted():
    """A simultaneous round admits both debaters at once: the lock must not lose either."""
    for _ in range(ATTEMPTS):
        session = make_debate()
        judge(session)
        results = race(
            lambda s=session: speak(s, Role.DEBATER_A, "a"),
            lambda s=session: speak(s, Role.DEBATER_B, "b"),
        )
        accepted, refused = outcomes(results)
        assert len(accepted) == 2 and not refused
        session.refresh_from_db()
        assert session.rounds.get(index=1).completed_at is not None
