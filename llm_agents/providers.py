"""Provider clients behind one small interface: `complete(request) -> Completion`.

The official SDKs do the HTTP: `openai` (chat completions; also vLLM and any OpenAI-compatible
server through `base_url`) and `anthropic` (messages). Their own retries are turned off
(`max_retries=0`) because SDK timeouts measure inactivity and retried timeouts can take several
times the limit (PITFALLS.md); this module retries rate limits, 5xx and connection errors with
backoff itself, inside a hard deadline for the whole turn.

Each try takes a slot at its endpoint (a base URL and a model) from the fleet-wide limiter
(llm_agents/endpoint_limits.py: concurrency, requests and tokens per minute); the wait counts
against the deadline. A 429's `retry-after`/`retry-after-ms`, and rate-limit headers saying the
endpoint is exhausted (OpenAI's `x-ratelimit-remaining-*` at 0 until `x-ratelimit-reset-*`,
Anthropic's `anthropic-ratelimit-*-remaining` at 0 until `...-reset`), block the endpoint for the
whole fleet. An agent may name several replicas of one model (vLLM servers): each try goes to the
least-loaded one that is not cooling down, a replica that fails (connection error, 5xx, malformed
reply) cools down for LLM_REPLICA_COOLDOWN_S and the call is tried on another at once, and the
completion says which replica served it.

Anthropic's system prompt is sent as one text block marked `cache_control: ephemeral`, so the
stable prefix (the rules and the story) is cached across a seat's turns; OpenAI and vLLM cache an
identical prefix by themselves. Cached input tokens are read from the usage
(`prompt_tokens_details.cached_tokens`; `cache_read_input_tokens`, `cache_creation_input_tokens`).

Every reply is read from the raw HTTP body and validated against pydantic models of the parts we
use (a chat completion's first choice, its message's content and refusal, finish reason and usage;
a message's content blocks, stop reason and usage), never through the SDKs' lenient parsing, which
hands back a bare string for a proxy's HTML page and leaves missing fields to fail later as
AttributeError. A 200 whose body is not the API's reply (not JSON, cut off, another shape) is a
`MalformedReply`, retried like a transient error (a cut-off body usually is), and what came back
is kept: in `Completion.notes` when a later try succeeds, in `ProviderError.response` when none
does. A reply with text but no usage is usable: it counts 0 tokens and says so in its notes.
A refusal (OpenAI's `message.refusal`, Anthropic's `stop_reason: "refusal"`) is a reply, not an
error: `Completion.refused` says so and the caller decides (llm_agents/services.py asks again).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import anthropic
import openai
from pydantic import BaseModel, Field, ValidationError, model_validator

from llm_agents import endpoint_limits
from llm_agents.endpoint_limits import EndpointBusy, Limits

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_TOKENS = 1024
MAX_ATTEMPTS = 4
KEPT_BODY_CHARS = 2000  # how much of a malformed reply the call log keeps
MAX_BLOCK_S = 120.0  # the longest a provider's header may block an endpoint
DEFAULT_COOLDOWN_S = 30.0  # a failing replica is avoided this long (LLM_REPLICA_COOLDOWN_S)


@dataclass(frozen=True)
class ProviderConfig:
    """What a client needs to know about an agent (no secrets: keys come from the environment)."""

    provider: str  # "openai", "anthropic", "openai-compatible"
    model: str
    base_url: str = ""
    api_key_env: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None
    limits: Limits = field(default_factory=Limits)  # the agent's own; unset: the settings'
    replica_urls: tuple[str, ...] = ()  # more base URLs serving the same model

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Every base URL serving this model, each once ("" is the SDK's default)."""
        return tuple(dict.fromkeys(u for u in (self.base_url, *self.replica_urls) if u)) or ("",)


@dataclass(frozen=True)
class ChatRequest:
    system: str
    messages: tuple[dict[str, str], ...]  # {"role": "user"|"assistant", "content": str}
    # Ask for the first token's most likely alternatives (OpenAI-compatible `logprobs: true,
    # top_logprobs: n`; the Messages API has none and ignores it); 0: not asked.
    top_logprobs: int = 0
    max_tokens: int | None = None  # this request's own limit (a one-letter answer), else sampling's


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    retries: int
    refused: bool = False  # the model declined to answer; its words, if any, are in `refusal`
    refusal: str = ""
    stop_reason: str = ""  # finish_reason (OpenAI) or stop_reason (Anthropic), as sent
    notes: tuple[str, ...] = ()  # what was wrong on the way: malformed tries, missing usage
    cached_input_tokens: int = 0  # of input_tokens, read from the provider's prompt cache
    cache_write_input_tokens: int = 0  # of input_tokens, written to it (Anthropic)
    served_by: str = ""  # the base URL that answered (the provider's name for its default URL)
    # The first token's top alternatives as (token, logprob), when asked and the provider sent them.
    top_logprobs: tuple[tuple[str, float], ...] = ()


