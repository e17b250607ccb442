"""Agents (configured LLMs that can hold a seat), the log of every call made for them, and the
claim on each AI turn that makes background turns idempotent.

API keys never live here, only in the environment: the variable named by `api_key_env`, or the
provider's standard one (OPENAI_API_KEY, ANTHROPIC_API_KEY)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models

from llm_agents.strategies import StrategyInvalid, strategy_default, strategy_parse

if TYPE_CHECKING:
    from debate.models import Seat

# What a cached input token costs, as a share of an input token's price, when the agent names no
# price of its own: OpenAI bills cache reads at half price (its newer models at less: set their
# price on the agent), Anthropic at a tenth and cache writes (5-minute cache) at 125%. An
# OpenAI-compatible server (vLLM) bills nothing itself: no discount is assumed.
CACHED_INPUT_SHARE = {"openai": Decimal("0.5"), "anthropic": Decimal("0.1")}
CACHE_WRITE_SHARE = {"anthropic": Decimal("1.25")}


def http_url(value: str) -> None:
    """An http(s) URL with a host. Unlike Django's URLValidator it takes a host without a dot
    (`http://gpu-host:8000/v1`), as GPU servers on a private network are often named."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"Not an http(s) URL: {value!r}.")


class Agent(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI_COMPATIBLE = "openai-compatible", "OpenAI-compatible (e.g. vLLM)"

    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=30, choices=Provider.choices)
    model = models.CharField(max_length=200)
    base_url = models.CharField(
        max_length=200,
        blank=True,
        validators=[http_url],
        help_text="For OpenAI-compatible servers such as vLLM.",
    )
    replica_urls = models.JSONField(
        default=list,
        blank=True,
        help_text="More base URLs serving the same model (vLLM replicas), as a JSON list, e.g. "
        '["http://gpu-2:8000/v1", "http://gpu-3:8000/v1"]. Each call goes to the least-loaded '
        "one that is up.",
    )
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable holding the API key."
    )
    sampling = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"temperature": 0.7, "max_tokens": 800}'
    )
    prompt_version = models.CharField(max_length=50, default="v1")
    strategy = models.JSONField(
        default=strategy_default,
        blank=True,
        help_text='How it plays its seat (llm_agents/strategies.py): {"kind": "plain"}; for '
        'debaters {"kind": "best_of_n", "n": 4, "preference_model": null} or '
        '{"kind": "critique_refine", "critic_model": null}; for judges '
        '{"kind": "majority_vote", "k": 5}, {"kind": "logprob_judge"} or '
        '{"kind": "position_swap"}.',
    )
    timeout_s = models.FloatField(
        null=True, blank=True, help_text="Deadline for one call, in seconds (default 60)."
    )
    cost_input_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="USD per million input tokens."
    )
    cost_output_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="USD per million output tokens."
    )
    cost_cached_input_per_mtok = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="USD per million input tokens read from the provider's prompt cache (empty: "
        "50% of the input price for OpenAI, 10% for Anthropic, 100% otherwise).",
    )
    cost_cache_write_per_mtok = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="USD per million input tokens written to the prompt cache (empty: 125% of the "
        "input price for Anthropic, 100% otherwise).",
    )
    max_concurrency = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most calls at once to each endpoint (base URL and model), across all workers "
        "(empty: LLM_ENDPOINT_LIMITS, else LLM_CONCURRENCY_PER_ENDPOINT).",
    )
    requests_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most requests a minute to each endpoint, across all workers (empty: "
        "LLM_ENDPOINT_LIMITS, else none).",
    )
    tokens_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most tokens (input and output) a minute to each endpoint, across all workers "
        "(empty: LLM_ENDPOINT_LIMITS, else none).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.strategy = strategy_parse(self.strategy).model_dump(mode="json")
        except StrategyInvalid as error:
            raise ValidationError({"strategy": str(error)}) from None
        urls = self.replica_urls
        if urls in (None, ""):
            self.replica_urls = urls = []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ValidationError({"replica_urls": "Give a JSON list of base URLs."})
        for url in urls:
            try:
                http_url(url)
            except ValidationError as error:
                raise ValidationError({"replica_urls": error.messages}) from None
        if urls and self.provider != self.Provider.OPENAI_COMPATIBLE:
            raise ValidationError(
                {"replica_urls": "Replicas are for OpenAI-compatible servers (vLLM)."}
            )

    @property
    def cached_input_price(self) -> Decimal:
        """USD per million input tokens read from the prompt cache."""
        if self.cost_cached_input_per_mtok is not None:
            return Decimal(self.cost_cached_input_per_mtok)
        share = CACHED_INPUT_SHARE.get(self.provider, Decimal(1))
        return Decimal(self.cost_input_per_mtok) * share

    @property
    def cache_write_price(self) -> Decimal:
        """USD per million input tokens written to the prompt cache."""
        if self.cost_cache_write_per_mtok is not None:
            return Decimal(self.cost_cache_write_per_mtok)
        share = CACHE_WRITE_SHARE.get(self.provider, Decimal(1))
        return Decimal(self.cost_input_per_mtok) * share

    @property
    def priced(self) -> bool:
        """Whether its calls cost anything (an agent at the default 0/0 is unpriced: a budget
        could never count its calls)."""
        return bool(self.cost_input_per_mtok or self.cost_output_per_mtok)

    def seat_take(self, seat: Seat) -> None:
        """Hold ``seat`` (the protocol's `AIHolder`: its services call this in their
        transaction, having set the seat's `ai_player`)."""
        SeatAgent.objects.update_or_create(seat=seat, defaults={"agent": self})


