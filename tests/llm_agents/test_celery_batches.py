"""A batch on the celery engine over two real Celery worker processes (`celery -A config worker`,
started here on the test database and a redis-server of this test's own) against the stub
provider: every turn is played exactly once, whichever worker takes it, and the worker that
plays the last turn settles the batch. Runs in every pass (SQLite and PostgreSQL); skipped, saying
why, where redis-server is not installed, unless REQUIRE_CELERY_BATCH_TEST is set (CI's section
for it), where that is a failure."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from django.db.models import Count

from debate.models import Session, Speech
from llm_agents import batches
from llm_agents.batches import batch_create, batch_run
from llm_agents.models import AITurn, BatchRun, LLMCall
from tests.factories import make_question
from tests.llm_stubs import StubLLM, playing_script
from tests.reliability.test_redis_restart import RedisServer
from tests.reliability.workers import CeleryProcess, celery_env, publishing_to

REQUIRED = bool(os.environ.get("REQUIRE_CELERY_BATCH_TEST"))
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not shutil.which("redis-server") and not REQUIRED,
        reason="needs redis-server installed (the test starts its own on a free port)",
    ),
]

SESSIONS = 6
CALLS_PER_CONSULTANCY = 3  # the judge's prior, one speech, the judge ends
HANG_GUARD_S = 240  # only against a hang: the batch normally ends in seconds


@pytest.fixture
def broker(settings, tmp_path, monkeypatch):
    assert shutil.which("redis-server"), "REQUIRE_CELERY_BATCH_TEST is set: install redis-server"
    server = RedisServer(tmp_path)
    server.start()
    settings.BACKGROUND_MODE = "celery"
    monkeypatch.setattr(batches, "FOLLOW_POLL_S", 0.2)
    try:
        with publishing_to(f"redis://127.0.0.1:{server.port}/0"):
            yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        if server.process and server.process.poll() is None:
            server.stop()


def test_a_batch_over_two_celery_workers_plays_every_turn_once(broker, tmp_path):
    with StubLLM(playing_script(judge_rounds=1)) as stub:
        env = celery_env(broker, stub.url)
        flags = ["--loglevel", "INFO", "--without-heartbeat", "--without-mingle"]
        flags.append("--without-gossip")
        workers = [
            CeleryProcess(
                ["worker", "--pool", "threads", "--concurrency", "4", "-n", f"batch{i}@%h", *flags],
                env,
                tmp_path / f"worker{i}.log",
            )
            for i in (1, 2)
        ]
        try:
            for i in range(SESSIONS):
                make_question(external_id=f"celery-batch-q{i}")
            batch = batch_create(
                batch_id="two-workers",
                protocol_name="consultancy",
                debater_spec="openai:c",
                judge_spec="openai:j",
                questions=SESSIONS,
                question_filter={"external_id__startswith": "celery-batch-"},
            )
            deadline = time.monotonic() + HANG_GUARD_S
            stop = threading.Event()

            def guard(summary) -> None:
                if time.monotonic() > deadline or not all(w.alive() for w in workers):
                    stop.set()

            summary = batch_run(batch, engine="celery", progress=guard, stop=stop)
            logs = "\n\n".join(w.log_tail() for w in workers)
            assert summary.status == "done", logs
        finally:
            for w in workers:
                w.stop()
    assert summary.completed == SESSIONS and summary.failed == 0
    turns = AITurn.objects.filter(session__batch_link__batch=batch)
    assert turns.count() == SESSIONS * CALLS_PER_CONSULTANCY
    assert set(turns.values_list("status", flat=True)) == {AITurn.Status.DONE}
    assert set(turns.values_list("attempts", flat=True)) == {1}
    calls = LLMCall.objects.filter(session__batch_link__batch=batch)
    assert calls.count() == SESSIONS * CALLS_PER_CONSULTANCY == len(stub.requests)
    per_turn = calls.values("session", "seat", "turn_key").annotate(n=Count("pk"))
    assert {row["n"] for row in per_turn} == {1}
    assert Speech.objects.filter(round__session__batch_link__batch=batch).count() == SESSIONS
    assert (
        Session.objects.filter(batch_link__batch=batch, status=Session.Status.FINISHED).count()
        == SESSIONS
    )
    assert BatchRun.objects.get(pk=batch.pk).engine == BatchRun.Engine.CELERY
    took = [w.log.read_text(errors="replace").count("llm_agents.ai_turn[") for w in workers]
    print(f"tasks received by each worker: {took}")
