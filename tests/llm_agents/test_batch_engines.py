"""The celery engine of batches (llm_agents/batches.py) on the in-process background pool, which
takes `enqueue`d tasks as Celery workers do in production: every turn played once, the batch
settled by its last turn, a budget kept across concurrent workers, a stop and a resume, a batch
that only enqueues (nightly, --detach), and the operations view (--status, the staff page).
The same engine over real Celery worker processes: tests/llm_agents/test_celery_batches.py."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from config.background import wait_for_background
from debate.models import Session
from llm_agents import batches, budget
from llm_agents.batches import batch_create, batch_run
from llm_agents.models import Agent, AITurn, BatchRun, LLMCall
from llm_agents.services import ai_turns_schedule
from tests.factories import make_question, make_user
from tests.llm_stubs import Reply, StubLLM, playing_script

pytestmark = pytest.mark.django_db(transaction=True)

CALLS_PER_CONSULTANCY = 3  # the judge's prior, one speech, the judge ends
DOOMED = "(a question the stub refuses)"


@pytest.fixture
def stub(monkeypatch, settings):
    settings.BACKGROUND_MODE = "inprocess"  # enqueued tasks run on this process's pool
    monkeypatch.setattr(batches, "FOLLOW_POLL_S", 0.05)
    with StubLLM(playing_script(judge_rounds=1)) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        for i in range(6):
            make_question(external_id=f"engine-q{i}")
        yield server
        wait_for_background(timeout=60)


def consultancies(batch_id: str, questions: int = 4, **fields) -> BatchRun:
    return batch_create(
        batch_id=batch_id,
        protocol_name="consultancy",
        debater_spec=fields.pop("debater", "openai:c"),
        judge_spec="openai:j",
        questions=questions,
        question_filter={"external_id__startswith": "engine-"},
        **fields,
    )


def assert_every_turn_played_once(batch: BatchRun, sessions: int) -> None:
    turns = AITurn.objects.filter(session__batch_link__batch=batch)
    assert turns.count() == sessions * CALLS_PER_CONSULTANCY
    assert set(turns.values_list("status", flat=True)) == {AITurn.Status.DONE}
    calls = LLMCall.objects.filter(session__batch_link__batch=batch)
    assert calls.count() == sessions * CALLS_PER_CONSULTANCY
    per_turn = calls.values("session", "seat", "turn_key").annotate(n=Count("pk"))
    assert {row["n"] for row in per_turn} == {1}


def test_a_queued_batch_plays_every_turn_once_and_its_last_turn_settles_it(stub):
    batch = consultancies("queued")
    seen = []
    summary = batch_run(batch, engine="celery", progress=seen.append)
    assert summary.status == "done" and summary.completed == 4 and summary.failed == 0
    assert seen and seen[-1].completed == 4  # followed from the database
    batch.refresh_from_db()
    assert batch.engine == BatchRun.Engine.CELERY
    assert_every_turn_played_once(batch, 4)


def test_a_queued_batch_with_a_session_that_fails_is_failed_and_resumable(stub):
    make_question(external_id="engine-doomed", text=f"Who? {DOOMED}")
    good = stub.script
    stub.script = lambda body: Reply(status=400) if DOOMED in str(body) else good(body)
    batch = batch_create(
        batch_id="some-fail",
        protocol_name="consultancy",
        debater_spec="openai:c",
        judge_spec="openai:j",
        questions=7,
        question_filter={"external_id__startswith": "engine-"},
    )
    summary = batch_run(batch, engine="celery")
    assert summary.status == "failed" and summary.failed >= 1
    assert summary.completed + summary.failed == 7
    stub.script = good
    again = batch_run(batch, engine="celery")
    assert again.status == "done" and again.completed == 7


def test_the_budget_holds_across_concurrent_workers(stub):
    """Eight sessions' turns on eight background threads at once, each consultant call $1: a
    worker checking only what was spent would let every one of them start below the budget; with
    reservations the batch stops within one call's cost of it."""
    Agent.objects.create(
        name="openai:pricey",
        provider="openai",
        model="pricey",
        cost_input_per_mtok=Decimal(1000),  # the stub's 1000 input tokens: $1 a call
        cost_output_per_mtok=Decimal(0),
    )
    Agent.objects.create(
        name="openai:j", provider="openai", model="j", cost_input_per_mtok=Decimal("0.01")
    )
    batch = consultancies("fleet", questions=8, debater="openai:pricey", budget_usd=Decimal("3.5"))
    summary = batch_run(batch, engine="celery")
    assert summary.status == "stopped at budget" and summary.completed < 8
    one_call = max(
        LLMCall.objects.filter(session__batch_link__batch=batch).values_list("cost_usd", flat=True)
    )
    assert Decimal("3.5") - one_call <= summary.cost_usd <= Decimal("3.5") + one_call
    assert not AITurn.objects.filter(
        session__batch_link__batch=batch, status=AITurn.Status.RUNNING
    ).exists()
    batch.budget_usd = Decimal(100)
    batch.save()
    assert batch_run(batch, engine="celery").status == "done"
    assert_every_turn_played_once(batch, 8)


