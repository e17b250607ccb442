"""Batch runs: many AI-vs-AI sessions run unattended, within a budget, resumable.

Two engines play a batch's turns, behind one call (`batch_run`), both through `ai_turn_play`, the
same path as any AI turn:

- celery (production, REDIS_URL set): the due turns are tasks like any AI turn. The batch is
  marked as played on the queue (`BatchRun.engine`), so each finished turn enqueues the session's
  next (`ai_turns_schedule`, after the change commits) and the sweep resends lost ones; workers on
  any number of machines take them. The caller only follows progress from the database (or
  returns at once), and the worker that ends the last session settles the batch's status.
- local (embedded mode, or `--engine local`): a pool of C threads in this process (or spread over
  worker processes) each takes an unfinished session and plays its due turns until the session
  ends, fails or the budget is spent.

Everything is in the database, so running the same batch id again resumes where it stopped
without redoing a turn. The budget is kept across every worker: each turn reserves its expected
cost before calling (llm_agents/budget.py).

A session's fault (a provider that fails, a database that stays locked) flags that session and
never ends the batch; a batch that ran to the end is "done" only if every session completed, else
"failed". A budget is only accepted when every agent's calls have a price (from the command line,
the agent's own prices, or the dated table in llm_agents/model_prices.toml), checked before any
call.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import random
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from debate import events, protocol
from debate.models import Judgment, Question, Rules, Session
from debate.protocol import EXPERT_ROLES, Protocol, Role, live_roles
from debate.scoring import judge_correct
from debate.selectors import session_state
from debate.services import (
    SeatAssignment,
    blind_judge_rules,
    interactive_rules,
    open_rules,
    oracle_judge_rules,
    paper_rules,
    session_create,
)
from llm_agents import batch_worker
from llm_agents.models import Agent, AITurn, BatchRun, BatchSession, LLMCall
from llm_agents.providers import parse_spec
from llm_agents.services import ai_turn_play, ai_turns_schedule
from llm_agents.strategies import (
    Plain,
    Strategy,
    StrategyInvalid,
    strategy_check_seat,
    strategy_from_cli,
    strategy_label,
    strategy_parse,
)

logger = logging.getLogger(__name__)

PRICE_TABLE = Path(__file__).resolve().parent / "model_prices.toml"


@dataclass(frozen=True)
class BatchSummary:
    batch_id: str
    status: str
    sessions: int
    completed: int
    failed: int
    judge_correct: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    first_failure: str = ""  # what went wrong in one failed session (its attention message)

    @property
    def accuracy(self) -> float | None:
        return self.judge_correct / self.completed if self.completed else None

    @property
    def incomplete(self) -> int:
        return self.sessions - self.completed


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens, and where the figures come from."""

    input: Decimal
    output: Decimal
    source: str


def agent_from_spec(
    spec: str, price: ModelPrice | None = None, strategy: Strategy | None = None
) -> Agent:
    """The agent a `provider:model` spec names (created on first use), priced at ``price`` when
    given (the command line's prices); an unpriced agent whose model is in the price table takes
    the table's prices. With a strategy other than plain, the agent's name includes it
    (`openai:gpt-4o [best_of_n:4]`), so two strategies never share one agent."""
    config = parse_spec(spec)
    strategy = strategy or Plain()
    name = spec if strategy.kind == "plain" else f"{spec} [{strategy_label(strategy)}]"
    agent, _ = Agent.objects.get_or_create(
        name=name[:100],
        defaults={
            "provider": config.provider,
            "model": config.model,
            "base_url": config.base_url,
            "strategy": strategy.model_dump(mode="json"),
        },
    )
    price = price or (None if agent.priced else known_model_price(agent.provider, agent.model))
    if price is not None:
        agent_price_set(agent, price)
    return agent


def agent_price_set(agent: Agent, price: ModelPrice) -> None:
    if (agent.cost_input_per_mtok, agent.cost_output_per_mtok) == (price.input, price.output):
        return
    logger.info(
        "Agent %s priced at $%s in / $%s out per million tokens (%s)",
        agent,
        price.input,
        price.output,
        price.source,
    )
    agent.cost_input_per_mtok = price.input
    agent.cost_output_per_mtok = price.output
    agent.save(update_fields=["cost_input_per_mtok", "cost_output_per_mtok"])


