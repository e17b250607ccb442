"""Limits per endpoint (one base URL serving one model) for the whole fleet: concurrent calls,
requests per minute and tokens per minute, a "blocked until" set when a provider says the
endpoint is exhausted (a 429, `retry-after`, rate-limit headers), a cool-down for a failing
replica, and the count of calls in flight that picks the least-loaded replica.

With Redis (settings.LLM_LIMITS_REDIS_URL, by default REDIS_URL) every worker of every process
shares them: concurrency is a sorted set of leases scored by when each expires, so a killed
worker's slot frees itself; requests and tokens per minute are sliding windows (sorted sets of
calls scored by when they started); every check-and-take is one Lua script, timed by the Redis
server's clock. Without Redis (the embedded mode) the same limiter lives in the process. If
Redis cannot be reached, a process falls back to its own limiter (with a warning) rather than
stop calling models.

A worker waiting for a slot holds no database connection (llm_agents/services.py closes it before
the call) and waits only until the turn's deadline: `acquire` then raises EndpointBusy.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

WINDOW_S = 60.0  # the window of "per minute" limits
POLL_S = 0.25  # the longest pause between two tries for a slot
LEASE_MARGIN_S = 30.0  # a lease outlives its call's timeout by this much, then frees itself
DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True)
class Limits:
    """None: no limit of that kind."""

    concurrency: int | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


@dataclass(frozen=True)
class Lease:
    endpoint: str
    lease_id: str
    tokens: int  # the estimate taken from the tokens-per-minute window
    local: bool = False  # taken from the in-process fallback (Redis was unreachable)


class EndpointBusy(Exception):
    """The deadline passed while waiting for the endpoint; the message says why it waited."""


def endpoint_key(base_url: str, model: str) -> str:
    return f"{base_url.rstrip('/')} {model}"


def limits_for(base_url: str, agent: Limits) -> Limits:
    """The agent's own limits, each one it leaves unset taken from LLM_ENDPOINT_LIMITS (the entry
    for its base URL, else the "*" entry), concurrency at last from LLM_CONCURRENCY_PER_ENDPOINT."""
    table: Any = _setting("LLM_ENDPOINT_LIMITS", {}) or {}
    entry = table.get(base_url.rstrip("/")) or table.get(base_url) or table.get("*") or {}
    default_concurrency = _setting(
        "LLM_CONCURRENCY_PER_ENDPOINT",
        int(os.environ.get("LLM_CONCURRENCY_PER_ENDPOINT", DEFAULT_CONCURRENCY)),
    )
    return Limits(
        concurrency=agent.concurrency or entry.get("concurrency") or default_concurrency or None,
        requests_per_minute=agent.requests_per_minute or entry.get("requests_per_minute"),
        tokens_per_minute=agent.tokens_per_minute or entry.get("tokens_per_minute"),
    )


class Limiter(ABC):
    """The interface both limiters share; times are seconds."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s

    def acquire(
        self, endpoint: str, limits: Limits, *, tokens: int, deadline: float, hold_s: float
    ) -> Lease:
        """A slot at ``endpoint`` within ``limits``, waiting (until ``deadline``, a
        time.monotonic() value) while the endpoint is full or blocked. ``tokens`` is the
        call's estimate for the tokens-per-minute window; the lease frees itself after
        ``hold_s`` if never released."""
        lease_id = uuid.uuid4().hex
        while True:
            wait, reason = self._take(endpoint, limits, lease_id, max(tokens, 0), hold_s)
            if wait is None:
                return Lease(endpoint, lease_id, max(tokens, 0), local=reason == "local")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (reason.startswith("blocked") and wait > remaining):
                raise EndpointBusy(f"{endpoint} {reason}")
            pause = min(wait, POLL_S) if not reason.startswith("blocked") else wait
            time.sleep(max(min(pause * (0.75 + random.random() / 2), remaining), 0.005))

    @abstractmethod
    def release(self, lease: Lease, tokens_used: int | None = None) -> None:
        """Free the slot; ``tokens_used`` (if known) replaces the estimate in the token window."""

    @abstractmethod
    def block(self, endpoint: str, seconds: float) -> None:
        """No call to ``endpoint`` from anywhere for ``seconds`` (a later block may lengthen it,
        never shorten it)."""

    @abstractmethod
    def blocked_for(self, endpoint: str) -> float:
        """Seconds until ``endpoint`` may be called again (0 when it may now)."""

    @abstractmethod
    def cool_down(self, endpoint: str, seconds: float) -> None:
        """Mark a replica as failing, to be avoided for ``seconds``."""

    @abstractmethod
    def cooling(self, endpoint: str) -> bool: ...

    @abstractmethod
    def in_flight(self, endpoint: str) -> int:
        """Calls now holding a slot at ``endpoint``."""

    @abstractmethod
    def _take(
        self, endpoint: str, limits: Limits, lease_id: str, tokens: int, hold_s: float
    ) -> tuple[float | None, str]:
        """Take a slot now: (None, "") when taken, else (seconds worth waiting, why)."""