def seat_release(seat: Seat) -> None:
    """A person now holds ``seat``: no agent does."""
    SeatAgent.objects.filter(seat=seat).delete()


class LLMCall(models.Model):
    """One call to a provider: what was asked, what came back, what it cost."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="calls")
    session = models.ForeignKey(
        "debate.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="llm_calls"
    )
    seat = models.ForeignKey(
        "debate.Seat", null=True, blank=True, on_delete=models.CASCADE, related_name="llm_calls"
    )
    turn_key = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=50)
    prompt = models.JSONField(help_text="System prompt and messages as sent.")
    response = models.TextField(blank=True, help_text="The full reply, hidden reasoning included.")
    error = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(
        default=0, help_text="All input tokens, cached ones included."
    )
    cached_input_tokens = models.PositiveIntegerField(
        default=0, help_text="Of the input tokens, those read from the provider's prompt cache."
    )
    cache_write_input_tokens = models.PositiveIntegerField(
        default=0, help_text="Of the input tokens, those written to the prompt cache (Anthropic)."
    )
    output_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    retries = models.PositiveSmallIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    cache_saving_usd = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=0,
        help_text="What prompt caching saved on this call (negative when writing the cache cost "
        "more than reading it saved).",
    )
    served_by = models.CharField(
        max_length=300, blank=True, help_text="The base URL (replica) that answered."
    )
    unverified_quote_share = models.FloatField(null=True, blank=True)
    # What the agent's strategy (llm_agents/strategies.py) made of this call, so an analysis can
    # split by them: the strategy's label, the call's purpose in the turn, the candidate (or
    # sample) it belongs to, the score it gave or got, and the strategy's own details.
    strategy = models.CharField(max_length=300, blank=True, default="plain")
    purpose = models.CharField(
        max_length=30,
        blank=True,
        help_text="speech, vote, judge, candidate, preference, draft, critique, refine, "
        "judge-sample, judge-letter, judge-swapped.",
    )
    candidate_index = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The candidate (best-of-N) or sample (majority vote)."
    )
    score = models.FloatField(
        null=True,
        blank=True,
        help_text="Best-of-N: the preference judge's P(the speaker's answer) for the candidate.",
    )
    strategy_detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["session", "turn_key"])]

    def __str__(self) -> str:
        return f"{self.agent} call {self.pk}"


class AITurn(models.Model):
    """The claim on one AI move, keyed by session and turn: a redelivered or duplicated task
    finds the claim and does nothing while its lease runs. The lease (`lease_until`) lasts a
    little past the turn's deadline; a claim still RUNNING after it (its worker was killed) is
    taken over by the next task for the turn, which the sweeper sends (`attempts` counts them)."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    session = models.ForeignKey("debate.Session", on_delete=models.CASCADE, related_name="ai_turns")
    seat = models.ForeignKey("debate.Seat", on_delete=models.CASCADE, related_name="ai_turns")
    turn_key = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    # A batch turn's share of the budget, held while its claim runs (llm_agents/budget.py): what
    # its calls are expected to cost, so that every worker sees it before making a call.
    reserved_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "seat", "turn_key"], name="ai_turn_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"AI turn {self.turn_key} of session {self.session_id} ({self.status})"


class SeatAgent(models.Model):
    """Which agent holds an AI's seat. The link is this app's: the protocol app's seat keeps only
    that an AI holds it, and its name (`Seat.ai_player`)."""

    seat = models.OneToOneField(
        "debate.Seat", primary_key=True, on_delete=models.CASCADE, related_name="agent_link"
    )
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="seat_links")

    def __str__(self) -> str:
        return f"{self.agent} in {self.seat}"


def seat_agent(seat: Seat) -> Agent:
    """The agent holding an AI's ``seat`` (read with ``select_related("agent_link__agent")`` to
    save a query)."""
    return seat.agent_link.agent


class BatchRun(models.Model):
    """Many AI-held sessions run unattended (e.g. nightly), resumable by its id."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        INTERRUPTED = "interrupted", "interrupted"
        BUDGET = "budget", "stopped at budget"
        DONE = "done", "done"  # every session completed
        FAILED = "failed", "failed"  # it ran to the end, but some sessions did not complete

    class Engine(models.TextChoices):
        LOCAL = "local", "in this process"
        CELERY = "celery", "on the task queue's workers"

    batch_id = models.CharField(max_length=100, unique=True)
    protocol = models.CharField(max_length=40)  # a run_batch --protocol name
    debater_spec = models.CharField(max_length=200)
    debater_b_spec = models.CharField(max_length=200, blank=True)
    judge_spec = models.CharField(max_length=200)
    questions = models.PositiveIntegerField()
    seed = models.BigIntegerField(default=0)
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    # Who plays its turns: this process's pool (local), or the task queue's workers (celery),
    # each finished turn enqueueing the session's next.
    engine = models.CharField(max_length=10, choices=Engine.choices, default=Engine.LOCAL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.batch_id


class BatchSession(models.Model):
    """A session a batch run owns (its AI turns are the batch's to play). The link is this app's,
    so the protocol app's sessions know nothing of batches."""

    session = models.OneToOneField(
        "debate.Session", primary_key=True, on_delete=models.CASCADE, related_name="batch_link"
    )
    batch = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="session_links")

    def __str__(self) -> str:
        return f"{self.session} in {self.batch}"