def known_model_price(provider: str, model: str) -> ModelPrice | None:
    """The model's list price from llm_agents/model_prices.toml (a dated snapshot or alias takes
    its model's price), or None when it is not listed."""
    table = _price_table()
    prices = table.get(provider)
    if not isinstance(prices, dict):
        return None
    entry = prices.get(model) or prices.get(_SNAPSHOT_SUFFIX.sub("", model))
    if entry is None:
        return None
    return ModelPrice(
        input=Decimal(str(entry["input"])),
        output=Decimal(str(entry["output"])),
        source=f"{PRICE_TABLE.name}, prices as of {table['prices_as_of']}: check them",
    )


class UnpricedBudget(ValueError):
    """A budget some agent's calls cannot count against (they have no price)."""


def budget_check(agents: Iterable[Agent], budget_usd: Decimal | None) -> None:
    """Refuse (UnpricedBudget) a budget that could not count some agent's calls: an unpriced
    agent's calls cost $0, so the budget would never stop the batch."""
    if budget_usd is None:
        return
    unpriced = sorted({agent.name for agent in agents if not agent.priced})
    if unpriced:
        names = ", ".join(unpriced)
        raise UnpricedBudget(
            f"--budget-usd {budget_usd} cannot be kept: no price is known for {names}, so its "
            "calls would count as $0. Give --price-in and --price-out (USD per million tokens), "
            "set the agent's prices in the admin, or run without a budget."
        )


def batch_agents(batch: BatchRun) -> list[Agent]:
    """The agents holding the batch's seats."""
    return list(Agent.objects.filter(seat_links__seat__session__batch_link__batch=batch).distinct())


# The protocols a batch may run, by the name `run_batch --protocol` takes: the protocol, and
# whether its rules are open (the expert chooses the answer it argues: debate/services.py).
BATCH_PROTOCOLS: dict[str, tuple[Protocol, Callable[[Protocol], Rules]]] = {
    "debate": (Protocol.DEBATE, paper_rules),
    "consultancy": (Protocol.CONSULTANCY, paper_rules),
    "open-debate": (Protocol.DEBATE, open_rules),
    "open-consultancy": (Protocol.CONSULTANCY, open_rules),
    "interactive-debate": (Protocol.DEBATE, interactive_rules),
    "interactive-consultancy": (Protocol.CONSULTANCY, interactive_rules),
    # Khan et al.'s baselines: a judge alone, with no speeches (no --debaters needed).
    "blind-judge": (Protocol.CONSULTANCY, lambda _: blind_judge_rules()),
    "oracle-judge": (Protocol.CONSULTANCY, lambda _: oracle_judge_rules()),
}
JUDGE_ONLY_PROTOCOLS = ("blind-judge", "oracle-judge")


