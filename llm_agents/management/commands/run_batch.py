"""python manage.py run_batch: run AI-vs-AI debates or consultancies unattended, and watch them
(`--status`)."""

from __future__ import annotations

import shlex
import signal
import threading
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from llm_agents.batches import (
    BATCH_PROTOCOLS,
    JUDGE_ONLY_PROTOCOLS,
    BatchSummary,
    EndpointStats,
    ModelPrice,
    UnpricedBudget,
    agent_price_set,
    batch_agents,
    batch_create,
    batch_endpoints,
    batch_run,
    batch_summary,
    budget_check,
    default_engine,
    known_model_price,
    long_lived_code_frozen,
)
from llm_agents.models import BatchRun
from llm_agents.strategies import StrategyInvalid, strategy_from_cli


class Command(BaseCommand):
    help = (
        "Create and run a batch of AI-held sessions (or resume one with the same --batch-id). "
        "Agents are written provider:model, e.g. openai:gpt-4o, anthropic:claude-sonnet-4-5, "
        "vllm:Qwen/Qwen2.5-7B-Instruct (with VLLM_BASE_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--protocol",
            choices=list(BATCH_PROTOCOLS),
            default="debate",
            help="The paper's debate or consultancy, their open (Kenton et al.) and interactive "
            "(Khan et al.'s judge questions) rules, or the blind and oracle judges' baselines.",
        )
        parser.add_argument(
            "--rules",
            default="",
            metavar="NAME",
            help="Play a stored rule set instead of the protocol's own (made in the admin, e.g. "
            "with a minimum of speech rounds before the judge may end).",
        )
        parser.add_argument("--debaters", help="Agent for the debaters (or the consultant).")
        parser.add_argument("--debater-b", default="", help="A different agent for debater B.")
        parser.add_argument("--judge", help="Agent for the judge.")
        parser.add_argument(
            "--debater-strategy",
            default="",
            help='The debaters\' (consultant\'s) strategy: JSON like {"kind": "best_of_n", "n": 4} '
            "or the short form best_of_n:4, critique_refine (llm_agents/strategies.py).",
        )
        parser.add_argument(
            "--judge-strategy",
            default="",
            help='The judge\'s strategy: JSON like {"kind": "majority_vote", "k": 3} or the short '
            "form majority_vote:3, logprob_judge, position_swap.",
        )
        parser.add_argument("--questions", type=int, default=10)
        parser.add_argument(
            "--question-filter",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="Django lookup on questions, e.g. passage__source=gutenberg (repeatable).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Local engine: sessions played at once (default 4). The celery engine's workers "
            "decide theirs (celery worker --concurrency N).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Local engine: worker processes sharing the concurrency (one per core helps from "
            "C of ~16); giving it chooses the local engine unless --engine says otherwise.",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--budget-usd",
            type=Decimal,
            default=None,
            help="Stop when the calls cost this much; every agent needs a price (see below).",
        )
        parser.add_argument(
            "--price-in",
            type=Decimal,
            default=None,
            help="USD per million input tokens, for the agents the specs name (with --price-out; "
            "else llm_agents/model_prices.toml or the agent's prices in the admin).",
        )
        parser.add_argument(
            "--price-out", type=Decimal, default=None, help="USD per million output tokens."
        )
        parser.add_argument("--batch-id", default="", help="Name it; run again to resume.")
        parser.add_argument(
            "--engine",
            choices=[BatchRun.Engine.CELERY, BatchRun.Engine.LOCAL],
            default=None,
            help="celery: enqueue the turns for the Celery workers (the default when REDIS_URL is "
            "set; their own --concurrency decides how many run at once); local: play them in "
            "this process (the default in embedded mode).",
        )
        parser.add_argument(
            "--detach",
            action="store_true",
            help="celery engine: return once the turns are enqueued (follow with --status).",
        )
        parser.add_argument(
            "--status",
            metavar="BATCH_ID",
            default="",
            help="Show a batch's progress, per-endpoint throughput, errors and spend, and exit.",
        )

    def handle(self, *args, **options) -> None:
        if options["status"]:
            self._status(options["status"])
            return
        # --processes only means something to the local engine, so asking for it chooses it.
        engine = options["engine"] or (
            BatchRun.Engine.LOCAL if options["processes"] is not None else default_engine()
        )
        options["processes"] = options["processes"] or 1
        if options["detach"] and engine != BatchRun.Engine.CELERY:
            raise CommandError("--detach needs the celery engine (REDIS_URL, or --engine celery).")
        if options["concurrency"] is not None and engine == BatchRun.Engine.CELERY:
            raise CommandError(
                "--concurrency is the local engine's: on the celery engine each worker's own "
                "concurrency decides how many turns run at once (celery -A config worker "
                "--concurrency N, on as many machines as you like). Leave it out, or add "
                "--engine local to play the batch in this process."
            )
        if (options["price_in"] is None) != (options["price_out"] is None):
            raise CommandError("Give --price-in and --price-out together.")
        price = (
            ModelPrice(options["price_in"], options["price_out"], "the command line")
            if options["price_in"] is not None
            else None
        )
        try:
            strategies = {
                seat: strategy_from_cli(options[f"{seat}_strategy"])
                if options[f"{seat}_strategy"]
                else None
                for seat in ("debater", "judge")
            }
        except StrategyInvalid as error:
            raise CommandError(str(error)) from error
        batch_id = options["batch_id"]
        batch = BatchRun.objects.filter(batch_id=batch_id).first() if batch_id else None
        if batch is not None and any(strategies.values()):
            raise CommandError(
                "A batch keeps the strategies it was created with: leave out --debater-strategy "
                "and --judge-strategy to resume it, or give a new --batch-id."
            )
        if batch is None:
            judge_only = options["protocol"] in JUDGE_ONLY_PROTOCOLS and not options["rules"]
            if not options["judge"] or not (options["debaters"] or judge_only):
                raise CommandError(
                    "Give --debaters and --judge (or --batch-id of a batch to resume)."
                )
            try:
                filters = dict(f.split("=", 1) for f in options["question_filter"])
            except ValueError as error:
                raise CommandError("Write each --question-filter as FIELD=VALUE.") from error
            try:
                batch = batch_create(
                    batch_id=batch_id or f"batch-{BatchRun.objects.count() + 1}",
                    protocol_name=options["protocol"],
                    debater_spec=options["debaters"] or "",
                    debater_b_spec=options["debater_b"],
                    judge_spec=options["judge"],
                    questions=options["questions"],
                    seed=options["seed"],
                    budget_usd=options["budget_usd"],
                    question_filter=filters,
                    price=price,
                    debater_strategy=strategies["debater"],
                    judge_strategy=strategies["judge"],
                    rules_name=options["rules"],
                )
            except ValueError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(
                f"Created batch {batch.batch_id} with {options['questions']} sessions."
            )
        else:
            self.stdout.write(f"Resuming batch {batch.batch_id}.")
            if price is not None:
                for agent in batch_agents(batch):
                    agent_price_set(agent, price)
            if options["budget_usd"] is not None:
                try:
                    budget_check(batch_agents(batch), options["budget_usd"])
                except UnpricedBudget as error:
                    raise CommandError(str(error)) from error
                batch.budget_usd = options["budget_usd"]
                batch.save(update_fields=["budget_usd"])
        self._prices(batch)
        stop = threading.Event()

        def interrupt(signum, frame):
            self.stdout.write("\nStopping after the turns in flight; run again to resume.")
            stop.set()

        if engine == BatchRun.Engine.LOCAL:
            long_lived_code_frozen()
        else:
            self.stdout.write(
                "Its turns go to the Celery workers (their --concurrency decides how many run at "
                "once); Ctrl-C here stops the batch after the turns in flight."
            )
        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            summary = batch_run(
                batch,
                concurrency=options["concurrency"] or 4,
                processes=options["processes"],
                progress=None if options["detach"] else self._progress,
                stop=stop,
                engine=engine,
                detach=options["detach"],
            )
        except UnpricedBudget as error:  # refused before any call
            raise CommandError(str(error)) from error
        finally:
            signal.signal(signal.SIGINT, previous)
            if getattr(self, "_bar", None) is not None:
                self._bar.close()
        self.stdout.write("")
        if options["detach"]:
            self.stdout.write(
                f"Batch {batch.batch_id}: its turns are enqueued for the Celery workers. Follow it "
                f"with: python manage.py run_batch --status {shlex.quote(batch.batch_id)}"
            )
            return
        self._summary(summary, self._resume_command(batch.batch_id, options, engine))

    def _status(self, batch_id: str) -> None:
        batch = BatchRun.objects.filter(batch_id=batch_id).first()
        if batch is None:
            raise CommandError(f"No batch {batch_id!r}.")
        summary = batch_summary(batch)
        where = BatchRun.Engine(batch.engine).label
        budget = f" of ${batch.budget_usd}" if batch.budget_usd is not None else ""
        self.stdout.write(f"Batch {batch.batch_id} ({batch.protocol}, played {where}).")
        running = batch.status == BatchRun.Status.RUNNING
        resume = f"python manage.py run_batch --batch-id {shlex.quote(batch_id)}"
        self._summary(summary, "" if running else resume)
        self.stdout.write(f"Spent ${summary.cost_usd:.4f}{budget}.")
        endpoints = batch_endpoints(batch)
        if not endpoints:
            self.stdout.write("No calls yet.")
        for line in endpoint_lines(endpoints):
            self.stdout.write(line)

    def _prices(self, batch: BatchRun) -> None:
        """Say what each agent's calls are counted at, so that a researcher sees a price taken
        from the dated table (or no price at all) before the batch spends anything."""
        for agent in batch_agents(batch):
            listed = known_model_price(agent.provider, agent.model)
            source = (
                f" ({listed.source})"
                if listed
                and (listed.input, listed.output)
                == (agent.cost_input_per_mtok, agent.cost_output_per_mtok)
                else ""
            )
            price = (
                f"${_usd(agent.cost_input_per_mtok)} in / ${_usd(agent.cost_output_per_mtok)} "
                f"out per "
                f"million tokens{source}"
                if agent.priced
                else "no price: its calls count as $0"
            )
            self.stdout.write(f"Agent {agent.name}: {price}.")

    def _progress(self, s: BatchSummary) -> None:
        if getattr(self, "_bar", None) is None:
            self._bar = Progress(self.stdout, "sessions", s.sessions)
        note = f"{s.failed} failed · ${s.cost_usd:.4f}"
        self._bar.update(s.completed + s.failed, s.sessions, note)

    def _summary(self, s: BatchSummary, resume: str) -> None:
        accuracy = f"{s.accuracy:.0%}" if s.accuracy is not None else "n/a"
        self.stdout.write(
            f"Batch {s.batch_id}: {s.status}. Sessions {s.sessions}, completed {s.completed}, "
            f"failed {s.failed}; judge accuracy {accuracy} ({s.judge_correct}/{s.completed}); "
            f"tokens {s.input_tokens} in / {s.output_tokens} out; cost ${s.cost_usd:.4f}."
        )
        if s.failed:
            every = "All" if s.failed == s.sessions else f"{s.failed} of"
            self.stdout.write(f"{every} {s.sessions} sessions failed; the first: {s.first_failure}")
        if s.incomplete and resume:
            more = (
                " --budget-usd <a bigger budget>"
                if s.status == BatchRun.Status.BUDGET.label
                else ""
            )
            self.stdout.write(
                f"Resume with: {resume}{more}  (plays the {s.incomplete} unfinished sessions, "
                "retrying their failed turns; finished turns are not redone)"
            )

    @staticmethod
    def _resume_command(batch_id: str, options: dict, engine: str) -> str:
        command = f"python manage.py run_batch --batch-id {shlex.quote(batch_id)}"
        if engine != default_engine() and options["processes"] == 1:
            command += f" --engine {engine}"
        for option, default in (("concurrency", 4), ("processes", 1)):
            if options[option] not in (default, None):
                command += f" --{option} {options[option]}"
        return command


def endpoint_lines(endpoints: list[EndpointStats]) -> list[str]:
    """The per-endpoint table, one line each."""
    lines = []
    for e in endpoints:
        overall = f"{e.per_minute:.1f}/min overall" if e.per_minute is not None else "n/a overall"
        lines.append(
            f"  {e.endpoint}: {e.calls} calls ({e.calls_last_minute} in the last minute, "
            f"{overall}); {e.errors} with an error or note, {e.retries} retries; "
            f"${e.cost_usd:.4f}"
        )
    return lines


def _usd(amount: Decimal) -> str:
    return f"{amount.normalize():f}"  # 2.5, not 2.5000