class ProviderError(Exception):
    """A call that failed for good (after retries, or an error retrying cannot fix).
    ``response`` is the last malformed reply among its tries, if there was one; ``served_by``
    the base URL of the last try."""

    def __init__(
        self, message: str, retries: int = 0, response: str = "", served_by: str = ""
    ) -> None:
        super().__init__(message)
        self.retries = retries
        self.response = response
        self.served_by = served_by


class MalformedReply(Exception):
    """A 200 whose body is not the API's reply: a proxy's page, a cut-off body, another shape."""

    def __init__(self, message: str, body: str) -> None:
        super().__init__(message)
        self.body = body[:KEPT_BODY_CHARS]


class ProviderClient(Protocol):
    def complete(self, request: ChatRequest, *, deadline: float | None = None) -> Completion: ...


def client_for(config: ProviderConfig) -> ProviderClient:
    if config.provider == "anthropic":
        return AnthropicClient(config)
    if config.provider in {"openai", "openai-compatible"}:
        return OpenAIChatClient(config)
    raise ProviderError(f"Unknown provider {config.provider!r}.")


class _RetryingClient:
    """Retries, deadline, endpoint limits and replicas, shared by both SDK clients."""

    retryable: tuple[type[Exception], ...] = ()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.timeout = config.timeout_s or DEFAULT_TIMEOUT_S

    def complete(self, request: ChatRequest, *, deadline: float | None = None) -> Completion:
        deadline = deadline or (time.monotonic() + self.timeout * MAX_ATTEMPTS)
        limiter = endpoint_limits.limiter()
        retries = 0
        notes: list[str] = []
        last_body = ""
        failed: set[str] = set()  # replicas that failed during this call
        retryable: tuple[type[Exception], ...] = (*self.retryable, MalformedReply)
        started = time.monotonic()
        while True:
            base_url = self.pick_replica(limiter, failed)
            served_by = base_url or self.config.provider
            endpoint = endpoint_limits.endpoint_key(served_by, self.config.model)
            if deadline - time.monotonic() <= 0:
                raise ProviderError(
                    "The turn's deadline passed before the model answered.",
                    retries,
                    last_body,
                    served_by,
                )
            try:
                lease = limiter.acquire(
                    endpoint,
                    endpoint_limits.limits_for(served_by, self.config.limits),
                    tokens=self.estimated_tokens(request),
                    deadline=deadline,
                    hold_s=self.timeout + endpoint_limits.LEASE_MARGIN_S,
                )
            except EndpointBusy as busy:
                raise ProviderError(
                    f"The turn's deadline passed while waiting for the endpoint: {busy}.",
                    retries,
                    last_body,
                    served_by,
                ) from busy
            used: int | None = None
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ProviderError(
                        "The turn's deadline passed before the model answered.",
                        retries,
                        last_body,
                        served_by,
                    )
                reply = self.call(request, base_url, min(self.timeout, remaining))
                used = reply.input_tokens + reply.output_tokens
            except retryable as error:
                retries += 1
                if isinstance(error, MalformedReply):
                    last_body = error.body
                    notes.append(f"Try {retries}: {error} Body: {error.body[:500]}")
                status = getattr(error, "status_code", None)
                headers = _headers(error)
                pause = min(2 ** (retries - 1) * 0.5, 8.0) * (0.5 + random.random())
                pause = self.retry_after(error) or pause
                if status == 429:
                    limiter.block(endpoint, min(pause, MAX_BLOCK_S))
                limiter.block(endpoint, _exhausted_for(headers))
                if status != 429 and len(self.config.base_urls) > 1:
                    failed.add(base_url)
                    limiter.cool_down(endpoint, _cooldown_s())
                    if self.pick_replica(limiter, failed) not in failed:
                        pause = 0.0  # another replica is up: try it now
                limiter.release(lease, used)
                if retries >= MAX_ATTEMPTS:
                    raise ProviderError(
                        f"{self.describe(error)} (gave up after {retries} tries)",
                        retries,
                        last_body,
                        served_by,
                    ) from error
                if time.monotonic() + pause >= deadline:
                    raise ProviderError(
                        f"{self.describe(error)}; no time left to retry.",
                        retries,
                        last_body,
                        served_by,
                    ) from error
                time.sleep(pause)
                continue
            except (openai.APIError, anthropic.APIError) as error:
                limiter.release(lease, used)
                limiter.block(endpoint, _exhausted_for(_headers(error)))
                raise ProviderError(self.describe(error), retries, served_by=served_by) from error
            except BaseException:
                limiter.release(lease, used)
                raise
            limiter.release(lease, used)
            limiter.block(endpoint, _exhausted_for(reply.headers))
            if reply.usage_missing:
                notes.append("The reply had no token usage: 0 tokens recorded.")
            return Completion(
                text=reply.text,
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                latency_ms=int((time.monotonic() - started) * 1000),
                retries=retries,
                refused=reply.refused,
                refusal=reply.refusal,
                stop_reason=reply.stop_reason,
                notes=tuple(notes),
                cached_input_tokens=reply.cached_input_tokens,
                cache_write_input_tokens=reply.cache_write_input_tokens,
                served_by=served_by,
                top_logprobs=reply.top_logprobs,
            )

    def pick_replica(self, limiter: endpoint_limits.Limiter, failed: set[str]) -> str:
        """The base URL for the next try: among the replicas that did not fail in this call and
        are not cooling down, the one with the fewest calls in flight fleet-wide (ties at
        random); if every one failed or cools down, the least loaded of all."""
        urls = self.config.base_urls
        if len(urls) == 1:
            return urls[0]
        keys = {u: endpoint_limits.endpoint_key(u, self.config.model) for u in urls}
        up = [u for u in urls if u not in failed and not limiter.cooling(keys[u])]
        candidates = up or [u for u in urls if u not in failed] or list(urls)
        loads = {u: limiter.in_flight(keys[u]) for u in candidates}
        least = min(loads.values())
        return random.choice([u for u in candidates if loads[u] == least])

    def estimated_tokens(self, request: ChatRequest) -> int:
        """What a call may spend, for the tokens-per-minute window before its usage is known:
        about four characters a token of the prompt, and the most it may write."""
        chars = len(request.system) + sum(len(m["content"]) for m in request.messages)
        return chars // 4 + int(self.config.sampling.get("max_tokens", DEFAULT_MAX_TOKENS))

    def api_key(self, standard: str) -> str:
        name = self.config.api_key_env or standard
        key = os.environ.get(name)
        if key:
            return key
        if self.config.provider == "openai-compatible":
            return "not-needed"  # vLLM accepts any key unless started with --api-key
        raise ProviderError(f"Set the environment variable {name} to call {self.config.provider}.")

    @staticmethod
    def retry_after(error: Exception) -> float | None:
        """The wait an error's `retry-after-ms` or `retry-after` (seconds, or an HTTP date)
        asks for, at most MAX_BLOCK_S."""
        headers = _headers(error)
        try:
            if headers.get("retry-after-ms"):
                return min(max(float(headers["retry-after-ms"]) / 1000, 0.0), MAX_BLOCK_S)
            header = headers.get("retry-after")
            if not header:
                return None
            try:
                seconds = float(header)
            except ValueError:
                seconds = parsedate_to_datetime(header).timestamp() - time.time()
            return min(max(seconds, 0.0), MAX_BLOCK_S)
        except (ValueError, TypeError, OverflowError):
            return None

    @staticmethod
    def describe(error: Exception) -> str:
        if isinstance(error, MalformedReply):
            return str(error)
        status = getattr(error, "status_code", None)
        return f"HTTP {status}: {error}" if status else f"{type(error).__name__}: {error}"

    def call(self, request: ChatRequest, base_url: str, timeout: float) -> _Reply:
        raise NotImplementedError