def batch_create(
    *,
    batch_id: str,
    protocol_name: str,
    debater_spec: str,
    judge_spec: str,
    questions: int,
    debater_b_spec: str = "",
    seed: int = 0,
    budget_usd: Decimal | None = None,
    question_filter: dict[str, str] | None = None,
    price: ModelPrice | None = None,
    debater_strategy: Strategy | None = None,
    judge_strategy: Strategy | None = None,
    rules_name: str = "",
) -> BatchRun:
    """Create the batch and its sessions: answer order randomised and, for consultancies, the
    consultant honest in exactly half (both seeded; under open rules the expert chooses).
    ``price`` prices the agents the specs name;
    a budget whose agents have no price is refused (UnpricedBudget, a ValueError). The strategies
    (llm_agents/strategies.py) go to the agents the specs name; one for the wrong kind of seat
    is refused (StrategyInvalid, a ValueError). ``rules_name`` plays a stored rule set (made in
    the admin, e.g. with a minimum of speech rounds) instead of the protocol's own rules."""
    if protocol_name not in BATCH_PROTOCOLS:
        raise ValueError(
            f"Unknown protocol {protocol_name!r}: one of " + ", ".join(BATCH_PROTOCOLS) + "."
        )
    chosen, rules_of = BATCH_PROTOCOLS[protocol_name]
    rules = _batch_rules(rules_name, chosen) if rules_name else rules_of(chosen)
    structure = rules.get_structure()
    taken = live_roles(chosen, structure)
    if Role.JUDGE not in taken:
        raise ValueError(f"The rules {rules.name!r} are judgeless: a batch needs its AI judge.")
    strategy_check_seat(debater_strategy or Plain(), "speaker")
    strategy_check_seat(judge_strategy or Plain(), "judge")
    pool = list(
        Question.objects.filter(**(question_filter or {})).order_by("pk").select_related("passage")
    )
    if len(pool) < 1:
        raise ValueError("No question matches the filter.")
    debatable = [q for q in pool if q.best_distractor_index is not None or len(q.answers) == 2]
    if not debatable:
        raise ValueError(
            f"None of the {len(pool)} questions matching the filter has a best distractor, so "
            "none has a second answer to debate."
        )
    pool = debatable  # the rest (no usable best-distractor vote) are left out, never guessed
    rng = random.Random(seed)
    picked = [pool[i % len(pool)] for i in rng.sample(range(max(questions, len(pool))), questions)]
    honest = [i < questions // 2 for i in range(questions)]
    rng.shuffle(honest)
    judge_agent = agent_from_spec(judge_spec, price, judge_strategy)
    speakers = [role for role in taken if role in EXPERT_ROLES]
    if speakers and not debater_spec:
        raise ValueError(f"The rules {rules.name!r} have experts: give their agent (--debaters).")
    debater = agent_from_spec(debater_spec, price, debater_strategy) if speakers else None
    debater_b = (
        agent_from_spec(debater_b_spec, price, debater_strategy) if debater_b_spec else debater
    )
    budget_check([a for a in (judge_agent, debater, debater_b) if a is not None], budget_usd)
    with transaction.atomic():
        batch = BatchRun.objects.create(
            batch_id=batch_id,
            protocol=protocol_name,
            debater_spec=debater_spec,
            debater_b_spec=debater_b_spec,
            judge_spec=judge_spec,
            questions=questions,
            seed=seed,
            budget_usd=budget_usd,
        )
        for index, question in enumerate(picked):
            seats = []
            if Role.DEBATER_A in speakers:
                seats = [
                    SeatAssignment(Role.DEBATER_A, agent=debater),
                    SeatAssignment(Role.DEBATER_B, agent=debater_b),
                ]
            elif Role.CONSULTANT in speakers and structure.open_choice:
                # The consultant chooses the answer it argues: none is assigned.
                seats = [SeatAssignment(Role.CONSULTANT, agent=debater)]
            elif Role.CONSULTANT in speakers:
                seats = [SeatAssignment(Role.CONSULTANT, agent=debater, honest=honest[index])]
            session = session_create(
                question=question,
                protocol_name=chosen,
                rules=rules,
                seats=[SeatAssignment(Role.JUDGE, agent=judge_agent), *seats],
                rng=rng,
                external_id=f"{batch_id}-{index}",
            )
            BatchSession.objects.create(session=session, batch=batch)  # before any turn is due
    return batch


def _batch_rules(name: str, chosen: Protocol) -> Rules:
    """A stored rule set by name, refused with the names there are."""
    rules = Rules.objects.filter(name=name).first()
    if rules is None:
        known = ", ".join(Rules.objects.order_by("name").values_list("name", flat=True))
        raise ValueError(f"No rule set named {name!r}: one of {known}.")
    rules.get_structure()  # a broken rule set fails here, naming its problem
    return rules


FOLLOW_POLL_S = 1.0  # how often a caller following a queued batch reads its progress


def default_engine() -> str:
    """The task queue's workers when background work goes to Celery, else this process."""
    return BatchRun.Engine.CELERY if settings.BACKGROUND_MODE == "celery" else BatchRun.Engine.LOCAL


def batch_run(
    batch: BatchRun,
    *,
    concurrency: int = 4,
    processes: int = 1,
    progress: Callable[[BatchSummary], None] | None = None,
    stop: threading.Event | None = None,
    engine: str | None = None,
    detach: bool = False,
) -> BatchSummary:
    """Play the batch's unfinished sessions to the end. A budget whose agents have no price is
    refused (UnpricedBudget) before anything is played.

    On the celery engine (the default when background work goes to Celery) the due turns are
    enqueued for the workers, whose own concurrency decides how many run at once; this call then
    follows the batch from the database until it stops (`stop` interrupts it after the turns in
    flight), or returns at once with ``detach``. On the local engine, `concurrency` sessions are
    played at a time, spread over `processes` worker processes (one interpreter's lock caps how
    many turns one process can prepare and record per second; the provider calls only wait)."""
    budget_check(batch_agents(batch), batch.budget_usd)
    stop = stop or threading.Event()
    if (engine or default_engine()) == BatchRun.Engine.CELERY:
        return _run_on_queue(batch, stop, progress, detach)
    # A resumed batch retries the turns that failed last time; finished turns stay finished.
    AITurn.objects.filter(session__batch_link__batch=batch, status=AITurn.Status.FAILED).delete()
    AITurn.objects.filter(session__batch_link__batch=batch, status=AITurn.Status.RUNNING).delete()
    Session.objects.filter(batch_link__batch=batch).exclude(attention="").update(attention="")
    pending = list(
        Session.objects.filter(batch_link__batch=batch)
        .exclude(status=Session.Status.FINISHED)
        .values_list("pk", flat=True)
    )
    BatchRun.objects.filter(pk=batch.pk).update(
        status=BatchRun.Status.RUNNING, engine=BatchRun.Engine.LOCAL
    )
    processes = max(1, min(processes, concurrency, len(pending) or 1))
    if processes > 1 and multiprocessing.current_process().daemon:
        # A Celery prefork worker's child may not start processes of its own.
        logger.warning("Batch %s: running in one process inside a worker.", batch.batch_id)
        processes = 1
    if processes == 1:
        over_budget = _play_sessions(batch, pending, concurrency, stop, progress)
    else:
        over_budget = _play_in_processes(batch, pending, concurrency, processes, stop, progress)
    outcome = batch_summary(batch)
    status = (
        BatchRun.Status.DONE
        if outcome.incomplete == 0
        else BatchRun.Status.INTERRUPTED
        if stop.is_set()
        else BatchRun.Status.BUDGET
        if over_budget
        else BatchRun.Status.FAILED  # played to the end, yet some sessions did not complete
    )
    BatchRun.objects.filter(pk=batch.pk).update(status=status)
    return batch_summary(batch)


def _play_sessions(
    batch: BatchRun,
    pending: list[int],
    concurrency: int,
    stop,
    progress: Callable[[BatchSummary], None] | None,
) -> bool:
    """Play `pending` sessions in this process, `concurrency` threads; True if the budget ran
    out."""
    lock = threading.Lock()
    over_budget = threading.Event()

    # A pooled PostgreSQL connection goes back to the pool after each session; a SQLite one stays
    # with its thread for the next session: closing the last connection to a WAL database
    # checkpoints it, which costs more than a whole AI turn.
    release = connection.vendor != "sqlite"

    def play(session_id: int) -> None:
        session = Session.objects.select_related("rules").get(pk=session_id)
        seats = {s.role: s for s in session.seats.select_related("agent_link__agent")}
        for seat in seats.values():
            seat.session = session
        state = session_state(session)
        while not stop.is_set() and not over_budget.is_set():
            if batch.budget_usd is not None and batch_cost(batch) >= batch.budget_usd:
                over_budget.set()
                return
            if state.finished:
                return
            seat = seats[min(str(r) for r in state.due)]
            turn = ai_turn_play(
                session_id=session_id,
                seat_id=seat.pk,
                turn_key=state.round_key,
                seat=seat,
                state=state,
            )
            if turn.outcome == "budget":
                over_budget.set()  # refused before its call: the fleet's spend leaves no room
                return
            if turn.move is None:
                return  # failed (staff will look), or another runner is playing it
            # The batch owns the session, so the next state is this one plus the move made.
            after = protocol.apply_move(state, turn.move)
            if isinstance(after, protocol.Rejection):
                return  # cannot happen: the move was checked under the lock
            state = after

    def work(session_id: int) -> None:
        if release:
            close_old_connections()
        try:
            play(session_id)
        except Exception as error:
            # One session's fault (a database still locked after its busy timeout, a bug) flags
            # that session; the others go on.
            logger.exception("Batch %s: session %s failed", batch.batch_id, session_id)
            _session_flag(
                session_id,
                f"The batch could not play this session: {type(error).__name__}: {error}",
            )
        finally:
            if progress:
                try:
                    with lock:
                        progress(batch_summary(batch))
                except DatabaseError:
                    logger.exception("Batch %s: progress not read", batch.batch_id)
            if release:
                close_old_connections()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for future in [pool.submit(work, pk) for pk in pending]:
            future.result()
    return over_budget.is_set()


def _run_on_queue(
    batch: BatchRun,
    stop: threading.Event,
    progress: Callable[[BatchSummary], None] | None,
    detach: bool,
) -> BatchSummary:
    """The celery engine: enqueue every unfinished session's due turn, then follow."""
    if batch.engine == BatchRun.Engine.LOCAL:
        # A local run's claims still running belong to a run that is over (resumed, killed).
        AITurn.objects.filter(
            session__batch_link__batch=batch, status=AITurn.Status.RUNNING
        ).delete()
    # A resumed batch retries the turns that failed last time; finished turns stay finished, and
    # a turn a worker still holds stays its (a claim whose lease ran out is taken over).
    AITurn.objects.filter(session__batch_link__batch=batch, status=AITurn.Status.FAILED).delete()
    Session.objects.filter(batch_link__batch=batch).exclude(attention="").update(attention="")
    BatchRun.objects.filter(pk=batch.pk).update(
        status=BatchRun.Status.RUNNING, engine=BatchRun.Engine.CELERY
    )
    batch.refresh_from_db(fields=["status", "engine"])
    pending = (
        Session.objects.filter(batch_link__batch=batch)
        .exclude(status=Session.Status.FINISHED)
        .values_list("pk", flat=True)
    )
    for session_id in list(pending):
        with transaction.atomic():  # sent when this commits
            ai_turns_schedule(session_id)
    batch_settle(batch)  # nothing left to play: done (or failed) at once
    if detach:
        return batch_summary(batch)
    while True:
        summary = batch_summary(batch)
        if progress:
            progress(summary)
        if stop.is_set():
            # Tasks still queued find their batch stopped and play nothing; the turns in flight
            # finish.
            BatchRun.objects.filter(pk=batch.pk, status=BatchRun.Status.RUNNING).update(
                status=BatchRun.Status.INTERRUPTED
            )
        batch.refresh_from_db(fields=["status"])
        if batch.status != BatchRun.Status.RUNNING and not batch_turns_in_flight(batch):
            return batch_summary(batch)
        time.sleep(FOLLOW_POLL_S)


def batch_turn_taken(session_id: int) -> None:
    """After a queued batch's turn (the task's wrapper calls it): a session that ended or was
    flagged may have been its batch's last, which settles the batch's status."""
    batch_pk = (
        Session.objects.filter(
            pk=session_id,
            batch_link__batch__engine=BatchRun.Engine.CELERY,
            batch_link__batch__status=BatchRun.Status.RUNNING,
        )
        .filter(Q(status=Session.Status.FINISHED) | ~Q(attention=""))
        .values_list("batch_link__batch_id", flat=True)
        .first()
    )
    if batch_pk is not None:
        batch_settle(BatchRun(pk=batch_pk))


def batch_settle(batch: BatchRun) -> None:
    """A running queued batch with no session left to play is done when every session completed,
    else failed (some were flagged)."""
    sessions = Session.objects.filter(batch_link__batch=batch)
    playable = sessions.exclude(status=Session.Status.FINISHED).filter(
        attention="", voided_at__isnull=True
    )
    if playable.exists():
        return
    incomplete = sessions.exclude(status=Session.Status.FINISHED).exists()
    BatchRun.objects.filter(
        pk=batch.pk, engine=BatchRun.Engine.CELERY, status=BatchRun.Status.RUNNING
    ).update(status=BatchRun.Status.FAILED if incomplete else BatchRun.Status.DONE)


def queued_batches_settle() -> None:
    """The sweep's part: settle every running queued batch whose last turn's task never reported
    (a worker killed right after the move)."""
    for batch in BatchRun.objects.filter(
        engine=BatchRun.Engine.CELERY, status=BatchRun.Status.RUNNING
    ):
        batch_settle(batch)


def batch_turns_in_flight(batch: BatchRun) -> int:
    """The batch's turns some worker holds now (claims running, leases not run out)."""
    return AITurn.objects.filter(
        session__batch_link__batch=batch,
        status=AITurn.Status.RUNNING,
        lease_until__gte=timezone.now(),
    ).count()


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint's calls in a batch (an agent's provider, base URL and model)."""

    provider: str
    base_url: str
    model: str
    calls: int
    errors: int  # calls logged with an error or a note (a failure, refusal, empty reply)
    retries: int  # transient failures retried inside calls (rate limits, 5xx, connection)
    cost_usd: Decimal
    calls_last_minute: int
    per_minute: float | None  # over the span from its first call to its last

    @property
    def endpoint(self) -> str:
        return f"{self.provider}:{self.model}" + (f" @ {self.base_url}" if self.base_url else "")


def batch_endpoints(batch: BatchRun) -> list[EndpointStats]:
    """Per endpoint: throughput, errors and spend, from the call log (every worker's)."""
    recent = timezone.now() - timedelta(minutes=1)
    rows = (
        LLMCall.objects.filter(session__batch_link__batch=batch)
        .values("agent__provider", "agent__base_url", "agent__model")
        .annotate(
            calls=Count("pk"),
            errors=Count("pk", filter=~Q(error="")),
            retries=Sum("retries"),
            cost=Sum("cost_usd"),
            first=Min("created_at"),
            last=Max("created_at"),
            recent=Count("pk", filter=Q(created_at__gte=recent)),
        )
        .order_by("agent__provider", "agent__base_url", "agent__model")
    )
    stats = []
    for row in rows:
        span_min = (row["last"] - row["first"]).total_seconds() / 60
        stats.append(
            EndpointStats(
                provider=row["agent__provider"],
                base_url=row["agent__base_url"],
                model=row["agent__model"],
                calls=row["calls"],
                errors=row["errors"],
                retries=row["retries"] or 0,
                cost_usd=row["cost"] or Decimal(0),
                calls_last_minute=row["recent"],
                per_minute=row["calls"] / span_min if span_min > 0 else None,
            )
        )
    return stats


def _session_flag(session_id: int, message: str) -> None:
    """Mark a session the batch could not play as needing attention, its unfinished claim failed
    (a resume or a staff retry takes the turn again). Best effort: the database may still be
    locked, and a session left unflagged still counts as not completed."""
    try:
        with transaction.atomic():
            AITurn.objects.filter(session_id=session_id, status=AITurn.Status.RUNNING).update(
                status=AITurn.Status.FAILED, error=message
            )
            Session.objects.filter(pk=session_id, attention="").update(attention=message)
            events.announce_session_changed(session_id)
    except DatabaseError:
        logger.exception("Session %s: could not be flagged (%s)", session_id, message)


def long_lived_code_frozen() -> None:
    """For a process that runs a batch and exits (the command, a worker process): everything
    loaded so far (Django, the SDKs, the app) lives as long as the process, so take it out of the
    garbage collector's sweeps, which would otherwise re-scan it for every turn's garbage. (Not for
    a long-lived server process: what it freezes is never collected.)"""
    gc.freeze()


def _play_in_processes(
    batch: BatchRun,
    pending: list[int],
    concurrency: int,
    processes: int,
    stop,
    progress: Callable[[BatchSummary], None] | None,
) -> bool:
    """Split `pending` over worker processes (llm_agents/batch_worker.py), each playing its share
    with its part of the concurrency. This process reports progress from the database and passes
    a stop on to the workers."""
    # Nothing of ours is held while the workers write; a PostgreSQL pool is closed too, which
    # stops its threads (it reopens when next used), so that the workers can be forked.
    for conn in connections.all():
        conn.close()
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's wrapper only
    # Fork only when no other thread runs here (a forked child would inherit their locks held);
    # a server's threads mean spawn.
    method = "fork" if threading.active_count() == 1 else "spawn"
    context = multiprocessing.get_context(method)
    shared_stop = context.Event()
    database = connection.settings_dict["NAME"]
    shares = [pending[i::processes] for i in range(processes)]
    threads = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=batch_worker.start,
        initargs=(database, shared_stop, os.getpid()),
    ) as pool:
        futures = [
            pool.submit(batch_worker.run_share, batch.pk, share, n)
            for share, n in zip(shares, threads, strict=True)
        ]
        finished = False
        while not finished:
            finished = not wait(futures, timeout=1.0).not_done
            if stop.is_set():
                shared_stop.set()
            if progress:
                progress(batch_summary(batch))
        return any(f.result() for f in futures)