def limiter() -> Limiter:
    """The process's limiter: Redis when LLM_LIMITS_REDIS_URL is set, else in-process."""
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            url = _setting("LLM_LIMITS_REDIS_URL", os.environ.get("LLM_LIMITS_REDIS_URL", ""))
            _limiter = RedisLimiter(url) if url else InProcessLimiter()
        return _limiter


def use(chosen: Limiter | None) -> None:
    """Make ``chosen`` the process's limiter (None: choose again from the settings)."""
    global _limiter
    with _limiter_lock:
        _limiter = chosen


_limiter: Limiter | None = None
_limiter_lock = threading.Lock()


def _setting(name: str, default: Any) -> Any:
    from django.conf import settings

    return getattr(settings, name, default) if settings.configured else default


# --------------------------------------------------------------------------------------------------
# In one process
# --------------------------------------------------------------------------------------------------


class InProcessLimiter(Limiter):
    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__(window_s)
        self._lock = threading.Lock()
        self._holders: dict[str, dict[str, float]] = {}  # endpoint: lease id -> expiry
        self._requests: dict[str, list[float]] = {}  # endpoint: start times
        self._tokens: dict[str, dict[str, tuple[float, int]]] = {}  # lease id -> (start, tokens)
        self._blocked: dict[str, float] = {}
        self._cooling: dict[str, float] = {}

    def _take(self, endpoint, limits, lease_id, tokens, hold_s):
        now = time.monotonic()
        with self._lock:
            blocked = self._blocked.get(endpoint, 0.0) - now
            if blocked > 0:
                return blocked, "blocked by the provider's rate limit"
            holders = self._live_holders(endpoint, now)
            if limits.concurrency and len(holders) >= limits.concurrency:
                return POLL_S, f"at its concurrency limit ({limits.concurrency})"
            starts = [t for t in self._requests.get(endpoint, []) if t > now - self.window_s]
            self._requests[endpoint] = starts
            if limits.requests_per_minute and len(starts) >= limits.requests_per_minute:
                return (
                    starts[0] + self.window_s - now,
                    f"at its limit of requests per minute ({limits.requests_per_minute})",
                )
            since = now - self.window_s
            spent = {k: v for k, v in self._tokens.get(endpoint, {}).items() if v[0] > since}
            self._tokens[endpoint] = spent
            used = sum(n for _, n in spent.values())
            if limits.tokens_per_minute and used and used + tokens > limits.tokens_per_minute:
                oldest = min(t for t, _ in spent.values())
                return (
                    oldest + self.window_s - now,
                    f"at its limit of tokens per minute ({limits.tokens_per_minute})",
                )
            holders[lease_id] = now + hold_s
            starts.append(now)
            spent[lease_id] = (now, tokens)
            return None, ""

    def release(self, lease, tokens_used=None):
        with self._lock:
            self._holders.get(lease.endpoint, {}).pop(lease.lease_id, None)
            spent = self._tokens.get(lease.endpoint, {})
            if tokens_used is not None and lease.lease_id in spent:
                spent[lease.lease_id] = (spent[lease.lease_id][0], tokens_used)

    def block(self, endpoint, seconds):
        with self._lock:
            until = time.monotonic() + seconds
            self._blocked[endpoint] = max(self._blocked.get(endpoint, 0.0), until)

    def blocked_for(self, endpoint):
        with self._lock:
            return max(self._blocked.get(endpoint, 0.0) - time.monotonic(), 0.0)

    def cool_down(self, endpoint, seconds):
        with self._lock:
            self._cooling[endpoint] = time.monotonic() + seconds

    def cooling(self, endpoint):
        with self._lock:
            return self._cooling.get(endpoint, 0.0) > time.monotonic()

    def in_flight(self, endpoint):
        with self._lock:
            return len(self._live_holders(endpoint, time.monotonic()))

    def _live_holders(self, endpoint: str, now: float) -> dict[str, float]:
        holders = {k: v for k, v in self._holders.get(endpoint, {}).items() if v > now}
        self._holders[endpoint] = holders
        return holders


# --------------------------------------------------------------------------------------------------
# Across the fleet, in Redis
# --------------------------------------------------------------------------------------------------

# KEYS: holders, requests, tokens, blocked. ARGV: lease id, concurrency, requests per window,
# tokens per window (0: no limit), tokens, hold ms, window ms. Returns {1} when taken, else
# {0, ms worth waiting, why}. Token entries are "<lease id>:<tokens>".
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[4]) or '0')
if blocked > now then return {0, blocked - now, 'blocked'} end
local concurrency, rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, hold, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if concurrency > 0 and redis.call('ZCARD', KEYS[1]) >= concurrency then
  return {0, 0, 'concurrency'}
end
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now, 'rpm'}
  end
end
if tpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
  local entries = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #entries, 2 do
    used = used + tonumber(string.match(entries[i], ':(%d+)$'))
  end
  if used > 0 and used + tokens > tpm then
    return {0, tonumber(entries[2]) + window - now, 'tpm'}
  end
