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
    with_feedback,
)
from llm_agents.providers import ChatRequest, parse_spec
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
        (
            "**PROBABILITIES:** A=70, B=30\n**DECISION:** continue.\n**NOTE:** more",
            [0.7, 0.3],
            False,
        ),
        ("I weighed it.\nPROBABILITIES: A = 55.5%, B = 44.5%\nDECISION: end", [0.555, 0.445], True),
    ],
)
def test_judge_replies_are_read_tolerantly(reply, expected, end):
    parsed = judge_reply_parse(reply, 2)
    assert parsed.probabilities == pytest.approx(expected, abs=1e-3)
    assert parsed.end is end


def test_the_judge_note_is_everything_after_its_label():
    reply = (
        "PROBABILITIES: A=70%, B=30%\nDECISION: continue\n**NOTE:** Quote the harbour.\nAnd why?"
    )
    assert judge_reply_parse(reply, 2).note == "Quote the harbour.\nAnd why?"
    mention = "PROBABILITIES: A=70%, B=30%\nDECISION: end\nNOTE: my probabilities: A=45% before"
    assert judge_reply_parse(mention, 2).note == "my probabilities: A=45% before"


@pytest.mark.parametrize(
    "reply, says",
    [
        ("I lean towards A.", "No PROBABILITIES line"),
        ("PROBABILITIES: A=70%\nDECISION: end", "each of A, B"),
        ("PROBABILITIES: A=70%, B=70%\nDECISION: end", "sum to 140%"),
        ("PROBABILITIES: A=70%, B=30%", "No DECISION line"),
        # Ambiguous: read strictly, never guessed.
        (
            "PROBABILITIES: A=70%, B=30% (was A=45%, B=55% before this round)\nDECISION: end",
            "nothing else",
        ),
        ("PROBABILITIES: A=70%, B=30%\nPROBABILITIES: A=45%, B=55%\nDECISION: end", "one"),
        ("PROBABILITIES: A=70%, B=30%, C=0%\nDECISION: end", "for no other"),
        ("PROBABILITIES: A=70%, A=30%\nDECISION: end", "letter once"),
        ("PROBABILITIES: A=70%, B=0.3\nDECISION: end", "as a percentage"),
        ("PROBABILITIES: A=70% B=30%\nDECISION: end", "nothing else"),
        ("PROBABILITIES: A=70%, B=30%\nDECISION: continue or end", "only continue"),
        ("PROBABILITIES: A=70%, B=30%\nDECISION: end\nDECISION: continue", "one DECISION"),
        ("NOTE: hm\nPROBABILITIES: A=70%, B=30%\nDECISION: end", "before the NOTE"),
        ("<thinking>PROBABILITIES: A=70%, B=30%\nDECISION: end</thinking>", "No PROBABILITIES"),
    ],
)
def test_unreadable_or_ambiguous_judge_replies_raise_saying_what_to_fix(reply, says):
    with pytest.raises(UnparsableReply, match=says):
        judge_reply_parse(reply, 2)


def test_feedback_on_an_empty_reply_never_sends_an_empty_assistant_message():
    request = ChatRequest(system="S", messages=({"role": "user", "content": "Judge now."},))
    for empty in ("", "  \n"):
        again = with_feedback(request, empty, "Answer in the format given.")
        assert again.messages == (
            {"role": "user", "content": "Judge now.\n\nAnswer in the format given."},
        )
    with_reply = with_feedback(request, "A, I think.", "Answer in the format given.")
    assert [m["role"] for m in with_reply.messages] == ["user", "assistant", "user"]


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


@pytest.mark.django_db
def test_the_judges_prompt_gives_its_notes_limit_not_a_speech_rounds():
    from debate.visibility import view_for

    session = make_debate()
    request = build_request(view_for(seat(session, Role.JUDGE), session), "v1")
    limit = session.rules.get_structure().round_at(0).char_limit
    assert f"(at most {limit} characters)" in request.system
    assert "(at most 0 characters)" not in request.system


@pytest.mark.django_db
def test_the_judge_is_told_which_answer_each_expert_argues():
    """As the paper's judges were: "Debater A argues A", and for a consultancy which answer the
    one consultant argues (it may be either)."""
    from debate.visibility import view_for
    from tests.factories import make_consultancy

    debate = make_debate()
    turn = build_request(view_for(seat(debate, Role.JUDGE), debate), "v1").messages[-1]["content"]
    assert "Debater A argues A." in turn and "Debater B argues B." in turn
    consultancy = make_consultancy(consultant_position=1)
    judge_seat = seat(consultancy, Role.JUDGE)
    turn = build_request(view_for(judge_seat, consultancy), "v1").messages[-1]["content"]
    assert "Consultant argues B." in turn and "argues A" not in turn


@pytest.mark.django_db
def test_a_swapped_view_says_the_consultant_argues_the_swapped_letter():
    from debate.visibility import view_for
    from llm_agents.prompts import swapped_view
    from tests.factories import make_consultancy

    consultancy = make_consultancy(consultant_position=1)
    view = view_for(seat(consultancy, Role.JUDGE), consultancy)
    turn = build_request(swapped_view(view), "v1").messages[-1]["content"]
    assert "Consultant argues A." in turn and "argues B" not in turn
