"""Batch runs from the command line, against stub providers: seeded sessions, consultant honest
in exactly half, a budget that stops the batch, and an interrupted batch resumed without redoing
a turn."""

from __future__ import annotations

import io
import threading
from decimal import Decimal

import pytest

from debate.models import Judgment, Session, Speech
from debate.protocol import Role
from llm_agents.batches import batch_run
from llm_agents.models import Agent, AITurn, BatchRun, LLMCall
from tests.llm_stubs import batch_provider, run_batch

pytestmark = pytest.mark.django_db(transaction=True)

CALLS_PER_CONSULTANCY = 3  # the judge's prior, one speech, the judge ends


@pytest.fixture
def stub(monkeypatch, settings):
    settings.BACKGROUND_MODE = "inprocess"
    with batch_provider(monkeypatch, prefix="batch-q") as server:
        yield server


def test_a_consultancy_batch_runs_to_the_end_with_a_summary(stub):
    output = run_batch(
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:stub-consultant",
        "--judge",
        "anthropic:stub-judge",
        "--questions",
        "4",
        "--concurrency",
        "2",
        "--seed",
        "7",
        "--batch-id",
        "nightly-1",
    )
    sessions = Session.objects.filter(batch_link__batch__batch_id="nightly-1")
    assert sessions.count() == 4
    assert all(s.status == Session.Status.FINISHED for s in sessions)
    honest = [
        s.seats.get(role=Role.CONSULTANT).answer_position == s.correct_position for s in sessions
    ]
    assert sum(honest) == 2  # exactly half
    assert "completed 4, failed 0" in output and "judge accuracy" in output
    assert "2/4 sessions" in output and "4/4 sessions · 0 failed" in output  # progress
    assert (
        LLMCall.objects.filter(session__batch_link__batch__batch_id="nightly-1").count()
        == 4 * CALLS_PER_CONSULTANCY
    )


def test_the_same_seed_gives_the_same_sessions(stub):
    for batch_id in ("seed-a", "seed-b"):
        BatchRun.objects.filter(batch_id=batch_id).delete()
        run_batch(
            "--protocol",
            "debate",
            "--debaters",
            "openai:d",
            "--judge",
            "openai:j",
            "--questions",
            "3",
            "--seed",
            "3",
            "--batch-id",
            batch_id,
            "--concurrency",
            "3",
        )
    shape = [
        [
            (s.question_id, tuple(s.answer_order))
            for s in Session.objects.filter(batch_link__batch__batch_id=batch_id).order_by(
                "external_id"
            )
        ]
        for batch_id in ("seed-a", "seed-b")
    ]
    assert shape[0] == shape[1]


def test_the_budget_stops_the_batch_and_a_bigger_one_resumes_it(stub):
    Agent.objects.create(
        name="openai:pricey",
        provider="openai",
        model="pricey",
        cost_input_per_mtok=Decimal(1000),
        cost_output_per_mtok=Decimal(0),
    )  # 1000 input tokens a call: $1 a call
    Agent.objects.create(
        name="openai:cheap", provider="openai", model="cheap", cost_input_per_mtok=Decimal("0.01")
    )  # a budget needs every agent priced
    output = run_batch(
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:pricey",
        "--judge",
        "openai:cheap",
        "--questions",
        "4",
        "--concurrency",
        "1",
        "--budget-usd",
        "1.5",
        "--batch-id",
        "b1",
    )
    assert "stopped at budget" in output and "Resume with" in output
    unfinished = (
        Session.objects.filter(batch_link__batch__batch_id="b1").exclude(status="finished").count()
    )
    assert unfinished > 0
    output = run_batch("--batch-id", "b1", "--budget-usd", "100")
    assert "Resuming batch b1" in output and "completed 4, failed 0" in output


def test_a_turn_of_many_calls_stops_within_one_call_of_the_budget(stub):
    """A majority-vote judge makes five calls a turn, at $1 each; its turn was let start (its
    first call was within the budget), but each later call is checked again: the turn stops after
    the call that spent the budget, saves nothing, and a bigger budget plays it afresh."""
    output = run_batch(
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:c",
        "--questions",
        "1",
        "--price-in",
        "1000",  # the stub's 1000 input tokens a call: $1 a call
        "--price-out",
        "0",
        "--judge",
        "openai:j",
        "--judge-strategy",
        "majority_vote:5",
        "--budget-usd",
        "2.5",
        "--batch-id",
        "votes",
    )
    assert "stopped at budget" in output
    calls = LLMCall.objects.filter(session__batch_link__batch__batch_id="votes")
    assert calls.count() == 3  # $1, $2, $3: the fourth would start with $3 spent of $2.50
    assert not Judgment.objects.filter(session__batch_link__batch__batch_id="votes").exists()
    assert not AITurn.objects.filter(
        session__batch_link__batch__batch_id="votes", status="running"
    ).exists()
    output = run_batch("--batch-id", "votes", "--budget-usd", "100")
    assert "completed 1, failed 0" in output
    prior = Judgment.objects.get(session__batch_link__batch__batch_id="votes", round__index=0)
    assert sum(prior.probabilities) == pytest.approx(1)