def batch_cost(batch: BatchRun) -> Decimal:
    return LLMCall.objects.filter(session__batch_link__batch=batch).aggregate(c=Sum("cost_usd"))[
        "c"
    ] or Decimal(0)


def batch_summary(batch: BatchRun) -> BatchSummary:
    sessions = list(Session.objects.filter(batch_link__batch=batch).select_related("question"))
    finished = [s for s in sessions if s.status == Session.Status.FINISHED]
    finals = {
        j.session_id: j
        for j in Judgment.objects.filter(
            session__batch_link__batch=batch, end=True, kind=Judgment.Kind.LIVE
        )
    }
    correct = sum(
        1
        for s in finished
        if s.pk in finals and judge_correct(finals[s.pk].probabilities, s.correct_position)
    )
    usage = LLMCall.objects.filter(session__batch_link__batch=batch).aggregate(
        i=Sum("input_tokens"), o=Sum("output_tokens"), c=Sum("cost_usd")
    )
    batch.refresh_from_db(fields=["status"])
    flagged = [s for s in sessions if s.attention]
    return BatchSummary(
        batch_id=batch.batch_id,
        status=batch.get_status_display(),
        sessions=len(sessions),
        completed=len(finished),
        failed=len(flagged),
        judge_correct=correct,
        input_tokens=usage["i"] or 0,
        output_tokens=usage["o"] or 0,
        cost_usd=usage["c"] or Decimal(0),
        first_failure=min(flagged, key=lambda s: s.pk).attention if flagged else "",
    )


