"""Replies the providers should not send but do: a proxy's HTML page or a cut-off body with a 200,
a reply without usage, a refusal, an empty reply, and a judge's reply that could be misread. Each
goes through the real `openai` and `anthropic` SDKs against the local stub servers, first at the
provider client, then through a whole AI turn as a session's staff would see it."""

from __future__ import annotations

import anthropic
import pytest

from config.background import wait_for_background
from debate.models import Judgment, Session, Speech
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import AITurn, LLMCall
from llm_agents.providers import (
    MAX_ATTEMPTS,
    ChatRequest,
    ProviderConfig,
    ProviderError,
    client_for,
)
from llm_agents.services import EMPTY_ATTEMPTS, REASK_AFTER_EMPTY
from tests.factories import judge, make_question, make_user
from tests.llm_stubs import PROXY_PAGE, Reply, StubLLM, playing_script, proxy_page, stub_agent

PROVIDERS = ["openai", "anthropic"]
REQUEST = ChatRequest(system="Be brief.", messages=({"role": "user", "content": "Say hi."},))
JUDGE_REPLY = "PROBABILITIES: A=70%, B=30%\nDECISION: continue\nNOTE: Show me the harbour."


@pytest.fixture(autouse=True)
def keys_and_short_backoff(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)


def client(stub: StubLLM, provider: str):
    base_url = stub.url + ("/v1" if provider != "anthropic" else "")
    return client_for(ProviderConfig(provider=provider, model="m", base_url=base_url))


def replies(*first: Reply, then: Reply | None = None):
    """A script that sends ``first`` in turn, then ``then`` (or a sensible player) for ever."""
    queue = list(first)
    good = playing_script()
    return lambda body: queue.pop(0) if queue else (then or good(body))


# --------------------------------------------------------------------------------------------------
# The provider client
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "bad, seen",
    [(proxy_page(), "Bad Gateway"), (Reply("Hello there", cut=True), "not JSON")],
    ids=["proxy-page", "cut-off-body"],
)
def test_a_malformed_200_is_retried_and_what_came_back_is_noted(provider, bad, seen):
    with StubLLM(replies(bad, then=Reply("Hello."))) as stub:
        completion = client(stub, provider).complete(REQUEST)
    assert completion.text == "Hello."
    assert completion.retries == 1
    assert len(stub.requests) == 2
    assert len(completion.notes) == 1 and "not JSON" in completion.notes[0]
    assert seen in completion.notes[0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reply_that_stays_malformed_fails_with_the_body_kept(provider):
    with (
        StubLLM(lambda body: proxy_page()) as stub,
        pytest.raises(ProviderError, match="not JSON") as failure,
    ):
        client(stub, provider).complete(REQUEST)
    assert len(stub.requests) == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} tries" in str(failure.value)
    assert "text/html" in str(failure.value)
    assert failure.value.response == PROXY_PAGE
    assert failure.value.retries == MAX_ATTEMPTS


@pytest.mark.parametrize(
    "provider, what, missing",
    [("openai", "a chat completion", "choices"), ("anthropic", "a message", "content")],
)
def test_json_of_another_shape_is_a_provider_error_not_an_attribute_error(provider, what, missing):
    quota_page = '{"error": {"message": "Quota exceeded", "type": "proxy"}}'
    with (
        StubLLM(lambda body: Reply(raw=quota_page)) as stub,
        pytest.raises(ProviderError, match=f"not {what} \\({missing}: Field required") as e,
    ):
        client(stub, provider).complete(REQUEST)
    assert e.value.response == quota_page


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reply_without_usage_is_used_with_no_tokens_and_a_note(provider):
    with StubLLM(lambda body: Reply("Hello.", usage=False)) as stub:
        completion = client(stub, provider).complete(REQUEST)
    assert completion.text == "Hello."
    assert (completion.input_tokens, completion.output_tokens) == (0, 0)
    assert completion.notes == ("The reply had no token usage: 0 tokens recorded.",)
    assert completion.retries == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refusal_is_a_reply_marked_refused_with_its_words(provider):
    with StubLLM(lambda body: Reply(refusal="I can't help with that.")) as stub:
        completion = client(stub, provider).complete(REQUEST)
    assert completion.refused
    assert completion.refusal == "I can't help with that."
    assert completion.stop_reason == ("refusal" if provider == "anthropic" else "stop")


