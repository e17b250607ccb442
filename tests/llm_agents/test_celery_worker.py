"""The production path for real: AI turns enqueued on Celery through Redis and taken by a worker
process started here, against PostgreSQL. Runs in the PostgreSQL + Redis pass of CI; skipped
(saying why) in embedded mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from debate.models import Session, Speech
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent, AITurn
from tests.factories import judge, make_question, make_user
from tests.llm_stubs import StubLLM, playing_script

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: runs in CI's second pass",
    ),
]


def start_worker(stub: StubLLM, *extra: str, **env_extra: str) -> subprocess.Popen:
    """A real Celery worker process on the test database and the configured Redis."""
    db = django_settings.DATABASES["default"]
    url = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,  # the test database, not the configured one
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": stub.url + "/v1",
        **env_extra,
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
    command += ["--loglevel", "WARNING", "--without-heartbeat", "--without-mingle", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def worker(settings):
    settings.BACKGROUND_MODE = "celery"
    with StubLLM(playing_script(judge_rounds=1)) as stub:
        process = start_worker(stub)
        try:
            yield stub
        finally:
            stop(process)


def test_a_celery_worker_plays_an_ai_consultancy(worker):
    agent = Agent.objects.create(name="celery-agent", provider="openai", model="m")
    session = consultancy(judge=SeatAssignment(Role.JUDGE, agent=agent), consultant=agent)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if session.status == Session.Status.FINISHED or session.attention:
            break
        time.sleep(0.5)
    assert session.status == Session.Status.FINISHED, session.attention or "worker too slow"
    assert len(worker.requests) == 3


def test_a_worker_killed_mid_turn_leaves_the_turn_to_the_next_worker(settings, tmp_path):
    """kill -9 of the worker while the model is answering: the claim's lease runs out, the
    sweep (beat, embedded in the second worker here) sends the turn again, the next worker takes
    the claim over and plays it: once, with one more provider call."""
    settings.BACKGROUND_MODE = "celery"
    script = playing_script()
    calls = []

    def first_call_hangs(body):
        calls.append(time.monotonic())
        reply = script(body)
        return replace(reply, delay=120) if len(calls) == 1 else reply

    short = {"AI_TURN_DEADLINE_S": "3", "AI_TURN_LEASE_MARGIN_S": "1", "AI_TURN_SWEEP_S": "1"}
    with StubLLM(first_call_hangs) as stub:
        first = start_worker(stub, **short)
        second = None
        try:
            agent = Agent.objects.create(name="killed", provider="openai", model="m")
            session = consultancy(
                judge=SeatAssignment(Role.JUDGE, user=make_user("kjudge")), consultant=agent
            )
            judge(session, [0.5, 0.5])  # the consultant's turn goes to the first worker
            wait_until(lambda: len(calls) == 1, "the first worker never called the model")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            claim = AITurn.objects.get(session=session)
            assert claim.status == AITurn.Status.RUNNING  # what the dead worker left
            second = start_worker(
                stub, "--beat", "--schedule", str(tmp_path / "beat-schedule"), **short
            )
            speeches = Speech.objects.filter(round__session=session)
            wait_until(lambda: speeches.exists(), "the turn was never played")
            time.sleep(3)  # a second play, if any, would land now
            assert speeches.count() == 1
            claim.refresh_from_db()
            assert claim.status == AITurn.Status.DONE and claim.attempts == 2
            assert len(calls) == 2  # the provider was called once more, no more
            session.refresh_from_db()
            assert not session.attention
        finally:
            stop(first)
            if second is not None:
                stop(second)


def consultancy(*, judge: SeatAssignment, consultant: Agent) -> Session:
    return session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[judge, SeatAssignment(Role.CONSULTANT, agent=consultant)],
    )


def wait_until(condition, message: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(message)
