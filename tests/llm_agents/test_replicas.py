"""vLLM replicas: an agent names several base URLs serving one model; each call goes to the
least-loaded replica that is up, a failing one (refused connection, 5xx) cools down while the
call is tried on another, and the call log says which replica served it. Through the real
`openai` SDK against stub servers."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError

from config.background import wait_for_background
from debate.models import Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents import endpoint_limits
from llm_agents.endpoint_limits import InProcessLimiter, Limits, endpoint_key
from llm_agents.models import Agent, LLMCall
from llm_agents.providers import ProviderConfig, client_for
from tests.factories import make_question
from tests.llm_agents.limits_support import (
    REQUEST,
    fleet_limiter,
    free_port,
    redis_url,  # noqa: F401 (a fixture)
)
from tests.llm_stubs import Reply, StubLLM, playing_script


@pytest.fixture(autouse=True)
def own_limiter(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)
    limiter = InProcessLimiter()
    endpoint_limits.use(limiter)
    yield limiter
    endpoint_limits.use(None)


def replicated(*urls: str, **limits: int):
    return client_for(
        ProviderConfig(
            provider="openai-compatible",
            model="m",
            base_url=urls[0],
            replica_urls=urls[1:],
            limits=Limits(**limits),
        )
    )


def down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def test_calls_go_to_the_replica_that_is_up_when_the_other_is_down(own_limiter):
    down = down_url()
    with StubLLM(lambda body: Reply("Hi.")) as up:
        replicas = replicated(down, up.url + "/v1")
        served = [replicas.complete(REQUEST) for _ in range(6)]
    assert {c.served_by for c in served} == {up.url + "/v1"}
    assert len(up.requests) == 6
    assert sum(c.retries for c in served) <= 1  # the down one is tried once, then avoided
    if any(c.retries for c in served):
        assert own_limiter.cooling(endpoint_key(down, "m"))


def test_a_replica_answering_5xx_cools_down_and_the_call_succeeds_on_the_other(own_limiter):
    with (
        StubLLM(lambda body: Reply(status=503)) as failing,
        StubLLM(lambda body: Reply("Hi.")) as up,
    ):
        replicas = replicated(failing.url + "/v1", up.url + "/v1")
        served = [replicas.complete(REQUEST) for _ in range(6)]
        assert {c.served_by for c in served} == {up.url + "/v1"}
        assert len(failing.requests) <= 1
        assert len(up.requests) == 6
        if failing.requests:
            assert own_limiter.cooling(endpoint_key(failing.url + "/v1", "m"))


def test_calls_spread_over_replicas_that_are_both_up():
    with StubLLM(lambda body: Reply("Hi.")) as one, StubLLM(lambda body: Reply("Hi.")) as two:
        replicas = replicated(one.url + "/v1", two.url + "/v1")
        for _ in range(20):
            replicas.complete(REQUEST)
        assert len(one.requests) + len(two.requests) == 20
        assert one.requests and two.requests


def test_concurrent_calls_go_to_the_least_loaded_replica():
    with (
        StubLLM(lambda body: Reply("Hi.", delay=0.3)) as one,
        StubLLM(lambda body: Reply("Hi.", delay=0.3)) as two,
    ):
        replicas = replicated(one.url + "/v1", two.url + "/v1")
        threads = [threading.Thread(target=replicas.complete, args=(REQUEST,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(one.requests) + len(two.requests) == 8
        assert one.requests and two.requests
        assert max(one.max_in_flight, two.max_in_flight) <= 6


def test_the_load_of_replicas_is_counted_across_the_fleet(redis_url):  # noqa: F811
    fleet, _ = fleet_limiter(redis_url)
    endpoint_limits.use(fleet)
    busy, idle = "http://gpu-1:8000/v1", "http://gpu-2:8000/v1"
    for _ in range(2):  # held by other workers
        fleet.acquire(endpoint_key(busy, "m"), Limits(), tokens=0, deadline=1e12, hold_s=60)
    replicas = replicated(busy, idle)
    assert {replicas.pick_replica(fleet, set()) for _ in range(10)} == {idle}
    fleet.cool_down(endpoint_key(idle, "m"), 60)
    assert replicas.pick_replica(fleet, set()) == busy  # the idle one is failing


@pytest.mark.django_db(transaction=True)
def test_the_call_log_names_the_replica_that_served_each_call():
    down = down_url()
    with StubLLM(playing_script(judge_rounds=1)) as up:
        agent = Agent.objects.create(
            name="vllm-pair",
            provider=Agent.Provider.OPENAI_COMPATIBLE,
            model="qwen",
            base_url=down,
            replica_urls=[up.url + "/v1"],
        )
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, agent=agent),
                SeatAssignment(Role.CONSULTANT, agent=agent),
            ],
        )
        wait_for_background(timeout=60)
    session.refresh_from_db()
    assert session.status == Session.Status.FINISHED, session.attention
    calls = LLMCall.objects.filter(session=session)
    assert calls.count() >= 3
    assert set(calls.values_list("served_by", flat=True)) == {up.url + "/v1"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "provider, urls, problem",
    [
        ("openai-compatible", "http://gpu-2:8000/v1", "JSON list"),
        ("openai-compatible", ["gpu-2:8000"], r"Not an http\(s\) URL"),
        ("openai-compatible", [3], "JSON list"),
        ("openai", ["http://gpu-2:8000/v1"], "OpenAI-compatible"),
    ],
)
def test_replica_urls_are_checked_when_an_agent_is_saved_in_the_admin(provider, urls, problem):
    agent = Agent(name="a", provider=provider, model="m", replica_urls=urls)
    with pytest.raises(ValidationError, match=problem):
        agent.full_clean()


@pytest.mark.django_db
def test_good_replica_urls_pass():
    Agent(
        name="a",
        provider="openai-compatible",
        model="m",
        base_url="http://gpu-1:8000/v1",
        replica_urls=["http://gpu-2:8000/v1", "https://gpu-3.example.org/v1"],
    ).full_clean()
