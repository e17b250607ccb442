"""Provider prompt caching: a seat's system prompt (its rules, the story, the question) is the
same on every turn, so it is an identical prefix that OpenAI and vLLM cache by themselves, and
the Anthropic request marks it `cache_control: ephemeral`. The call log keeps the cached input
tokens each provider reports and prices them at the cached rates, with the saving. Through the
real SDKs against the stub servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config.background import wait_for_background
from debate.models import Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents import endpoint_limits
from llm_agents.models import Agent, LLMCall
from llm_agents.providers import ProviderConfig, client_for
from tests.factories import make_question
from tests.llm_agents.limits_support import REQUEST
from tests.llm_stubs import Reply, StubLLM, playing_script, stub_agent


@pytest.fixture(autouse=True)
def keys(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    endpoint_limits.use(endpoint_limits.InProcessLimiter())
    yield
    endpoint_limits.use(None)


def caching(script, cached: int, written: int = 0):
    """``script``'s replies, reporting ``cached`` input tokens read from the cache (and
    ``written`` to it)."""

    def answer(body: dict) -> Reply:
        reply = script(body)
        reply.cached_tokens, reply.cache_write_tokens = cached, written
        return reply

    return answer


@pytest.mark.django_db(transaction=True)
def test_a_debaters_turns_share_one_cached_prefix_and_the_log_prices_cached_tokens():
    with (
        StubLLM(caching(playing_script(judge_rounds=2), cached=800, written=200)) as claude,
        StubLLM(caching(playing_script(judge_rounds=2), cached=600)) as gpt,
    ):
        debater_a = stub_agent("claude-a", claude, "anthropic")
        debater_b = stub_agent("gpt-b", gpt, "openai")
        judge = stub_agent("gpt-judge", gpt, "openai", cost_cached_input_per_mtok=Decimal("0.25"))
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=paper_rules(Protocol.DEBATE),
            seats=[
                SeatAssignment(Role.JUDGE, agent=judge),
                SeatAssignment(Role.DEBATER_A, agent=debater_a),
                SeatAssignment(Role.DEBATER_B, agent=debater_b),
            ],
        )
        wait_for_background(timeout=60)
        session.refresh_from_db()
        assert session.status == Session.Status.FINISHED, session.attention

        # Anthropic: the system prompt is one text block holding the story, marked for caching,
        # the same on every turn; the turn's own part comes after, in the messages.
        systems = [body["system"] for _, body in claude.requests]
        assert len(systems) >= 2
        assert all(system == systems[0] for system in systems)
        [block] = systems[0]
        assert block["cache_control"] == {"type": "ephemeral"}
        assert "<story>" in block["text"] and "Debater A" in block["text"]
        turns = [body["messages"][0]["content"] for _, body in claude.requests]
        assert len(set(turns)) >= 2  # the turns differ only after the prefix

        # OpenAI: the system message leads, identical on every turn of the seat.
        b_prefixes = [
            body["messages"][0]
            for _, body in gpt.requests
            if "You are Debater B" in body["messages"][0]["content"]
        ]
        assert len(b_prefixes) >= 2 and all(p == b_prefixes[0] for p in b_prefixes)
        assert b_prefixes[0]["role"] == "system" and "<story>" in b_prefixes[0]["content"]

    # Anthropic reports 1000 plain, 800 read and 200 written: 2000 in all. At $2 in, cache reads
    # at 10% ($0.20) and writes at 125% ($2.50), $10 out: 2000 + 160 + 500 + 1000 (100 out).
    for call in LLMCall.objects.filter(agent=debater_a):
        assert (call.input_tokens, call.cached_input_tokens) == (2000, 800)
        assert call.cache_write_input_tokens == 200
        assert call.cost_usd == Decimal("0.003660")
        assert call.cache_saving_usd == Decimal("0.001340")  # 4000 at full price, less 2660
    # OpenAI's 1000 prompt tokens include the 600 cached, at 50% by default ($1).
    for call in LLMCall.objects.filter(agent=debater_b):
        assert (call.input_tokens, call.cached_input_tokens) == (1000, 600)
        assert call.cache_write_input_tokens == 0
        assert call.cost_usd == Decimal("0.002400")  # 800 + 600 + 1000
        assert call.cache_saving_usd == Decimal("0.000600")
    # The agent's own cached price wins: 800 + 600 x 0.25 + 1000.
    for call in LLMCall.objects.filter(agent=judge):
        assert call.cost_usd == Decimal("0.001950")
        assert call.cache_saving_usd == Decimal("0.001050")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_reply_without_cache_fields_counts_no_cached_tokens(provider):
    with StubLLM(lambda body: Reply("Hi.")) as stub:
        base_url = stub.url + ("/v1" if provider != "anthropic" else "")
        completion = client_for(
            ProviderConfig(provider=provider, model="m", base_url=base_url)
        ).complete(REQUEST)
    assert (completion.cached_input_tokens, completion.cache_write_input_tokens) == (0, 0)
    assert completion.input_tokens == 1000
    assert completion.served_by == base_url


def test_an_empty_system_prompt_is_not_sent_as_a_cached_block():
    request = REQUEST.__class__(system="", messages=REQUEST.messages)
    with StubLLM(lambda body: Reply("Hi.")) as stub:
        client_for(ProviderConfig(provider="anthropic", model="m", base_url=stub.url)).complete(
            request
        )
    assert "system" not in stub.requests[0][1]


@pytest.mark.django_db
def test_cached_prices_default_to_the_providers_shares():
    openai_agent = Agent(provider="openai", cost_input_per_mtok=Decimal("2.5"))
    claude = Agent(provider="anthropic", cost_input_per_mtok=Decimal("3"))
    vllm = Agent(provider="openai-compatible", cost_input_per_mtok=Decimal("1"))
    assert openai_agent.cached_input_price == Decimal("1.25")
    assert (claude.cached_input_price, claude.cache_write_price) == (
        Decimal("0.3"),
        Decimal("3.75"),
    )
    assert (vllm.cached_input_price, vllm.cache_write_price) == (Decimal(1), Decimal(1))