def nightly_batches_run(configs: list[dict], day: str) -> list[BatchSummary]:
    """Run each configured batch for ``day`` (YYYY-MM-DD); a batch already started that day is
    resumed, never duplicated. On the celery engine the batches are only enqueued (the task that
    calls this must not hold a worker for hours): their summaries say "running"."""
    strategies = [nightly_strategies(config) for config in configs]  # all checked first
    summaries = []
    for config, (debater_strategy, judge_strategy) in zip(configs, strategies, strict=True):
        batch_id = f"{config['name']}-{day}"
        batch = BatchRun.objects.filter(batch_id=batch_id).first()
        if batch is None:
            budget = config.get("budget_usd")
            price = None
            if "price_in" in config or "price_out" in config:
                if not ("price_in" in config and "price_out" in config):
                    raise ValueError(f"Batch {config['name']}: give price_in and price_out.")
                price = ModelPrice(
                    Decimal(str(config["price_in"])),
                    Decimal(str(config["price_out"])),
                    "NIGHTLY_BATCHES",
                )
            batch = batch_create(
                batch_id=batch_id,
                protocol_name=config.get("protocol", "debate"),
                debater_spec=config.get("debaters", ""),
                debater_b_spec=config.get("debater_b", ""),
                judge_spec=config["judge"],
                questions=int(config.get("questions", 10)),
                seed=int(config.get("seed", 0)),
                budget_usd=Decimal(str(budget)) if budget is not None else None,
                question_filter=config.get("question_filter") or {},
                price=price,
                debater_strategy=debater_strategy,
                judge_strategy=judge_strategy,
                rules_name=config.get("rules", ""),
            )
        summaries.append(
            batch_run(
                batch,
                concurrency=int(config.get("concurrency", 4)),
                processes=int(config.get("processes", 1)),
                detach=True,
            )
        )
    return summaries


