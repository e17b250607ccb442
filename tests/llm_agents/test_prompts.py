"""Prompts and replies: what each seat is told, and how tolerant the reading of answers is."""

from __future__ import annotations

import pytest

from debate.protocol import Role
from llm_agents.prompts import (
    UnparsableReply,
    build_request,
    judge_reply_parse,
    speech_from_reply,
    strip_thinking,
)
from llm_agents.providers import parse_spec
from tests.factories import judge, make_debate, quote, seat, speak

PASSAGE = "The keeper counted seven ships. Marta counted eight. The inspector chose Marta's count."


@pytest.mark.parametrize(
    "reply, expected, end",
    [
        ("PROBABILITIES: A=70%, B=30%\nDECISION: continue\nNOTE: more", [0.7, 0.3], False),
        (
            "<thinking>hmm</thinking>Probabilities: B: 0.25, A: 0.75\nDecision: END",
            [0.75, 0.25],
            True,
        ),
        ("PROBABILITIES: A=66%, B=33%\nDECISION: **end**", [0.6667, 0.3333], True),
    ],
)
def test_judge_replies_are_read_tolerantly(reply, expected, end):
    parsed = judge_reply_parse(reply, 2)
    assert parsed.probabilities == pytest.approx(expected, abs=1e-3)
    assert parsed.end is end


@pytest.mark.parametrize(
    "reply",
    [
        "I lean towards A.",
        "PROBABILITIES: A=70%\nDECISION: end",
        "PROBABILITIES: A=70%, B=70%\nDECISION: end",
        "PROBABILITIES: A=70%, B=30%",
    ],
)
def test_unreadable_judge_replies_raise(reply):
    with pytest.raises(UnparsableReply):
        judge_reply_parse(reply, 2)


def test_hidden_reasoning_is_stripped_even_when_unclosed():
    assert strip_thinking("<thinking>plan</thinking>Speech.") == "Speech."
    assert strip_thinking("Speech.<thinking>never closed") == "Speech."
    assert speech_from_reply("<Thinking>x</Thinking>\nSpeech: My case.") == "My case."


def test_spec_short_forms(monkeypatch):
    assert parse_spec("openai:gpt-4o").provider == "openai"
    assert parse_spec("anthropic:claude-sonnet-4-5").model == "claude-sonnet-4-5"
    monkeypatch.setenv("VLLM_BASE_URL", "http://gpu:8000/v1")
    vllm = parse_spec("vllm:Qwen/Qwen2.5-7B-Instruct")
    assert (vllm.provider, vllm.model, vllm.base_url) == (
        "openai-compatible",
        "Qwen/Qwen2.5-7B-Instruct",
        "http://gpu:8000/v1",
    )
    monkeypatch.delenv("VLLM_BASE_URL")
    with pytest.raises(ValueError, match="VLLM_BASE_URL"):
        parse_spec("vllm:x")
    with pytest.raises(ValueError, match="provider:model"):
        parse_spec("gpt-4o")


@pytest.mark.django_db
def test_judge_prompt_holds_quotes_but_never_the_story():
    session = make_debate()
    judge(session)
    speak(session, Role.DEBATER_A, "A: " + quote(session, "seven ships passed the point"))
    speak(session, Role.DEBATER_B, "B: <quote>words that are nowhere</quote>")
    from debate.visibility import view_for

    request = build_request(view_for(seat(session, Role.JUDGE), session), "v1")
    prompt = request.system + str(request.messages)
    passage = session.question.passage.text
    assert passage[:60] not in prompt and "Marta, his daughter" not in prompt
    assert '<quote verified="yes">seven ships passed the point</quote>' in prompt
    assert '<quote verified="no">words that are nowhere</quote>' in prompt
    debater = build_request(view_for(seat(session, Role.DEBATER_A), session), "v1")
    assert passage in debater.system and "argue for answer A" in debater.system
