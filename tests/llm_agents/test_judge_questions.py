"""Interactive debate with AI seats (issue 16), through the real OpenAI SDK against the local
stub: under rules with judge questions on, an LLM judge that continues is asked for its questions
in one more call (purpose "questions"); each debater's next prompt carries the question addressed
to it with the instruction to answer it; a judge whose questions cannot be read, even when asked
again, asks none and the debate goes on."""

from __future__ import annotations

import pytest

from config.background import wait_for_background
from debate.models import Judgment, Rules, Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, paper_rules, session_create
from llm_agents.models import LLMCall
from llm_agents.prompts import UnparsableReply, judge_questions_parse
from tests.factories import make_question
from tests.llm_stubs import Reply, StubLLM, last_user, playing_script, stub_agent

pytestmark = pytest.mark.django_db(transaction=True)

TO_A = "Where in the story is the ship, Debater A?"
TO_B = "Why is answer A wrong, Debater B?"


@pytest.fixture(autouse=True)
def inprocess(settings, monkeypatch):
    settings.BACKGROUND_MODE = "inprocess"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setattr("llm_agents.providers.random.random", lambda: 0.0)


def questions_rules() -> Rules:
    paper = paper_rules(Protocol.DEBATE)
    return Rules.objects.create(
        name="paper-debate with judge questions",
        structure={**paper.structure, "judge_questions": True},
        scoring=paper.scoring,
    )


def asking_judge():
    """The playing judge (continues twice, then ends); asked for questions, it asks both
    debaters the first time and writes something unreadable every time after."""
    judging = playing_script(judge_rounds=2)
    asked: list[str] = []

    def script(body: dict) -> Reply:
        if "QUESTION TO" not in last_user(body):
            return judging(body)
        asked.append(last_user(body))
        if len(asked) == 1:
            return Reply(f"<thinking>hm</thinking>QUESTION TO A: {TO_A}\nQUESTION TO B: {TO_B}")
        return Reply("I have a few questions: first, where is the ship?")

    return script


def test_the_llm_judges_questions_reach_each_debaters_next_prompt():
    with StubLLM(asking_judge()) as judge_stub, StubLLM(playing_script()) as speakers:
        session = session_create(
            question=make_question(),
            protocol_name=Protocol.DEBATE,
            rules=questions_rules(),
            seats=[
                SeatAssignment(Role.JUDGE, agent=stub_agent("judge", judge_stub)),
                SeatAssignment(Role.DEBATER_A, agent=stub_agent("a", speakers)),
                SeatAssignment(Role.DEBATER_B, agent=stub_agent("b", speakers)),
            ],
        )
        wait_for_background(timeout=60)
        session.refresh_from_db()
        assert session.status == Session.Status.FINISHED, session.attention
        speaker_prompts = [last_user(body) for _, body in speakers.requests]
        judge_prompts = [last_user(body) for _, body in judge_stub.requests]

    # Each debater's opening prompt carries its own question and the instruction to answer it.
    to_a = [p for p in speaker_prompts if f"The judge asks you: {TO_A}" in p]
    to_b = [p for p in speaker_prompts if f"The judge asks you: {TO_B}" in p]
    assert len(to_a) == 1 and len(to_b) == 1
    for prompt in (*to_a, *to_b):
        assert "Answer the judge's question in this speech." in prompt
    assert f"The judge asks you: {TO_B}" not in to_a[0]
    assert f"Judge's question to Debater B: {TO_B}" in to_a[0]  # both see both
    # The later speeches: the second judgment asked nothing, so no question is waiting.
    assert sum("The judge asks you:" in p for p in speaker_prompts) == 2

    # The questions request follows the judgment as recorded, in the strict format.
    questions_prompts = [p for p in judge_prompts if "QUESTION TO A: your question" in p]
    assert len(questions_prompts) == 2  # after the prior and after the openings, not at the end
    assert (
        "QUESTION TO B: your question to Debater B (arguing B), at most 750 characters"
        in (questions_prompts[0])
    )
    assert f"Judge's question to Debater A: {TO_A}" in judge_prompts[-1]  # its own, later

    judgments = list(Judgment.objects.filter(session=session).order_by("id"))
    assert [j.questions for j in judgments] == [{"debater_a": TO_A, "debater_b": TO_B}, {}, {}]
    calls = LLMCall.objects.filter(session=session, purpose="questions").order_by("id")
    assert calls.count() == 3  # one, then one unreadable asked again once
    assert calls.last().error.startswith("No questions asked: Write only the QUESTION TO lines")


def test_the_questions_format_is_read_strictly():
    roles = ("debater_a", "debater_b")
    assert judge_questions_parse("QUESTION TO A: Why?\nQUESTION TO B: NONE", roles, 750) == {
        "debater_a": "Why?"
    }
    assert judge_questions_parse(
        "<thinking>QUESTION TO C: x</thinking>\nquestion to b: How?\n\nQUESTION TO A:",
        roles,
        750,
    ) == {"debater_b": "How?"}
    for reply, message in [
        ("QUESTION TO A: Why?", "No QUESTION TO B line."),
        ("QUESTION TO A: Why?\nQUESTION TO A: Again?\nQUESTION TO B: x", "exactly one"),
        ("QUESTION TO A: Why?\nQUESTION TO B: x\nThanks!", "Write only the QUESTION TO lines"),
        ("QUESTION TO CONSULTANT: x", "There is no CONSULTANT to ask"),
        ("QUESTION TO A: " + "x" * 751 + "\nQUESTION TO B: y", "751 characters; the limit"),
    ]:
        with pytest.raises(UnparsableReply, match=message):
            judge_questions_parse(reply, roles, 750)
    assert judge_questions_parse("QUESTION TO CONSULTANT: Sure?", ("consultant",), None) == {
        "consultant": "Sure?"
    }
