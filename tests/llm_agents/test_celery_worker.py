"""The production path for real: AI turns enqueued on Celery through Redis and taken by a worker
process started here, against PostgreSQL. Runs in the PostgreSQL + Redis pass of CI; skipped
(saying why) in embedded mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from debate.models import Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import Agent
from tests.factories import make_question
from tests.llm_stubs import StubLLM, playing_script

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL")),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: runs in CI's second pass",
    ),
]


@pytest.fixture
def worker(settings):
    settings.BACKGROUND_MODE = "celery"
    db = django_settings.DATABASES["default"]
    url = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    with StubLLM(playing_script(judge_rounds=1)) as stub:
        env = {
            **os.environ,
            "DATABASE_URL": url,  # the test database, not the configured one
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "OPENAI_API_KEY": "k",
            "OPENAI_BASE_URL": stub.url + "/v1",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            yield stub
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_celery_worker_plays_an_ai_consultancy(worker):
    agent = Agent.objects.create(name="celery-agent", provider="openai", model="m")
    session = session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[
            SeatAssignment(Role.JUDGE, agent=agent),
            SeatAssignment(Role.CONSULTANT, agent=agent),
        ],
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        session.refresh_from_db()
        if session.status == Session.Status.FINISHED or session.attention:
            break
        time.sleep(0.5)
    assert session.status == Session.Status.FINISHED, session.attention or "worker too slow"
    assert len(worker.requests) == 3
