"""Provider clients behind one small interface: `complete(request) -> Completion`.

The official SDKs do the HTTP: `openai` (chat completions; also vLLM and any OpenAI-compatible
server through `base_url`) and `anthropic` (messages). Their own retries are turned off
(`max_retries=0`) because SDK timeouts measure inactivity and retried timeouts can take several
times the limit (PITFALLS.md); this module retries rate limits, 5xx and connection errors with
backoff itself, inside a hard deadline for the whole turn, and caps concurrent calls per endpoint.

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
import openai
from pydantic import BaseModel, Field, ValidationError, model_validator

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_TOKENS = 1024
MAX_ATTEMPTS = 4
CONCURRENCY_PER_ENDPOINT = int(os.environ.get("LLM_CONCURRENCY_PER_ENDPOINT", 16))
KEPT_BODY_CHARS = 2000  # how much of a malformed reply the call log keeps


@dataclass(frozen=True)
class ProviderConfig:
    """What a client needs to know about an agent (no secrets: keys come from the environment)."""

    provider: str  # "openai", "anthropic", "openai-compatible"
    model: str
    base_url: str = ""
    api_key_env: str = ""
    sampling: dict[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None


@dataclass(frozen=True)
class ChatRequest:
    system: str
    messages: tuple[dict[str, str], ...]  # {"role": "user"|"assistant", "content": str}


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


class ProviderError(Exception):
    """A call that failed for good (after retries, or an error retrying cannot fix).
    ``response`` is the last malformed reply among its tries, if there was one."""

    def __init__(self, message: str, retries: int = 0, response: str = "") -> None:
        super().__init__(message)
        self.retries = retries
        self.response = response


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
    """Retries, deadline and the concurrency cap, shared by both SDK clients."""

    retryable: tuple[type[Exception], ...] = ()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.timeout = config.timeout_s or DEFAULT_TIMEOUT_S

    def complete(self, request: ChatRequest, *, deadline: float | None = None) -> Completion:
        deadline = deadline or (time.monotonic() + self.timeout * MAX_ATTEMPTS)
        retries = 0
        notes: list[str] = []
        last_body = ""
        started = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(
                    "The turn's deadline passed before the model answered.", retries, last_body
                )
            try:
                with _endpoint_slot(self.endpoint):
                    reply = self.call(request, min(self.timeout, remaining))
            except (*self.retryable, MalformedReply) as error:
                retries += 1
                if isinstance(error, MalformedReply):
                    last_body = error.body
                    notes.append(f"Try {retries}: {error} Body: {error.body[:500]}")
                if retries >= MAX_ATTEMPTS:
                    raise ProviderError(
                        f"{self.describe(error)} (gave up after {retries} tries)",
                        retries,
                        last_body,
                    ) from error
                pause = min(2 ** (retries - 1) * 0.5, 8.0) * (0.5 + random.random())
                pause = self.retry_after(error) or pause
                if time.monotonic() + pause >= deadline:
                    raise ProviderError(
                        f"{self.describe(error)}; no time left to retry.", retries, last_body
                    ) from error
                time.sleep(pause)
                continue
            except (openai.APIError, anthropic.APIError) as error:
                raise ProviderError(self.describe(error), retries) from error
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
            )

    @property
    def endpoint(self) -> str:
        return self.config.base_url or self.config.provider

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
        response = getattr(error, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        try:
            return min(float(header), 30.0) if header else None
        except ValueError:
            return None

    @staticmethod
    def describe(error: Exception) -> str:
        if isinstance(error, MalformedReply):
            return str(error)
        status = getattr(error, "status_code", None)
        return f"HTTP {status}: {error}" if status else f"{type(error).__name__}: {error}"

    def call(self, request: ChatRequest, timeout: float) -> _Reply:
        raise NotImplementedError


class OpenAIChatClient(_RetryingClient):
    retryable = (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APIConnectionError,  # includes APITimeoutError
    )

    def call(self, request: ChatRequest, timeout: float) -> _Reply:
        client = _shared_client(
            openai.OpenAI,
            api_key=self.api_key("OPENAI_API_KEY"),
            base_url=self.config.base_url or os.environ.get("OPENAI_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        raw = client.chat.completions.with_raw_response.create(
            model=self.config.model,
            messages=[{"role": "system", "content": request.system}, *request.messages],
            **sampling,
        )
        reply = _validated(_ChatCompletion, raw.http_response, "a chat completion")
        choice = reply.choices[0]
        usage = reply.usage
        return _Reply(
            text=choice.message.content or "",
            refused=bool(choice.message.refusal),
            refusal=choice.message.refusal or "",
            stop_reason=choice.finish_reason or "",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            usage_missing=usage is None,
        )


class AnthropicClient(_RetryingClient):
    retryable = (
        anthropic.RateLimitError,
        anthropic.InternalServerError,
        anthropic.APIConnectionError,
    )

    def call(self, request: ChatRequest, timeout: float) -> _Reply:
        client = _shared_client(
            anthropic.Anthropic,
            api_key=self.api_key("ANTHROPIC_API_KEY"),
            base_url=self.config.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        raw = client.messages.with_raw_response.create(
            model=self.config.model,
            system=request.system,
            messages=list(request.messages),
            **sampling,
        )
        reply = _validated(_Message, raw.http_response, "a message")
        text = "".join(block.text or "" for block in reply.content if block.type == "text")
        refused = reply.stop_reason == "refusal"
        usage = reply.usage
        return _Reply(
            text=text,
            refused=refused,
            refusal=text if refused else "",
            stop_reason=reply.stop_reason or "",
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            usage_missing=usage is None,
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


class _ChatMessage(BaseModel):
    content: str | None = None
    refusal: str | None = None


class _Choice(BaseModel):
    message: _ChatMessage
    finish_reason: str | None = None


class _ChatUsage(BaseModel):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


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


_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _endpoint_slot(endpoint: str) -> threading.BoundedSemaphore:
    with _slots_lock:
        if endpoint not in _slots:
            _slots[endpoint] = threading.BoundedSemaphore(CONCURRENCY_PER_ENDPOINT)
        return _slots[endpoint]


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