def test_an_interrupted_batch_resumes_without_redoing_a_turn(stub):
    run_batch(
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:c",
        "--judge",
        "openai:j",
        "--questions",
        "4",
        "--concurrency",
        "1",
        "--batch-id",
        "cut",
        "--budget-usd",
        "0",
        "--price-in",
        "1",
        "--price-out",
        "1",
    )  # created, stopped at once: nothing played
    batch = BatchRun.objects.get(batch_id="cut")
    batch.budget_usd = None
    batch.save()
    stop = threading.Event()

    def progress(summary):
        if summary.completed >= 1:
            stop.set()  # as Ctrl-C does

    first = batch_run(batch, concurrency=1, progress=progress, stop=stop)
    assert first.status == "interrupted" and 1 <= first.completed < 4
    output = run_batch("--batch-id", "cut")
    assert "completed 4, failed 0" in output
    assert (
        LLMCall.objects.filter(session__batch_link__batch=batch).count()
        == 4 * CALLS_PER_CONSULTANCY
    )


def test_a_bad_agent_spec_is_a_clear_error(stub):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="provider:model"):
        run_batch("--debaters", "gpt-4o", "--judge", "openai:j", "--questions", "1")


def test_staff_follow_a_batch_on_its_page(stub, client):
    run_batch(
        "--protocol",
        "consultancy",
        "--debaters",
        "openai:c",
        "--judge",
        "openai:j",
        "--questions",
        "2",
        "--batch-id",
        "page-1",
    )
    from tests.factories import make_user

    client.force_login(make_user("ops", is_staff=True))
    listing = client.get("/batches/").content.decode()
    assert "page-1" in listing and "2/2" in listing
    detail = client.get("/batches/page-1/").content.decode()
    # Done: no more polling; its sessions listed with links, status and outcome.
    assert 'hx-trigger="every 2s"' not in detail and "2 of 2 sessions completed" in detail
    sessions = list(Session.objects.filter(batch_link__batch__batch_id="page-1").order_by("pk"))
    assert all(f'href="/sessions/{s.pk}/"' in detail for s in sessions)
    assert "2 sessions." in detail and detail.count("the judge was ") == 2
    assert "ended by the judge" in detail and "Consultant: " in detail
    filtered = client.get("/batches/page-1/?status=in_progress").content.decode()
    assert "0 sessions." in filtered and "No session matches." in filtered
    BatchRun.objects.filter(batch_id="page-1").update(status=BatchRun.Status.RUNNING)
    running = client.get("/batches/page-1/?status=finished").content.decode()
    assert 'hx-get="/batches/page-1/?status=finished" hx-trigger="every 2s"' in running
    partial = client.get("/batches/page-1/?status=finished", headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body and "HX-Request" in partial["Vary"]
    assert "2 sessions." in body and 'id="batch-progress"' in body
    client.force_login(make_user("participant"))
    assert client.get("/batches/").status_code == 403


def test_the_nightly_task_runs_configured_batches_once_a_day(stub, settings):
    from llm_agents.tasks import nightly_batches

    settings.NIGHTLY_BATCHES = [
        {
            "name": "nightly",
            "protocol": "consultancy",
            "debaters": "openai:c",
            "judge": "openai:j",
            "questions": 2,
            "concurrency": 2,
        }
    ]
    assert nightly_batches() == ["done"]
    assert nightly_batches() == ["done"]  # the same night again: resumed, not duplicated
    batch = BatchRun.objects.get(batch_id__startswith="nightly-")
    assert Session.objects.filter(batch_link__batch=batch).count() == 2
    assert (
        LLMCall.objects.filter(session__batch_link__batch=batch).count()
        == 2 * CALLS_PER_CONSULTANCY
    )


def test_beat_schedules_the_nightly_batches_only_when_configured():
    import json
    import subprocess
    import sys

    probe = (
        "import django; django.setup(); from django.conf import settings; "
        "print(list(settings.CELERY_BEAT_SCHEDULE))"
    )
    env_on = {
        "NIGHTLY_BATCHES": json.dumps([{"name": "x", "debaters": "openai:a", "judge": "openai:b"}])
    }
    import os

    for extra, scheduled in (({}, False), (env_on, True)):
        env = {k: v for k, v in os.environ.items() if k != "NIGHTLY_BATCHES"}
        env.update(extra, DJANGO_SETTINGS_MODULE="config.settings_test")
        result = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
        # Other periodic jobs (notification emails) may be scheduled too, in Celery mode.
        assert ("'nightly-batches'" in result.stdout.strip().splitlines()[-1]) is scheduled


def test_a_batch_spread_over_worker_processes_plays_every_turn_once_and_stops_cleanly(stub):
    from llm_agents.batches import batch_create
    from llm_agents.models import AITurn

    batch = batch_create(
        batch_id="multi",
        protocol_name="consultancy",
        debater_spec="openai:c",
        judge_spec="openai:j",
        questions=6,
    )
    stop = threading.Event()
    stop.set()  # Ctrl-C before anything ran: the workers start, see it, and play nothing
    first = batch_run(batch, concurrency=4, processes=2, stop=stop)
    assert first.status == "interrupted" and first.completed == 0
    seen = []
    summary = batch_run(batch, concurrency=4, processes=2, progress=seen.append)
    assert summary.status == "done" and summary.completed == 6 and summary.failed == 0
    assert seen and seen[-1].completed == 6  # progress read from the database while they ran
    assert (
        LLMCall.objects.filter(session__batch_link__batch=batch).count()
        == 6 * CALLS_PER_CONSULTANCY
    )
    turns = AITurn.objects.filter(session__batch_link__batch=batch)
    assert turns.count() == 6 * CALLS_PER_CONSULTANCY
    assert set(turns.values_list("status", flat=True)) == {AITurn.Status.DONE}


@pytest.mark.parametrize(
    "protocol, rules, setting",
    [
        ("debate", "paper-debate", "ai_debate"),
        ("open-debate", "open-debate", "ai_open_debate"),
        ("open-consultancy", "open-consultancy", "ai_open_consultancy"),
        ("interactive-debate", "interactive-debate", "ai_debate"),
        ("interactive-consultancy", "interactive-consultancy", "ai_consultancy"),
        ("blind-judge", "blind-judge", "ai_blind_judge"),
        ("oracle-judge", "oracle-judge", "ai_oracle_judge"),
    ],
)
def test_a_batch_of_each_protocol_completes_and_analyze_batch_prints_its_table(
    stub, protocol, rules, setting
):
    """Every protocol run_batch names, against the stub through the real SDKs: each session
    plays to the end under its rules, and `analyze --batch` reports the batch's setting."""
    import json

    from django.core.management import call_command

    judge_only = protocol in ("blind-judge", "oracle-judge")
    experts = [] if judge_only else ["--debaters", "openai:stub-expert"]
    batch_id = f"each-{protocol}"
    output = run_batch(
        "--protocol", protocol, *experts, "--judge", "anthropic:stub-judge",
        "--questions", "2", "--concurrency", "2", "--batch-id", batch_id,
    )  # fmt: skip
    assert "completed 2, failed 0" in output, output
    sessions = Session.objects.filter(batch_link__batch__batch_id=batch_id)
    assert {s.rules.name for s in sessions} == {rules}
    assert all(s.status == Session.Status.FINISHED for s in sessions)
    speeches = Speech.objects.filter(round__session__in=sessions)
    judgments = Judgment.objects.filter(session__in=sessions)
    if judge_only:  # one final judgment on the question alone (or with the story), no speech
        assert not speeches.exists() and judgments.count() == 2
        assert all(j.end for j in judgments)
    else:
        assert speeches.exists()
    if protocol.startswith("interactive"):  # the judge asked, and the next speeches answered
        asked = [j for j in judgments if j.questions]
        assert asked and all(
            "Which line proves it?" in q for j in asked for q in j.questions.values()
        )
    if protocol.startswith("open"):  # the expert chose; nothing was assigned to it
        assert all(s.seats.filter(answer_chosen_at__isnull=False).count() == 1 for s in sessions)
    out = io.StringIO()
    call_command("analyze", "--json", "--batch", batch_id, stdout=out)
    data = json.loads(out.getvalue())
    assert data["sessions"] == 2 and data["batches"] == [batch_id]
    assert data["settings"][setting]["n"] == 2
    out = io.StringIO()
    call_command("analyze", "--batch", batch_id, stdout=out)
    assert "Beside the paper" in out.getvalue() and setting in out.getvalue()


def test_a_stored_rule_set_runs_by_name_and_an_unknown_one_is_refused(stub):
    """--rules plays rules made in the admin (here: the judge may end only after two rounds of
    speeches); a name that is not stored is refused with the names there are."""
    from django.core.management.base import CommandError

    from debate.models import Rules
    from debate.services import paper_rules

    paper = paper_rules("consultancy")
    Rules.objects.create(
        name="two-rounds-first",
        structure={**paper.structure, "min_speech_rounds_before_end": 2},
        scoring=paper.scoring,
    )
    output = run_batch(
        "--protocol", "consultancy", "--rules", "two-rounds-first", "--debaters", "openai:c",
        "--judge", "openai:j", "--questions", "1", "--batch-id", "stored",
    )  # fmt: skip
    assert "completed 1, failed 0" in output
    session = Session.objects.get(batch_link__batch__batch_id="stored")
    assert session.rules.name == "two-rounds-first"
    speech_rounds = session.rounds.filter(kind="sequential").count()
    assert speech_rounds >= 2  # the stub judge would have ended after one
    with pytest.raises(CommandError, match=r"No rule set named 'nope': one of .*two-rounds-first"):
        run_batch("--protocol", "consultancy", "--rules", "nope", "--debaters", "openai:c",
                  "--judge", "openai:j", "--questions", "1")  # fmt: skip