def test_the_anthropic_stub_refuses_an_empty_message_as_the_messages_api_does():
    with StubLLM(lambda body: Reply("Hello.")) as stub:
        sdk = anthropic.Anthropic(api_key="k", base_url=stub.url, max_retries=0)
        with pytest.raises(anthropic.BadRequestError, match="must have non-empty content"):
            sdk.messages.create(
                model="m",
                max_tokens=10,
                messages=[
                    {"role": "user", "content": "Hi."},
                    {"role": "assistant", "content": ""},
                    {"role": "user", "content": "Again."},
                ],
            )
        prefill = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": ""}]
        assert sdk.messages.create(model="m", max_tokens=10, messages=prefill).content


# --------------------------------------------------------------------------------------------------
# Whole turns
# --------------------------------------------------------------------------------------------------


def consultancy(stub: StubLLM, provider: str = "openai") -> Session:
    """A human judge and an AI consultant, the consultant's first speech due."""
    person = make_user()
    session = session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[
            SeatAssignment(Role.JUDGE, user=person),
            SeatAssignment(Role.CONSULTANT, agent=stub_agent(f"c-{person.pk}", stub, provider)),
        ],
    )
    judge(session, [0.5, 0.5], "Prior.")
    return session


def ai_judged(stub: StubLLM, provider: str = "openai") -> Session:
    """An AI judge, its prior due, and a human consultant."""
    person = make_user()
    return session_create(
        question=make_question(),
        protocol_name=Protocol.CONSULTANCY,
        rules=paper_rules(Protocol.CONSULTANCY),
        seats=[
            SeatAssignment(Role.JUDGE, agent=stub_agent(f"j-{person.pk}", stub, provider)),
            SeatAssignment(Role.CONSULTANT, user=person),
        ],
    )


def run(session: Session) -> Session:
    wait_for_background(timeout=60)
    session.refresh_from_db()
    return session