class OpenAIChatClient(_RetryingClient):
    retryable = (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APIConnectionError,  # includes APITimeoutError
    )

    def call(self, request: ChatRequest, base_url: str, timeout: float) -> _Reply:
        client = _shared_client(
            openai.OpenAI,
            api_key=self.api_key("OPENAI_API_KEY"),
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        if request.max_tokens is not None:
            sampling["max_tokens"] = request.max_tokens
        if request.top_logprobs:
            sampling.update(logprobs=True, top_logprobs=request.top_logprobs)
        raw = client.chat.completions.with_raw_response.create(
            model=self.config.model,
            messages=[{"role": "system", "content": request.system}, *request.messages],
            **sampling,
        )
        reply = _validated(_ChatCompletion, raw.http_response, "a chat completion")
        choice = reply.choices[0]
        usage = reply.usage
        details = usage.prompt_tokens_details if usage else None
        return _Reply(
            text=choice.message.content or "",
            refused=bool(choice.message.refusal),
            refusal=choice.message.refusal or "",
            stop_reason=choice.finish_reason or "",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            usage_missing=usage is None,
            cached_input_tokens=(details.cached_tokens or 0) if details else 0,
            headers=dict(raw.http_response.headers),
            top_logprobs=_first_token_alternatives(choice.logprobs),
        )


def _first_token_alternatives(logprobs: _ChoiceLogprobs | None) -> tuple[tuple[str, float], ...]:
    if logprobs is None or not logprobs.content:
        return ()
    first = logprobs.content[0]
    return tuple((t.token, t.logprob) for t in first.top_logprobs) or (
        (first.token, first.logprob),
    )


class AnthropicClient(_RetryingClient):
    retryable = (
        anthropic.RateLimitError,
        anthropic.InternalServerError,
        anthropic.APIConnectionError,
    )

    def call(self, request: ChatRequest, base_url: str, timeout: float) -> _Reply:
        client = _shared_client(
            anthropic.Anthropic,
            api_key=self.api_key("ANTHROPIC_API_KEY"),
            base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        if request.max_tokens is not None:
            sampling["max_tokens"] = request.max_tokens
        # The system prompt holds what stays the same across a seat's turns (its rules and the
        # story): marked for caching, later turns read it from the cache.
        system: Any = (
            [{"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}]
            if request.system
            else anthropic.NOT_GIVEN
        )
        raw = client.messages.with_raw_response.create(
            model=self.config.model,
            system=system,
            messages=list(request.messages),
            **sampling,
        )
        reply = _validated(_Message, raw.http_response, "a message")
        text = "".join(block.text or "" for block in reply.content if block.type == "text")
        refused = reply.stop_reason == "refusal"
        usage = reply.usage
        read = (usage.cache_read_input_tokens or 0) if usage else 0
        written = (usage.cache_creation_input_tokens or 0) if usage else 0
        return _Reply(
            text=text,
            refused=refused,
            refusal=text if refused else "",
            stop_reason=reply.stop_reason or "",
            # Anthropic's input_tokens counts only what was neither read from nor written to the
            # cache; the call log's input tokens are all of them, as OpenAI counts.
            input_tokens=(usage.input_tokens + read + written) if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            usage_missing=usage is None,
            cached_input_tokens=read,
            cache_write_input_tokens=written,
            headers=dict(raw.http_response.headers),
        )


# --------------------------------------------------------------------------------------------------
# Replies as the APIs send them: only the parts we read, validated
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    """What one try brought back, in the words of either API."""

    text: str
    refused: bool
    refusal: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    usage_missing: bool
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    top_logprobs: tuple[tuple[str, float], ...] = ()


class _ChatMessage(BaseModel):
    content: str | None = None
    refusal: str | None = None


class _TopLogprob(BaseModel):
    token: str
    logprob: float


class _TokenLogprob(BaseModel):
    token: str
    logprob: float
    top_logprobs: list[_TopLogprob] = Field(default_factory=list)


class _ChoiceLogprobs(BaseModel):
    content: list[_TokenLogprob] | None = None


class _Choice(BaseModel):
    message: _ChatMessage
    finish_reason: str | None = None
    logprobs: _ChoiceLogprobs | None = None


class _PromptTokensDetails(BaseModel):
    cached_tokens: int | None = Field(default=None, ge=0)


class _ChatUsage(BaseModel):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    prompt_tokens_details: _PromptTokensDetails | None = None


class _ChatCompletion(BaseModel):
    choices: list[_Choice] = Field(min_length=1)
    usage: _ChatUsage | None = None


class _ContentBlock(BaseModel):
    type: str
    text: str | None = None  # text blocks; thinking and tool blocks carry other fields

    @model_validator(mode="after")
    def _text_block_has_text(self) -> _ContentBlock:
        if self.type == "text" and self.text is None:
            raise ValueError("a text block without text")
        return self


class _MessageUsage(BaseModel):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_read_input_tokens: int | None = Field(default=None, ge=0)
    cache_creation_input_tokens: int | None = Field(default=None, ge=0)


class _Message(BaseModel):
    content: list[_ContentBlock]
    stop_reason: str | None = None
    usage: _MessageUsage | None = None


def _validated[M: BaseModel](model: type[M], response: Any, what: str) -> M:
    """The body of a 200 (the SDK's raw HTTP response) read as ``model``, or MalformedReply
    saying what it was instead."""
    body: str = response.text
    content_type = response.headers.get("content-type", "no content type")
    try:
        data = json.loads(body)
    except ValueError:
        shown = " ".join(body[:80].split())
        raise MalformedReply(
            f"The provider's 200 reply was not JSON ({content_type}, {len(body)} characters: "
            f"{shown!r}).",
            body,
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
            for problem in error.errors()[:3]
        )
        raise MalformedReply(f"The provider's reply was not {what} ({problems}).", body) from None


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def _shared_client(sdk: type, *, api_key: str, base_url: str | None) -> Any:
    """One SDK client per endpoint and key, reused across calls and threads: building one costs
    an SSL context and a connection pool, more than a whole turn's own work. The base URL is
    resolved here (agent's, else the SDK's environment variable) so that it is part of the key."""
    key = (sdk, api_key, base_url)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = sdk(api_key=api_key, base_url=base_url, max_retries=0)
        return _clients[key]


def _headers(error: Exception) -> Any:
    """An SDK error's HTTP response headers (none for a connection error)."""
    response = getattr(error, "response", None)
    return response.headers if response is not None else {}


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _exhausted_for(headers: Any) -> float:
    """Seconds for which a reply's rate-limit headers say the endpoint has nothing left (0 if
    it has): OpenAI's `x-ratelimit-remaining-requests|tokens` at 0 until the matching
    `x-ratelimit-reset-*` (a duration such as "6m0s" or "20ms"), Anthropic's
    `anthropic-ratelimit-<kind>-remaining` at 0 until its `-reset` (an RFC 3339 time)."""
    waits = [0.0]
    for kind in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{kind}") == "0":
            reset = headers.get(f"x-ratelimit-reset-{kind}") or ""
            found = _DURATION.findall(reset)
            if found:
                waits.append(sum(float(n) * _DURATION_UNITS[unit] for n, unit in found))
            else:
                waits.append(1.0)
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        if headers.get(f"anthropic-ratelimit-{kind}-remaining") == "0":
            reset = headers.get(f"anthropic-ratelimit-{kind}-reset") or ""
            try:
                at = datetime.fromisoformat(reset.replace("Z", "+00:00"))
                waits.append(at.timestamp() - time.time())
            except ValueError:
                waits.append(1.0)
    return min(max(waits), MAX_BLOCK_S)


def _cooldown_s() -> float:
    from django.conf import settings

    if settings.configured:
        return float(getattr(settings, "LLM_REPLICA_COOLDOWN_S", DEFAULT_COOLDOWN_S))
    return DEFAULT_COOLDOWN_S


def parse_spec(spec: str, environ: Callable[[str], str | None] = os.environ.get) -> ProviderConfig:
    """The command line's short form: `openai:gpt-4o`, `anthropic:claude-sonnet-4-5`,
    `vllm:Qwen/Qwen2.5-7B-Instruct` (base URL from VLLM_BASE_URL)."""
    provider, sep, model = spec.partition(":")
    if not sep or not model:
        raise ValueError(f"Write an agent as provider:model, e.g. openai:gpt-4o (got {spec!r}).")
    if provider == "vllm":
        base_url = environ("VLLM_BASE_URL")
        if not base_url:
            raise ValueError("Set VLLM_BASE_URL (e.g. http://gpu-host:8000/v1) to use vllm:MODEL.")
        return ProviderConfig(provider="openai-compatible", model=model, base_url=base_url)
    if provider not in {"openai", "anthropic", "openai-compatible"}:
        raise ValueError(f"Unknown provider {provider!r}: use openai, anthropic or vllm.")
    return ProviderConfig(provider=provider, model=model)
