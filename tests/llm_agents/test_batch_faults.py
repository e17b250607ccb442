"""What goes wrong in a batch, as a researcher would meet it, against stub providers through the
real SDKs: a budget that could never stop the batch (unpriced agents), a run whose sessions fail,
a database error in one session's turn, and `kill -9` of a multi-process run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from debate.models import Judgment, Session, Speech
from llm_agents.models import Agent, AITurn, BatchRun, LLMCall
from tests.factories import make_question, make_user
from tests.llm_stubs import Reply, batch_provider, run_batch

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CALLS_PER_CONSULTANCY = 3  # the judge's prior, one speech, the judge ends
DOOMED = "(the doomed question)"  # a question whose every call the stub refuses


@pytest.fixture
def stub(monkeypatch, settings):
    settings.BACKGROUND_MODE = "inprocess"
    with batch_provider(monkeypatch, prefix="fault-q") as server:
        yield server


def consultancy_batch(batch_id: str, *args: str, questions: int = 4) -> str:
    return run_batch(
        "--protocol",
        "consultancy",
        "--questions",
        str(questions),
        "--batch-id",
        batch_id,
        *args,
    )


# --------------------------------------------------------------------------------------------------
# A budget needs prices
# --------------------------------------------------------------------------------------------------


def test_a_budget_with_an_unpriced_agent_is_refused_before_any_call(stub):
    with pytest.raises(CommandError) as refused:
        consultancy_batch(
            "unpriced",
            "--debaters",
            "openai:my-finetune",
            "--judge",
            "openai:gpt-4o",  # in the price table: priced
            "--budget-usd",
            "5",
        )
    message = str(refused.value)
    assert "openai:my-finetune" in message and "openai:gpt-4o" not in message
    assert "--price-in" in message and "--price-out" in message
    assert stub.requests == [] and not BatchRun.objects.filter(batch_id="unpriced").exists()


def test_a_new_budget_on_resume_is_refused_while_an_agent_has_no_price(stub):
    consultancy_batch("later", "--debaters", "openai:c", "--judge", "openai:j")
    calls = len(stub.requests)
    with pytest.raises(CommandError, match="openai:c, openai:j"):
        run_batch("--batch-id", "later", "--budget-usd", "1")
    assert len(stub.requests) == calls
    assert BatchRun.objects.get(batch_id="later").budget_usd is None  # not kept either


def test_prices_on_the_command_line_let_the_budget_stop_the_batch(stub):
    # 1000 input tokens a call (the stub's usage) at $1000 per million: $1 a call.
    output = consultancy_batch(
        "priced",
        "--debaters",
        "openai:my-finetune",
        "--judge",
        "openai:my-judge",
        "--concurrency",
        "1",
        "--budget-usd",
        "1.5",
        "--price-in",
        "1000",
        "--price-out",
        "0",
    )
    assert "stopped at budget" in output and "--budget-usd <a bigger budget>" in output
    assert "Agent openai:my-finetune: $1000 in / $0 out per million tokens" in output
    batch = BatchRun.objects.get(batch_id="priced")
    assert (
        LLMCall.objects.filter(session__batch_link__batch=batch).count() == 2
    )  # $1, $2: then it stops
    assert Session.objects.filter(batch_link__batch=batch).exclude(status="finished").exists()


def test_price_in_without_price_out_is_refused(stub):
    with pytest.raises(CommandError, match="--price-in and --price-out together"):
        consultancy_batch(
            "half", "--debaters", "openai:c", "--judge", "openai:j", "--price-in", "3"
        )


def test_a_model_in_the_dated_price_table_is_priced_from_it_and_the_budget_counts(stub):
    output = consultancy_batch(
        "listed",
        "--debaters",
        "openai:gpt-4o",
        "--judge",
        "anthropic:claude-sonnet-4-5-20250929",  # a dated snapshot of a listed model
        "--concurrency",
        "1",
        "--budget-usd",
        "0.01",
    )
    assert "prices as of 2025-10: check them" in output  # the researcher sees they are dated
    judge = Agent.objects.get(name="anthropic:claude-sonnet-4-5-20250929")
    assert (judge.cost_input_per_mtok, judge.cost_output_per_mtok) == (3, 15)
    # A judge's call: 1000 in, 100 out = $0.0045; the consultant's at gpt-4o's $2.50/$10: $0.0035.
    assert "stopped at budget" in output
    batch = BatchRun.objects.get(batch_id="listed")
    cost = sum(
        LLMCall.objects.filter(session__batch_link__batch=batch).values_list("cost_usd", flat=True)
    )
    assert Decimal("0.01") <= cost < Decimal("0.02")


def test_a_nightly_batch_with_a_budget_takes_its_prices_from_the_configuration(stub, settings):
    from llm_agents.batches import UnpricedBudget
    from llm_agents.tasks import nightly_batches

    night = {"protocol": "consultancy", "debaters": "openai:c", "judge": "openai:j"}
    settings.NIGHTLY_BATCHES = [{"name": "n1", **night, "questions": 2, "budget_usd": 1}]
    with pytest.raises(UnpricedBudget, match="openai:c, openai:j"):
        nightly_batches()
    assert stub.requests == []
    settings.NIGHTLY_BATCHES = [
        {"name": "n2", **night, "questions": 2, "budget_usd": 100, "price_in": 2, "price_out": 8}
    ]
    assert nightly_batches() == ["done"]
    assert Agent.objects.get(name="openai:c").cost_output_per_mtok == 8


def test_the_price_table_says_when_its_prices_were_read():
    text = (ROOT / "llm_agents" / "model_prices.toml").read_text()
    assert 'prices_as_of = "2025-10"' in text and "CHECK THEM" in text


# --------------------------------------------------------------------------------------------------
# Failed sessions
# --------------------------------------------------------------------------------------------------


def test_a_batch_whose_sessions_all_failed_reports_failed_and_how_to_resume(stub, client):
    good = stub.script
    stub.script = lambda body: Reply(status=400)  # refused, and not worth retrying
    output = consultancy_batch("all-bad", "--debaters", "openai:c", "--judge", "openai:j")
    assert "Batch all-bad: failed." in output and "completed 0, failed 4" in output
    assert "All 4 sessions failed; the first: AI turn for judge (openai:j) failed: HTTP 400" in (
        output
    )
    assert "Resume with: python manage.py run_batch --batch-id all-bad " in output
    assert BatchRun.objects.get(batch_id="all-bad").status == BatchRun.Status.FAILED
    client.force_login(make_user("ops", is_staff=True))
    page = client.get("/batches/all-bad/").content.decode()
    assert "<b>failed</b>: 0 of 4 sessions completed, 4 failed" in page
    assert "python manage.py run_batch --batch-id all-bad" in page
    assert ">failed<" in client.get("/batches/").content.decode()
    stub.script = good  # the provider is back: the resume command finishes the batch
    output = run_batch("--batch-id", "all-bad")
    assert "Batch all-bad: done." in output and "completed 4, failed 0" in output
    assert "Resume with" not in output


def test_a_batch_with_some_failed_sessions_says_how_many_and_is_not_done(stub):
    make_question(external_id="fault-doomed", text=f"Whose count was accepted? {DOOMED}")
    good = stub.script
    stub.script = lambda body: Reply(status=400) if DOOMED in str(body) else good(body)
    output = consultancy_batch(
        "some-bad",
        "--debaters",
        "openai:c",
        "--judge",
        "openai:j",
        "--concurrency",
        "3",
        questions=7,  # every question once, the doomed one included
    )
    assert "Batch some-bad: failed." in output and "completed 6, failed 1" in output
    assert "1 of 7 sessions failed; the first: AI turn for judge" in output
    assert "Resume with: python manage.py run_batch --batch-id some-bad --concurrency 3" in output
    stub.script = good
    output = run_batch("--batch-id", "some-bad")
    assert "Batch some-bad: done." in output and "completed 7, failed 0" in output


def test_a_batch_whose_every_session_completed_is_done(stub):
    output = consultancy_batch("all-good", "--debaters", "openai:c", "--judge", "openai:j")
    assert "Batch all-good: done." in output and "Resume with" not in output
    assert BatchRun.objects.get(batch_id="all-good").status == BatchRun.Status.DONE


# --------------------------------------------------------------------------------------------------
# A database error in one session
# --------------------------------------------------------------------------------------------------


def test_a_database_error_in_one_sessions_turn_flags_it_and_the_others_complete(stub, monkeypatch):
    """As SQLite's "database is locked" after its busy timeout, at a concurrency of 64."""
    batch = consultancy_created("locked", questions=6)
    victim = Session.objects.filter(batch_link__batch=batch).order_by("pk")[2]
    save = LLMCall.save

    def locked_for_the_victim(self, *args, **kwargs):
        if self.session_id == victim.pk:
            raise OperationalError("database is locked")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(LLMCall, "save", locked_for_the_victim)
    output = run_batch("--batch-id", "locked", "--concurrency", "3")
    assert "Batch locked: failed." in output and "completed 5, failed 1" in output
    victim.refresh_from_db()
    assert victim.status != Session.Status.FINISHED
    assert "database error (OperationalError: database is locked)" in victim.attention
    claims = AITurn.objects.filter(session=victim)
    assert list(claims.values_list("status", flat=True)) == [AITurn.Status.FAILED]
    others = Session.objects.filter(batch_link__batch=batch).exclude(pk=victim.pk)
    assert all(s.status == Session.Status.FINISHED and not s.attention for s in others)

    monkeypatch.setattr(LLMCall, "save", save)  # the database is free again
    output = run_batch("--batch-id", "locked")
    assert "Batch locked: done." in output and "completed 6, failed 0" in output
    assert_every_turn_played_once(batch, sessions=6)