def test_a_reservation_counts_while_its_claim_runs_and_its_lease_lasts(stub):
    Agent.objects.create(
        name="openai:c", provider="openai", model="c", cost_input_per_mtok=Decimal(1000)
    )
    Agent.objects.create(
        name="openai:j", provider="openai", model="j", cost_input_per_mtok=Decimal(1000)
    )
    batch = consultancies("reserve", questions=3, budget_usd=Decimal("2.5"))
    sessions = list(Session.objects.filter(batch_link__batch=batch).order_by("pk"))
    lease = timezone.now() + timedelta(minutes=5)
    claims = []
    for session in sessions:
        seat = session.seats.select_related("agent_link__agent").get(role="judge")
        claim = AITurn.objects.create(session=session, seat=seat, turn_key="0", lease_until=lease)
        claims.append((claim, seat))
    first_guess = budget.turn_estimate(batch, claims[0][1])
    assert first_guess >= Decimal(1)  # the passage and prompt: 1000+ tokens at $1000 per million
    assert budget.turn_reserve(*claims[0], batch.pk)
    assert budget.turn_reserve(*claims[1], batch.pk)  # $1+ reserved, below $2.5
    assert budget.turn_reserve(*claims[2], batch.pk) is (2 * first_guess < Decimal("2.5"))
    # A worker killed mid-turn: its reservation no longer counts once its lease ran out.
    AITurn.objects.filter(pk__in=[c.pk for c, _ in claims[:2]]).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert budget.batch_reserved(batch) <= first_guess
    assert budget.turn_reserve(*claims[2], batch.pk)


def test_a_stopped_queued_batch_plays_nothing_more_and_resumes_each_turn_once(stub):
    release, called = threading.Event(), threading.Event()
    good = stub.script

    def held(body):
        called.set()
        release.wait(timeout=60)
        return good(body)

    stub.script = held
    batch = consultancies("stopped")
    stop = threading.Event()

    def progress(summary):
        called.wait(timeout=60)
        stop.set()  # Ctrl-C while a first turn is in flight
        if BatchRun.objects.get(pk=batch.pk).status == BatchRun.Status.INTERRUPTED:
            release.set()  # they may finish now; nothing after them may start

    first = batch_run(batch, engine="celery", progress=progress, stop=stop)
    assert first.status == "interrupted" and first.completed == 0
    assert (
        LLMCall.objects.filter(session__batch_link__batch=batch).count() <= 4
    )  # the judges' first turns
    assert ai_turns_schedule(Session.objects.filter(batch_link__batch=batch).first().pk) == 0
    output = io.StringIO()
    call_command("run_batch", "--batch-id", "stopped", "--engine", "celery", stdout=output)
    assert "completed 4, failed 0" in output.getvalue()
    assert_every_turn_played_once(batch, 4)