def nightly_strategies(config: dict) -> tuple[Strategy | None, Strategy | None]:
    """A nightly batch's `debater_strategy` and `judge_strategy`, validated as run_batch's
    --debater-strategy and --judge-strategy are (the same pydantic models; each given as the
    JSON object or as the command line's short form, e.g. "best_of_n:4"), each for its kind of
    seat. Absent: the agents' plain strategy. A bad one is a ValueError naming the batch."""
    found: list[Strategy | None] = []
    seats: tuple[tuple[str, Literal["speaker", "judge"]], ...] = (
        ("debater_strategy", "speaker"),
        ("judge_strategy", "judge"),
    )
    for key, seat_kind in seats:
        value = config.get(key)
        try:
            strategy = (
                None
                if value in (None, "", {})
                else strategy_from_cli(value)
                if isinstance(value, str)
                else strategy_parse(value)
            )
            if strategy is not None:
                strategy_check_seat(strategy, seat_kind)
        except StrategyInvalid as error:
            raise ValueError(f"Batch {config.get('name', '?')}: {key}: {error}") from None
        found.append(strategy)
    return found[0], found[1]


# A dated snapshot (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929) or an alias (-latest, -0).
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest|0)$")


@cache
def _price_table() -> dict:
    with PRICE_TABLE.open("rb") as file:
        return tomllib.load(file, parse_float=Decimal)