def test_a_database_error_outside_the_turn_itself_flags_the_session_too(stub, monkeypatch):
    """A database error where the turn cannot catch it (while claiming the turn): the batch
    flags the session and goes on."""
    from llm_agents import services

    batch = consultancy_created("claim-locked", questions=4)
    victim = Session.objects.filter(batch_link__batch=batch).order_by("pk").first()
    claim = services._claim

    def locked_claim(session, seat, turn_key):
        if session.pk == victim.pk:
            raise OperationalError("database is locked")
        return claim(session, seat, turn_key)

    monkeypatch.setattr(services, "_claim", locked_claim)
    output = run_batch("--batch-id", "claim-locked", "--concurrency", "2")
    assert "Batch claim-locked: failed." in output and "completed 3, failed 1" in output
    victim.refresh_from_db()
    assert victim.attention == (
        "The batch could not play this session: OperationalError: database is locked"
    )
    monkeypatch.setattr(services, "_claim", claim)
    assert "completed 4, failed 0" in run_batch("--batch-id", "claim-locked")
    assert_every_turn_played_once(batch, sessions=4)


# --------------------------------------------------------------------------------------------------
# kill -9 of a multi-process run
# --------------------------------------------------------------------------------------------------


KILLED_BATCH = (
    *("--protocol", "consultancy", "--debaters", "openai:c", "--judge", "openai:j"),
    *("--questions", "6", "--concurrency", "4", "--processes", "2", "--batch-id", "killed"),
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")
def test_killing_a_multi_process_batch_kills_its_workers_and_a_resume_plays_each_turn_once(
    stub, tmp_path
):
    fast = stub.script
    slow = {"on": True}
    stub.script = lambda body: replace(fast(body), delay=0.5 if slow["on"] else 0.0)
    log = tmp_path / "run_batch.log"
    with log.open("wb") as out:
        parent = subprocess.Popen(
            [sys.executable, "manage.py", "run_batch", *KILLED_BATCH],
            cwd=ROOT,
            env=manage_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    workers: list[int] = []
    try:
        # Mid-batch: the first turns answered and recorded, the next ones asked.
        wait_until(lambda: len(stub.requests) >= 6, 90, parent, log)
        workers = descendants(parent.pid)
        assert len(workers) >= 2, log.read_text()
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        gone = time.monotonic() + 20
        while time.monotonic() < gone and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        left = [pid for pid in workers if alive(pid)]
        assert not left, f"worker processes {left} still run after their parent was killed"
        calls = len(stub.requests)
        time.sleep(2)  # a slow reply takes 0.5 s: a live worker would call again by now
        assert len(stub.requests) == calls
    finally:
        for pid in [parent.pid, *workers]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=30)

    slow["on"] = False
    batch = BatchRun.objects.get(batch_id="killed")
    assert (
        Session.objects.filter(batch_link__batch=batch, status="finished").count() < 6
    )  # it was cut
    output = run_batch("--batch-id", "killed")
    assert "Batch killed: done." in output and "completed 6, failed 0" in output
    assert_every_turn_played_once(batch, sessions=6)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def consultancy_created(batch_id: str, *, questions: int) -> BatchRun:
    """A batch created, nothing played yet (run_batch --batch-id plays it)."""
    from llm_agents.batches import batch_create

    return batch_create(
        batch_id=batch_id,
        protocol_name="consultancy",
        debater_spec="openai:c",
        judge_spec="openai:j",
        questions=questions,
    )


def assert_every_turn_played_once(batch: BatchRun, *, sessions: int) -> None:
    """One speech and two judgments (the prior, the end) per session, every claim done."""
    for session in Session.objects.filter(batch_link__batch=batch):
        assert Speech.objects.filter(round__session=session).count() == 1
        assert Judgment.objects.filter(session=session).count() == 2
    turns = AITurn.objects.filter(session__batch_link__batch=batch)
    assert turns.count() == sessions * CALLS_PER_CONSULTANCY
    assert set(turns.values_list("status", flat=True)) == {AITurn.Status.DONE}


def manage_env() -> dict[str, str]:
    """This process's environment (the stub's URLs included) on the test database: the SQLite
    file this test uses, or the PostgreSQL test database."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["TEST_SQLITE_PATH"] = str(db["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}"
            f"/{db['NAME']}"
        )
    return env


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux: parent ids read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def wait_until(condition, seconds: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, "run_batch ended early:\n" + log.read_text()
        assert time.monotonic() < deadline, "run_batch too slow:\n" + log.read_text()
        time.sleep(0.05)
