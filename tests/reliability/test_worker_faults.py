"""Faults under a real Celery worker (`celery -A config worker`, prefork as in production, on the
test database and a redis-server of the test's own): the pool process killed mid-turn, and Redis
restarted mid-turn. Either way the AI turn in flight is played exactly once, and the worker
process lives on."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest

from debate.models import Session, Speech
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent, AITurn, LLMCall
from tests.factories import judge, make_question, make_user
from tests.llm_stubs import StubLLM, playing_script
from tests.reliability.test_redis_restart import RedisServer
from tests.reliability.workers import (
    celery_env,
    publishing_to,
    start_beat,
    start_worker,
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server installed"),
]

# Short leases, so that a turn whose process died comes back within seconds. The deadline only
# has to outlast the moment between the model being called and the test killing the process.
SHORT_LEASES = {"AI_TURN_DEADLINE_S": "6", "AI_TURN_LEASE_MARGIN_S": "1", "AI_TURN_SWEEP_S": "1"}


@pytest.fixture
def broker(settings, tmp_path):
    """A redis-server of this test's own, where this process and the workers send tasks."""
    server = RedisServer(tmp_path)
    server.start()
    settings.BACKGROUND_MODE = "celery"
    try:
        with publishing_to(server_url(server)):
            yield server
    finally:
        if server.process and server.process.poll() is None:
            server.stop()


def test_a_killed_pool_process_leaves_the_turn_to_the_sweeper(broker, tmp_path):
    """kill -9 of the prefork child running the turn while the model is answering: the worker
    acknowledges the task as failed (WorkerLostError; task_reject_on_worker_lost is off), the
    claim's lease runs out, beat's sweep sends the turn again, and the worker's new pool process
    takes the claim over and plays it: once, with one more provider call."""
    held = HeldFirstCall()
    with StubLLM(held) as stub:
        env = celery_env(server_url(broker), stub.url, **SHORT_LEASES)
        worker = start_worker(env, tmp_path / "worker.log")
        beat = start_beat(env, tmp_path / "beat.log", tmp_path / "beat-schedule")
        try:
            session = consultancy_with_ai_consultant()
            judge(session, (0.5, 0.5))  # the consultant's turn goes to the worker
            wait_until(lambda: held.calls == 1, worker.log_tail)
            [child] = worker.pool_children()
            os.kill(child, signal.SIGKILL)
            speeches = Speech.objects.filter(round__session=session)
            wait_until(speeches.exists, lambda: "the turn was never played\n" + worker.log_tail())
            time.sleep(3)  # a second play, if any, would land now
            assert speeches.count() == 1
            claim = AITurn.objects.get(session=session)
            assert claim.status == AITurn.Status.DONE and claim.attempts == 2
            assert held.calls == 2  # the killed call and the one that played the turn
            # Only the call that returned is logged; the killed one never came back.
            assert LLMCall.objects.filter(session=session).count() == 1
            session.refresh_from_db()
            assert not session.attention
            assert worker.alive(), worker.log_tail()
            assert child not in worker.pool_children()  # a new pool process played it
            assert "WorkerLostError" in worker.log.read_text()
        finally:
            held.release.set()
            beat.stop()
            worker.stop()


def test_a_worker_survives_a_redis_restart_mid_turn(broker, tmp_path):
    """Redis is killed and started again (its data lost, the turn's message with it) while the
    model is answering: the turn in flight still ends and is saved, once; the worker process
    reconnects and plays the next turn."""
    held = HeldFirstCall()
    with StubLLM(held) as stub:
        worker = start_worker(celery_env(server_url(broker), stub.url), tmp_path / "worker.log")
        try:
            session = consultancy_with_ai_consultant()
            judge(session, (0.5, 0.5))
            wait_until(lambda: held.calls == 1, worker.log_tail)
            broker.stop()
            broker.start()
            wait_until(
                lambda: "Connection to broker lost" in worker.log.read_text(), worker.log_tail
            )
            held.release.set()  # the model answers only now, after the restart
            claims = AITurn.objects.filter(session=session)
            wait_until(lambda: claims.filter(status=AITurn.Status.DONE).exists(), worker.log_tail)
            judge(session, (0.6, 0.4))  # the next turn, sent to the restarted Redis
            speeches = Speech.objects.filter(round__session=session)
            wait_until(lambda: speeches.count() == 2, worker.log_tail)
            assert worker.alive(), worker.log_tail()
            # Each turn played once, by its first claim, with one provider call each: the turn
            # in flight was neither redone nor taken over.
            assert len({speech.round_id for speech in speeches}) == 2
            assert [(c.status, c.attempts) for c in claims] == [(AITurn.Status.DONE, 1)] * 2
            assert held.calls == 2
            assert LLMCall.objects.filter(session=session).count() == 2
            session.refresh_from_db()
            assert not session.attention
        finally:
            held.release.set()
            worker.stop()


class HeldFirstCall:
    """The stub model's script: its first call is held open until released (or a long time),
    every call after it answers at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.script = playing_script()

    def __call__(self, body: dict):
        self.calls += 1
        if self.calls == 1:
            self.release.wait(timeout=120)
        return self.script(body)


def consultancy_with_ai_consultant() -> Session:
    agent = Agent.objects.create(name="consultant", provider="openai", model="m")
    return session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[
            SeatAssignment(Role.JUDGE, user=make_user("judge")),
            SeatAssignment(Role.CONSULTANT, agent=agent),
        ],
    )


def server_url(server: RedisServer) -> str:
    return f"redis://127.0.0.1:{server.port}/0"
