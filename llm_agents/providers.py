"""Provider clients behind one small interface: `complete(request) -> Completion`.

The official SDKs do the HTTP: `openai` (chat completions; also vLLM and any OpenAI-compatible
server through `base_url`) and `anthropic` (messages). Their own retries are turned off
(`max_retries=0`) because SDK timeouts measure inactivity and retried timeouts can take several
times the limit (PITFALLS.md); this module retries rate limits, 5xx and connection errors with
backoff itself, inside a hard deadline for the whole turn, and caps concurrent calls per endpoint.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
import openai

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_TOKENS = 1024
MAX_ATTEMPTS = 4
CONCURRENCY_PER_ENDPOINT = int(os.environ.get("LLM_CONCURRENCY_PER_ENDPOINT", 16))


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


class ProviderError(Exception):
    """A call that failed for good (after retries, or an error retrying cannot fix)."""

    def __init__(self, message: str, retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries


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
        started = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderError(
                    "The turn's deadline passed before the model answered.", retries
                )
            try:
                with _endpoint_slot(self.endpoint):
                    text, tokens_in, tokens_out = self.call(request, min(self.timeout, remaining))
            except self.retryable as error:
                retries += 1
                if retries >= MAX_ATTEMPTS:
                    raise ProviderError(
                        f"{self.describe(error)} (gave up after {retries} tries)", retries
                    ) from error
                pause = min(2 ** (retries - 1) * 0.5, 8.0) * (0.5 + random.random())
                pause = self.retry_after(error) or pause
                if time.monotonic() + pause >= deadline:
                    raise ProviderError(
                        f"{self.describe(error)}; no time left to retry.", retries
                    ) from error
                time.sleep(pause)
                continue
            except (openai.APIError, anthropic.APIError) as error:
                raise ProviderError(self.describe(error), retries) from error
            return Completion(
                text=text,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                latency_ms=int((time.monotonic() - started) * 1000),
                retries=retries,
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
        status = getattr(error, "status_code", None)
        return f"HTTP {status}: {error}" if status else f"{type(error).__name__}: {error}"

    def call(self, request: ChatRequest, timeout: float) -> tuple[str, int, int]:
        raise NotImplementedError


class OpenAIChatClient(_RetryingClient):
    retryable = (
        openai.RateLimitError,
        openai.InternalServerError,
        openai.APIConnectionError,  # includes APITimeoutError
    )

    def call(self, request: ChatRequest, timeout: float) -> tuple[str, int, int]:
        client = _shared_client(
            openai.OpenAI,
            api_key=self.api_key("OPENAI_API_KEY"),
            base_url=self.config.base_url or os.environ.get("OPENAI_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        response = client.chat.completions.create(
            model=self.config.model,
            messages=[{"role": "system", "content": request.system}, *request.messages],
            **sampling,
        )
        text = response.choices[0].message.content or "" if response.choices else ""
        usage = response.usage
        return (
            text,
            getattr(usage, "prompt_tokens", 0) or 0,
            getattr(usage, "completion_tokens", 0) or 0,
        )


class AnthropicClient(_RetryingClient):
    retryable = (
        anthropic.RateLimitError,
        anthropic.InternalServerError,
        anthropic.APIConnectionError,
    )

    def call(self, request: ChatRequest, timeout: float) -> tuple[str, int, int]:
        client = _shared_client(
            anthropic.Anthropic,
            api_key=self.api_key("ANTHROPIC_API_KEY"),
            base_url=self.config.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
        ).with_options(timeout=timeout)
        sampling = dict(self.config.sampling)
        sampling.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        response = client.messages.create(
            model=self.config.model,
            system=request.system,
            messages=list(request.messages),
            **sampling,
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        return text, response.usage.input_tokens, response.usage.output_tokens


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