end
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], hold + window)
if rpm > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
if tpm > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[1] .. ':' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[3], window)
end
return {1}
"""

# KEYS: holders, tokens. ARGV: lease id, estimate, tokens used (-1: unknown).
_RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
local used = tonumber(ARGV[3])
if used >= 0 then
  local old = ARGV[1] .. ':' .. ARGV[2]
  local started = redis.call('ZSCORE', KEYS[2], old)
  if started then
    redis.call('ZREM', KEYS[2], old)
    redis.call('ZADD', KEYS[2], started, ARGV[1] .. ':' .. used)
  end
end
return 1
"""

# KEYS: blocked. ARGV: ms. Lengthens a block, never shortens it.
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], untl, 'PX', tonumber(ARGV[1]))
end
return 1
"""

# KEYS: blocked. Returns ms left.
_BLOCKED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return math.max(tonumber(redis.call('GET', KEYS[1]) or '0') - now, 0)
"""

# KEYS: holders. Returns how many leases are live.
_IN_FLIGHT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""

_REASONS = {
    "blocked": "blocked by the provider's rate limit",
    "concurrency": "at its concurrency limit",
    "rpm": "at its limit of requests per minute",
    "tpm": "at its limit of tokens per minute",
}


class RedisLimiter(Limiter):
    def __init__(self, url: str, *, prefix: str = "llm-limits:", window_s: float = WINDOW_S):
        import redis

        super().__init__(window_s)
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._fallback = InProcessLimiter(window_s)
        self._warned_at = 0.0
        self._scripts = {
            name: self.redis.register_script(text)
            for name, text in [
                ("take", _TAKE),
                ("release", _RELEASE),
                ("block", _BLOCK),
                ("blocked_for", _BLOCKED_FOR),
                ("in_flight", _IN_FLIGHT),
            ]
        }

    def _take(self, endpoint, limits, lease_id, tokens, hold_s):
        try:
            result = self._scripts["take"](
                keys=[self._key(k, endpoint) for k in ("holders", "requests", "tokens", "blocked")],
                args=[
                    lease_id,
                    limits.concurrency or 0,
                    limits.requests_per_minute or 0,
                    limits.tokens_per_minute or 0,
                    tokens,
                    int(hold_s * 1000),
                    int(self.window_s * 1000),
                ],
            )
        except self._errors as error:
            self._unreachable(error)
            wait, reason = self._fallback._take(endpoint, limits, lease_id, tokens, hold_s)
            return wait, reason or "local"
        if int(result[0]) == 1:
            return None, ""
        why = result[2].decode() if isinstance(result[2], bytes) else str(result[2])
        reason = _REASONS.get(why, why)
        if why != "blocked":
            limit = {
                "concurrency": limits.concurrency,
                "rpm": limits.requests_per_minute,
                "tpm": limits.tokens_per_minute,
            }[why]
            reason = f"{reason} ({limit})"
        return (max(int(result[1]), 0) / 1000 or POLL_S), reason

    def release(self, lease, tokens_used=None):
        if lease.local:
            self._fallback.release(lease, tokens_used)
            return
        try:
            self._scripts["release"](
                keys=[self._key("holders", lease.endpoint), self._key("tokens", lease.endpoint)],
                args=[lease.lease_id, lease.tokens, -1 if tokens_used is None else tokens_used],
            )
        except self._errors as error:
            self._unreachable(error)  # the lease expires by itself

    def block(self, endpoint, seconds):
        self._fallback.block(endpoint, seconds)
        if seconds > 0:
            try:
                self._scripts["block"](
                    keys=[self._key("blocked", endpoint)], args=[max(int(seconds * 1000), 1)]
                )
            except self._errors as error:
                self._unreachable(error)

    def blocked_for(self, endpoint):
        try:
            return int(self._scripts["blocked_for"](keys=[self._key("blocked", endpoint)])) / 1000
        except self._errors as error:
            self._unreachable(error)
            return self._fallback.blocked_for(endpoint)

    def cool_down(self, endpoint, seconds):
        self._fallback.cool_down(endpoint, seconds)
        try:
            self.redis.set(self._key("cooling", endpoint), 1, px=max(int(seconds * 1000), 1))
        except self._errors as error:
            self._unreachable(error)

    def cooling(self, endpoint):
        try:
            return bool(self.redis.exists(self._key("cooling", endpoint)))
        except self._errors as error:
            self._unreachable(error)
            return self._fallback.cooling(endpoint)

    def in_flight(self, endpoint):
        try:
            return int(self._scripts["in_flight"](keys=[self._key("holders", endpoint)]))
        except self._errors as error:
            self._unreachable(error)
            return self._fallback.in_flight(endpoint)

    def _key(self, kind: str, endpoint: str) -> str:
        return f"{self.prefix}{kind}:{endpoint}"

    def _unreachable(self, error: Exception) -> None:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            logger.warning(
                "Redis unreachable for the LLM endpoint limits (%s): this process limits its own "
                "calls only until it is back",
                error,
            )