def test_a_local_batch_keeps_its_turns_and_a_queued_one_is_scheduled_after_each_change(stub):
    batch = consultancies("who-plays", questions=1)
    session = Session.objects.get(batch_link__batch=batch)
    BatchRun.objects.filter(pk=batch.pk).update(engine=BatchRun.Engine.LOCAL)
    assert ai_turns_schedule(session.pk) == 0  # the local pool plays it
    BatchRun.objects.filter(pk=batch.pk).update(
        engine=BatchRun.Engine.CELERY, status=BatchRun.Status.BUDGET
    )
    assert ai_turns_schedule(session.pk) == 0  # stopped
    BatchRun.objects.filter(pk=batch.pk).update(status=BatchRun.Status.RUNNING)
    from django.db import transaction

    with transaction.atomic():
        assert ai_turns_schedule(session.pk) == 1  # the judge's first turn, to the workers


def test_detach_only_enqueues_and_status_shows_each_endpoint(stub, client):
    out = io.StringIO()
    call_command(
        "run_batch",
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:c",
        "--judge",
        "openai:j",
        "--questions",
        "2",
        "--batch-id",
        "detached",
        "--engine",
        "celery",
        "--detach",
        stdout=out,
    )
    assert "python manage.py run_batch --status detached" in out.getvalue()
    batch = BatchRun.objects.get(batch_id="detached")
    wait_for_background(timeout=60)
    deadline = time.monotonic() + 60  # a guard against a hang, not a measure
    while BatchRun.objects.get(pk=batch.pk).status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        wait_for_background(timeout=60)
    status = io.StringIO()
    call_command("run_batch", "--status", "detached", stdout=status)
    text = status.getvalue()
    assert "Batch detached: done" in text and "on the task queue's workers" in text
    assert "openai:c: 2 calls" in text and "openai:j: 4 calls" in text  # one speech, 2 judgments
    assert "0 with an error or note, 0 retries" in text
    client.force_login(make_user("ops", is_staff=True))
    page = client.get("/batches/detached/").content.decode()
    assert "Calls per endpoint" in page and "<td>openai:j</td><td>4</td>" in page


def test_detach_needs_the_celery_engine(stub):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--detach needs the celery engine"):
        call_command("run_batch", "--batch-id", "x", "--engine", "local", "--detach")


def test_concurrency_on_the_celery_engine_is_refused_naming_the_workers_setting(stub):
    """The celery engine's turns run as the workers' concurrency allows: a --concurrency that
    would be ignored is refused before anything is created, saying where to set it."""
    from django.core.management.base import CommandError

    args = ["--protocol", "consultancy", "--debaters", "openai:c", "--judge", "openai:j"]
    with pytest.raises(CommandError, match="worker --concurrency N"):
        call_command("run_batch", *args, "--engine", "celery", "--concurrency", "64")
    assert not BatchRun.objects.exists()
    out = io.StringIO()
    call_command(
        "run_batch", *args, "--questions", "1", "--engine", "local", "--concurrency", "2",
        stdout=out,
    )  # fmt: skip
    assert "completed 1, failed 0" in out.getvalue()


def test_a_nightly_batch_on_the_celery_engine_is_only_enqueued(stub, settings, monkeypatch):
    from llm_agents.tasks import nightly_batches

    release = threading.Event()
    good = stub.script

    def held(body):
        release.wait(timeout=60)
        return good(body)

    stub.script = held
    monkeypatch.setattr(batches, "default_engine", lambda: BatchRun.Engine.CELERY)
    settings.NIGHTLY_BATCHES = [
        {"name": "night", "protocol": "consultancy", "debaters": "openai:c", "judge": "openai:j"}
    ]
    settings.NIGHTLY_BATCHES[0]["questions"] = 2
    assert nightly_batches() == ["running"]  # returned with its turns still on the queue
    release.set()
    wait_for_background(timeout=60)
    batch = BatchRun.objects.get(batch_id__startswith="night-")
    deadline = time.monotonic() + 60  # a guard against a hang, not a measure
    while BatchRun.objects.get(pk=batch.pk).status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        wait_for_background(timeout=60)
    assert BatchRun.objects.get(pk=batch.pk).status == "done"
    assert nightly_batches() == ["done"]  # the same night again: nothing left, not duplicated


def test_status_of_a_batch_still_running_offers_no_resume(stub):
    consultancies("not-yet", questions=1)
    out = io.StringIO()
    call_command("run_batch", "--status", "not-yet", stdout=out)
    text = out.getvalue()
    assert "Batch not-yet: running" in text and "No calls yet." in text
    assert "Resume with" not in text
