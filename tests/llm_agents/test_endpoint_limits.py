"""Limits per endpoint across the fleet (llm_agents/endpoint_limits.py), through the real SDKs
against the stub servers: concurrency across two processes sharing Redis, requests and tokens per
minute (over a short window), and the waits a 429's `retry-after-ms` and the providers'
rate-limit headers impose on every later call. The checks on time are lower bounds with slack:
a limiter may only make calls later, never earlier."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from llm_agents import endpoint_limits
from llm_agents.endpoint_limits import InProcessLimiter, Limits, endpoint_key, limits_for
from llm_agents.providers import ProviderConfig, ProviderError, client_for
from tests.llm_agents.limits_support import (
    REQUEST,
    fleet_limiter,
    redis_url,  # noqa: F401 (a fixture)
    start_callers,
)
from tests.llm_stubs import Reply, StubLLM

SLACK_S = 0.4  # what a call may take between the limiter's clock and the stub's


@pytest.fixture(autouse=True)
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)
    yield
    endpoint_limits.use(None)


@pytest.fixture(params=["in-process", "redis"])
def limiter_kind(request):
    return request.param


def limiter_of(kind: str, url_fixture, window_s: float = endpoint_limits.WINDOW_S):
    if kind == "in-process":
        return InProcessLimiter(window_s)
    return fleet_limiter(url_fixture(), window_s)[0]


@pytest.fixture
def make_limiter(limiter_kind, request):
    def make(window_s: float = endpoint_limits.WINDOW_S):
        if limiter_kind == "in-process":
            chosen = InProcessLimiter(window_s)
        else:
            chosen = fleet_limiter(request.getfixturevalue("redis_url"), window_s)[0]
        endpoint_limits.use(chosen)
        return chosen

    return make


def client(stub: StubLLM, provider: str = "openai", **limits: int):
    base_url = stub.url + ("/v1" if provider != "anthropic" else "")
    return client_for(
        ProviderConfig(provider=provider, model="m", base_url=base_url, limits=Limits(**limits))
    )


def key(stub: StubLLM, provider: str = "openai") -> str:
    return endpoint_key(stub.url + ("/v1" if provider != "anthropic" else ""), "m")


def in_threads(count: int, work) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


# --------------------------------------------------------------------------------------------------
# Concurrency
# --------------------------------------------------------------------------------------------------


def test_two_processes_sharing_redis_never_exceed_the_concurrency_limit(redis_url):  # noqa: F811
    limit, calls = 3, 6
    _, prefix = fleet_limiter(redis_url)
    with StubLLM(lambda body: Reply("Hi.", delay=0.3)) as stub:
        callers = [
            start_callers(redis_url, prefix, stub.url + "/v1", concurrency=limit, calls=calls)
            for _ in range(2)
        ]
        outputs = [caller.communicate(timeout=180)[0] for caller in callers]
        assert [caller.returncode for caller in callers] == [0, 0], outputs
        assert len(stub.requests) == 2 * calls
        assert 1 <= stub.max_in_flight <= limit


def test_threads_of_one_process_keep_the_concurrency_limit(make_limiter):
    make_limiter()
    with StubLLM(lambda body: Reply("Hi.", delay=0.2)) as stub:
        limited = client(stub, "openai", concurrency=2)
        assert in_threads(8, lambda: limited.complete(REQUEST)) == []
        assert len(stub.requests) == 8
        assert stub.max_in_flight <= 2


def test_a_killed_workers_slot_expires(redis_url):  # noqa: F811
    limiter, _ = fleet_limiter(redis_url)
    deadline = time.monotonic() + 30
    limiter.acquire("e m", Limits(concurrency=1), tokens=0, deadline=deadline, hold_s=0.5)
    assert limiter.in_flight("e m") == 1  # never released: its worker died
    lease = limiter.acquire("e m", Limits(concurrency=1), tokens=0, deadline=deadline, hold_s=5)
    assert limiter.in_flight("e m") == 1
    limiter.release(lease)
    assert limiter.in_flight("e m") == 0


def test_waiting_for_a_slot_ends_at_the_deadline(make_limiter):
    limiter = make_limiter()
    limits = Limits(concurrency=1)
    limiter.acquire("e m", limits, tokens=0, deadline=time.monotonic() + 5, hold_s=60)
    with pytest.raises(endpoint_limits.EndpointBusy, match="concurrency"):
        limiter.acquire("e m", limits, tokens=0, deadline=time.monotonic() + 0.3, hold_s=60)


# --------------------------------------------------------------------------------------------------
# Requests and tokens per minute (a short window stands for the minute)
# --------------------------------------------------------------------------------------------------


def test_the_request_rate_stays_within_its_limit(make_limiter):
    window, limit = 1.5, 3
    make_limiter(window_s=window)
    with StubLLM(lambda body: Reply("Hi.")) as stub:
        limited = client(stub, "openai", requests_per_minute=limit)
        for _ in range(7):
            limited.complete(REQUEST)
        arrivals = stub.arrivals
        assert len(arrivals) == 7
        for first, later in zip(arrivals, arrivals[limit:], strict=False):
            assert later - first >= window - SLACK_S  # never more than `limit` in a window


def test_the_token_rate_makes_a_call_wait_for_the_window(make_limiter):
    window = 1.5
    make_limiter(window_s=window)
    with StubLLM(lambda body: Reply("Hi.")) as stub:  # 1100 tokens a call
        limited = client(stub, "openai", tokens_per_minute=1500)
        limited.complete(REQUEST)
        limited.complete(REQUEST)
        assert stub.arrivals[1] - stub.arrivals[0] >= window - SLACK_S


# --------------------------------------------------------------------------------------------------
# What the providers say
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_429_with_retry_after_ms_blocks_the_endpoint_and_the_next_call_waits(
    make_limiter, provider
):
    limiter = make_limiter()
    first = [Reply(status=429, headers={"retry-after-ms": "1500"})]
    with StubLLM(lambda body: first.pop(0) if first else Reply("Hi.")) as stub:
        done = threading.Event()
        calling = threading.Thread(
            target=lambda: (client(stub, provider).complete(REQUEST), done.set())
        )
        calling.start()
        for _ in range(500):
            if stub.requests:
                break
            time.sleep(0.01)
        time.sleep(0.1)
        assert limiter.blocked_for(key(stub, provider)) > 0.5  # the whole fleet sees it
        other = client(stub, provider).complete(REQUEST)  # another turn, meanwhile
        calling.join(timeout=60)
        assert done.is_set() and other.text == "Hi."
        assert len(stub.arrivals) == 3
        assert min(stub.arrivals[1:]) - stub.arrivals[0] >= 1.5 - SLACK_S


def test_a_second_process_waits_for_a_block_set_by_the_first(redis_url):  # noqa: F811
    limiter, prefix = fleet_limiter(redis_url)
    with StubLLM(lambda body: Reply("Hi.")) as stub:
        limiter.block(key(stub), 4.0)  # as a 429 seen by any worker would
        blocked_at = time.monotonic()
        caller = start_callers(redis_url, prefix, stub.url + "/v1", concurrency=4, calls=1)
        output = caller.communicate(timeout=120)[0]
        assert caller.returncode == 0, output
        assert stub.arrivals[0] - blocked_at >= 4.0 - SLACK_S


def test_openai_headers_saying_no_requests_remain_block_until_their_reset(make_limiter):
    limiter = make_limiter()
    exhausted = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}
    replies = [Reply("Hi.", headers=exhausted)]
    with StubLLM(lambda body: replies.pop(0) if replies else Reply("Hi.")) as stub:
        limited = client(stub)
        limited.complete(REQUEST)
        assert limiter.blocked_for(key(stub)) > 0.5
        limited.complete(REQUEST)
        assert stub.arrivals[1] - stub.arrivals[0] >= 1.5 - SLACK_S


def test_anthropic_headers_saying_no_tokens_remain_block_until_their_reset(make_limiter):
    limiter = make_limiter()
    reset = (datetime.now(UTC) + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    exhausted = {
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": reset,
    }
    with StubLLM(lambda body: Reply("Hi.", headers=exhausted)) as stub:
        limited = client(stub, "anthropic")
        limited.complete(REQUEST)
        assert 10 < limiter.blocked_for(key(stub, "anthropic")) <= 20
        started = time.monotonic()
        with pytest.raises(ProviderError, match="deadline passed while waiting"):
            limited.complete(REQUEST, deadline=time.monotonic() + 1)
        assert time.monotonic() - started < 15  # it gave up, not waited out the block
        assert len(stub.requests) == 1


def test_headers_with_requests_left_block_nothing(make_limiter):
    limiter = make_limiter()
    fine = {"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "6m0s"}
    with StubLLM(lambda body: Reply("Hi.", headers=fine)) as stub:
        client(stub).complete(REQUEST)
        assert limiter.blocked_for(key(stub)) == 0


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


def test_an_agents_limits_win_and_the_rest_come_from_the_settings(settings):
    settings.LLM_CONCURRENCY_PER_ENDPOINT = 7
    settings.LLM_ENDPOINT_LIMITS = {
        "http://gpu:8000/v1": {"concurrency": 4, "requests_per_minute": 100},
        "*": {"tokens_per_minute": 5000},
    }
    assert limits_for("http://gpu:8000/v1/", Limits(requests_per_minute=50)) == Limits(4, 50, None)
    assert limits_for("http://other/v1", Limits()) == Limits(7, None, 5000)
    assert limits_for("openai", Limits(concurrency=2)) == Limits(2, None, 5000)


def test_the_process_limiter_is_redis_when_a_url_is_set(settings, redis_url):  # noqa: F811
    endpoint_limits.use(None)
    settings.LLM_LIMITS_REDIS_URL = redis_url
    assert isinstance(endpoint_limits.limiter(), endpoint_limits.RedisLimiter)
    endpoint_limits.use(None)
    settings.LLM_LIMITS_REDIS_URL = ""
    assert isinstance(endpoint_limits.limiter(), InProcessLimiter)


def test_an_unreachable_redis_falls_back_to_limits_in_the_process():
    limiter = endpoint_limits.RedisLimiter("redis://127.0.0.1:1/0")
    lease = limiter.acquire(
        "e m", Limits(concurrency=1), tokens=0, deadline=time.monotonic() + 5, hold_s=60
    )
    assert lease.local and limiter.in_flight("e m") == 1
    limiter.release(lease)
    assert limiter.in_flight("e m") == 0


@pytest.mark.django_db(transaction=True)
def test_a_turn_waiting_for_a_slot_holds_no_database_connection(settings, monkeypatch):
    from django.db import connection

    from config.background import wait_for_background
    from debate.protocol import Protocol, Role
    from debate.services import SeatAssignment, paper_rules, session_create
    from llm_agents.models import Agent
    from tests.factories import make_question
    from tests.llm_stubs import playing_script

    if connection.vendor == "sqlite":
        pytest.skip("SQLite keeps its connection (a file, no pool): PostgreSQL only")
    settings.BACKGROUND_MODE = "inprocess"
    limiter = InProcessLimiter()
    endpoint_limits.use(limiter)
    held: list[bool] = []
    acquire = limiter.acquire

    def watched(*args, **kwargs):
        held.append(connection.connection is not None)
        return acquire(*args, **kwargs)

    monkeypatch.setattr(limiter, "acquire", watched)
    with StubLLM(playing_script(judge_rounds=1)) as stub:
        agent = Agent.objects.create(
            name="gpt", provider="openai", model="m", base_url=stub.url + "/v1"
        )
        session_create(
            question=make_question(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, agent=agent),
                SeatAssignment(Role.CONSULTANT, agent=agent),
            ],
        )
        wait_for_background(timeout=60)
    assert held and not any(held)