def calls(session: Session) -> list[LLMCall]:
    return list(LLMCall.objects.filter(session=session).order_by("id"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_turn_hit_by_a_proxy_page_and_a_cut_off_body_retries_and_completes(provider):
    with StubLLM(replies(proxy_page(), Reply("Too short", cut=True))) as stub:
        session = run(consultancy(stub, provider))
    assert session.attention == ""
    assert Speech.objects.filter(round__session=session).count() == 1
    (call,) = calls(session)
    assert call.retries == 2
    assert "Bad Gateway" in call.error and call.error.count("not JSON") == 2
    assert "That is my case." in call.response and call.input_tokens == 1000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_turn_whose_replies_stay_malformed_is_flagged_with_what_came_back(provider):
    with StubLLM(lambda body: proxy_page()) as stub:
        session = run(consultancy(stub, provider))
    assert "AI turn for consultant" in session.attention and "not JSON" in session.attention
    assert AITurn.objects.get(session=session).status == AITurn.Status.FAILED
    assert not Speech.objects.filter(round__session=session).exists()
    (call,) = calls(session)
    assert call.response == PROXY_PAGE and "gave up after" in call.error


@pytest.mark.django_db(transaction=True)
def test_an_anthropic_reply_without_usage_still_makes_the_move_counting_no_tokens():
    good = playing_script()

    def script(body):
        reply = good(body)
        reply.usage = False
        return reply

    with StubLLM(script) as stub:
        session = run(consultancy(stub, "anthropic"))
    assert session.attention == ""
    assert Speech.objects.filter(round__session=session).count() == 1
    (call,) = calls(session)
    assert (call.input_tokens, call.output_tokens, float(call.cost_usd)) == (0, 0, 0.0)
    assert "no token usage" in call.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_speech_is_asked_again_and_the_refusal_kept_in_the_call_log(provider):
    with StubLLM(replies(Reply(refusal="I won't argue for a wrong answer."))) as stub:
        session = run(consultancy(stub, provider))
        asked_again = stub.requests[1][1]["messages"]
    assert session.attention == ""
    assert Speech.objects.filter(round__session=session).count() == 1
    refused, answered = calls(session)
    assert refused.response == "I won't argue for a wrong answer."
    assert "refused" in refused.error
    assert "That is my case." in answered.response and answered.error == ""
    asked_again = [m for m in asked_again if m["role"] != "system"]
    assert [m["role"] for m in asked_again] == ["user"]  # nothing empty or refused sent back
    assert asked_again[0]["content"].endswith(REASK_AFTER_EMPTY)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_model_that_keeps_refusing_flags_the_session_and_no_speech_is_saved(provider):
    with StubLLM(lambda body: Reply(refusal="Sorry, I can't help with that.")) as stub:
        session = run(consultancy(stub, provider))
    assert "AI turn for consultant" in session.attention
    assert 'refused to answer: "Sorry, I can\'t help with that."' in session.attention
    assert AITurn.objects.get(session=session).status == AITurn.Status.FAILED
    assert not Speech.objects.filter(round__session=session).exists()
    logged = calls(session)
    assert len(logged) == EMPTY_ATTEMPTS + 1
    assert all(c.response == "Sorry, I can't help with that." for c in logged)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "empty", [Reply(""), Reply(None, stop_reason="length")], ids=["empty", "null-cut-at-length"]
)
def test_empty_speech_replies_are_asked_again_then_flagged_never_saved(empty):
    with StubLLM(lambda body: empty) as stub:
        session = run(consultancy(stub))
    assert "The model's reply was empty" in session.attention
    assert not Speech.objects.filter(round__session=session).exists()
    assert len(calls(session)) == EMPTY_ATTEMPTS + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_empty_judge_reply_is_asked_again_without_an_empty_assistant_message(provider):
    with StubLLM(replies(Reply(""), then=Reply(JUDGE_REPLY))) as stub:
        session = run(ai_judged(stub, provider))
        sent = [body["messages"] for _, body in stub.requests]
    assert session.attention == ""
    judgment = Judgment.objects.get(session=session)
    assert judgment.probabilities == pytest.approx([0.7, 0.3])
    assert judgment.text == "Show me the harbour."
    assert len(sent) == 2
    assert all(m["content"].strip() for m in sent[1])


@pytest.mark.django_db(transaction=True)
def test_an_empty_note_reply_never_becomes_a_judgment():
    with StubLLM(lambda body: Reply("<thinking>A, surely</thinking>")) as stub:
        session = run(ai_judged(stub, "anthropic"))
    assert "The model's reply was empty" in session.attention
    assert not Judgment.objects.filter(session=session).exists()
    assert len(stub.requests) == EMPTY_ATTEMPTS + 1


@pytest.mark.django_db(transaction=True)
def test_a_judge_reply_quoting_its_earlier_probabilities_is_asked_again_not_misread():
    misreadable = (
        "PROBABILITIES: A=70%, B=30% (was A=45%, B=55% before this round)\n"
        "DECISION: continue\nNOTE: Show me the harbour."
    )
    with StubLLM(replies(Reply(misreadable), then=Reply(JUDGE_REPLY))) as stub:
        session = run(ai_judged(stub))
        feedback = stub.requests[1][1]["messages"][-1]["content"]
    assert session.attention == ""
    judgment = Judgment.objects.get(session=session)
    assert judgment.probabilities == pytest.approx([0.7, 0.3])
    assert "nothing else" in feedback
    assert "no earlier probabilities" in stub.systems()[0]  # the prompt says so
