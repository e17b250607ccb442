"""An AI turn is played exactly once, or flagged, never stuck: a claim is a lease, a claim whose
worker died is taken over once its lease runs out, a turn whose message was lost is enqueued
again by the sweep, and a late first worker cannot play the turn a second time."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from config.background import wait_for_background
from debate.models import Speech
from debate.protocol import Role
from llm_agents import services
from llm_agents.models import AITurn
from llm_agents.services import ai_turn_take, ai_turns_sweep
from tests.factories import judge
from tests.llm_agents.test_ai_turns import consultancy_with, inprocess  # noqa: F401
from tests.llm_stubs import StubLLM, playing_script

pytestmark = pytest.mark.django_db(transaction=True)


def due_consultant(stub):
    session = consultancy_with(stub)
    judge(session, [0.5, 0.5])
    wait_for_background(timeout=60)
    return session, session.seats.get(role=Role.CONSULTANT)


def test_a_claim_whose_lease_ran_out_is_taken_over_and_played_once():
    with StubLLM(playing_script()) as stub:
        session, seat = due_consultant(stub)
        # The worker that claimed turn 1 was killed: its claim stays RUNNING, its lease ran out.
        AITurn.objects.filter(session=session).delete()
        Speech.objects.filter(round__session=session).delete()
        stub.requests.clear()
        claim = AITurn.objects.create(
            session=session,
            seat=seat,
            turn_key="1",
            lease_until=timezone.now() - timedelta(seconds=1),
        )
        assert ai_turn_take(session_id=session.pk, seat_id=seat.pk, turn_key="1") == "done"
        claim.refresh_from_db()
        assert claim.status == AITurn.Status.DONE and claim.attempts == 2
        assert len(stub.requests) == 1
        assert Speech.objects.filter(round__session=session).count() == 1


def test_a_live_lease_keeps_a_second_delivery_out():
    with StubLLM(playing_script()) as stub:
        session = consultancy_with(stub)
        seat = session.seats.get(role=Role.CONSULTANT)
        AITurn.objects.create(
            session=session,
            seat=seat,
            turn_key="1",
            lease_until=timezone.now() + timedelta(seconds=300),
        )
        judge(session, [0.5, 0.5])
        wait_for_background(timeout=60)
        assert ai_turn_take(session_id=session.pk, seat_id=seat.pk, turn_key="1") == "duplicate"
        assert ai_turns_sweep() == 0  # held: the sweep leaves it alone
        assert stub.requests == []


def test_the_sweep_plays_a_turn_whose_message_was_lost_and_one_whose_worker_died(monkeypatch):
    with StubLLM(playing_script()) as stub:
        session, seat = due_consultant(stub)
        speeches = Speech.objects.filter(round__session=session)
        assert speeches.count() == 1
        # The judge moves on while the broker is down: the AI turn's message is lost.
        with monkeypatch.context() as broker_down:
            broker_down.setattr("llm_agents.services.enqueue", lambda *args, **kwargs: None)
            judge(session, [0.6, 0.4])
            wait_for_background(timeout=60)
        assert speeches.count() == 1  # nothing played, nothing will be without the sweep
        assert ai_turns_sweep() == 1
        wait_for_background(timeout=60)
        assert speeches.count() == 2
        # The next turn: its worker claims it and dies; the sweep waits for the lease to run out.
        with monkeypatch.context() as broker_down:
            broker_down.setattr("llm_agents.services.enqueue", lambda *args, **kwargs: None)
            judge(session, [0.7, 0.3])
            wait_for_background(timeout=60)
        turn_key = str(services.session_state(session).round_index)
        AITurn.objects.create(
            session=session,
            seat=seat,
            turn_key=turn_key,
            lease_until=timezone.now() + timedelta(seconds=300),
        )
        assert ai_turns_sweep() == 0  # still held
        AITurn.objects.filter(turn_key=turn_key).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert ai_turns_sweep() == 1
        wait_for_background(timeout=60)
        assert speeches.count() == 3
        assert AITurn.objects.get(turn_key=turn_key).attempts == 2
        assert len(stub.requests) == 3  # one call per turn played
    session.refresh_from_db()
    assert not session.attention


def test_a_late_first_worker_is_refused_without_flagging_the_session():
    taken_over = []
    script = playing_script()

    def first_worker_stalls_while_another_takes_over(body):
        if not taken_over:
            taken_over.append(True)
            # Its lease runs out during the call, and the sweep's task plays the turn.
            AITurn.objects.filter(turn_key="1").update(
                lease_until=timezone.now() - timedelta(seconds=1)
            )
            other = threading.Thread(
                target=lambda: taken_over.append(
                    services.ai_turn_take(session_id=session.pk, seat_id=seat.pk, turn_key="1")
                )
            )
            other.start()
            other.join(timeout=60)
        return script(body)

    with StubLLM(first_worker_stalls_while_another_takes_over) as stub:
        session = consultancy_with(stub)
        seat = session.seats.get(role=Role.CONSULTANT)
        with pytest.MonkeyPatch.context() as no_auto_turns:
            no_auto_turns.setattr("llm_agents.services.enqueue", lambda *args, **kwargs: None)
            judge(session, [0.5, 0.5])
        late = services.ai_turn_play(session_id=session.pk, seat_id=seat.pk, turn_key="1")
        assert taken_over == [True, "done"]
        assert late.outcome == "stale"
        assert Speech.objects.filter(round__session=session).count() == 1
        assert len(stub.requests) == 2  # the provider was called once more, no more
    session.refresh_from_db()
    assert not session.attention
