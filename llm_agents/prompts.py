"""Prompts for debaters, consultants and judges, and parsing what the models answer.

A prompt is built only from the seat's own `SeatView` (the visibility module), so a judge's prompt
cannot contain the story: the view it is built from has none. Templates are versioned files in
`llm_agents/prompts/<version>/`; an agent names its version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.template import Context, Template

from debate.protocol import Role
from debate.quotes import Quote
from debate.visibility import LETTERS, SeatView
from llm_agents.providers import ChatRequest

PROMPTS = Path(__file__).resolve().parent / "prompts"
ROLE_NAMES = {"debater_a": "Debater A", "debater_b": "Debater B", "consultant": "Consultant"}

_THINKING = re.compile(r"<thinking>.*?(</thinking>|$)", re.DOTALL | re.IGNORECASE)


def prompt_versions() -> list[str]:
    return sorted(p.name for p in PROMPTS.iterdir() if p.is_dir())


def build_request(view: SeatView, version: str) -> ChatRequest:
    """The request for the seat whose view this is, at its turn."""
    role = view.viewer_role
    kind = "judge" if role == Role.JUDGE else "consultant" if role == Role.CONSULTANT else "debater"
    template = PROMPTS / version / f"{kind}.txt"
    if not template.exists():
        raise ValueError(f"Prompt version {version!r} has no {kind} prompt ({template}).")
    answers = [
        {"letter": LETTERS[i], "text": text, "example": 50 if len(view.answers) == 2 else ""}
        for i, text in enumerate(view.answers)
    ]
    own = view.own_answer_position
    context = {
        "label": ROLE_NAMES.get(role, role),
        "protocol": str(view.protocol),
        "question": view.question,
        "answers": answers,
        "own_letter": LETTERS[own] if own is not None else "",
        "own_answer": view.answers[own] if own is not None else "",
        "other_letter": LETTERS[1 - own] if own is not None and len(view.answers) == 2 else "",
        "title": view.passage_title or "",
        "passage": view.passage_text or "",
        "char_limit": _speech_limit(view, "char_limit"),
        "quote_limit": _speech_limit(view, "quote_limit"),
        "penalty": view.scoring.per_turn_penalty,
        "has_live_judge": view.has_live_judge,
    }
    system = _template(template).render(Context(context)).strip()
    return ChatRequest(system=system, messages=({"role": "user", "content": _turn_message(view)},))


def _speech_limit(view: SeatView, name: str) -> int | None:
    """The current speech round's limit (None: unlimited); in a vote or a judge round, that of
    the session's speech rounds does not matter, so 0 is shown."""
    spec = view.current_round
    if spec is None or not spec.is_speech_round:
        return 0
    return getattr(spec, name)


@lru_cache(maxsize=32)
def _template(path: Path) -> Template:
    return Template(path.read_text())


def with_feedback(request: ChatRequest, reply: str, feedback: str) -> ChatRequest:
    """The same request with the model's last reply and what was wrong with it."""
    return ChatRequest(
        system=request.system,
        messages=(
            *request.messages,
            {"role": "assistant", "content": reply},
            {"role": "user", "content": feedback},
        ),
    )


def _turn_message(view: SeatView) -> str:
    lines = ["Transcript so far:" if view.rounds else "Nothing has been said yet."]
    for round_ in view.rounds:
        for speech in round_.speeches:
            lines.append(f"\n{ROLE_NAMES.get(speech.role, speech.role)}:\n{_speech_text(speech)}")
        if round_.votes:
            shown = ", ".join(
                f"{ROLE_NAMES.get(v.role, v.role)}: {'end' if v.end else 'continue'}"
                for v in round_.votes
            )
            lines.append(f"\nVotes on ending the debate: {shown}")
        for judgment in round_.judgments:
            shown = ", ".join(
                f"{LETTERS[i]}={p * 100:.0f}%" for i, p in enumerate(judgment.probabilities)
            )
            note = f"\nJudge's note: {judgment.text}" if judgment.text else ""
            lines.append(f"\nJudge: {shown}{note}")
    spec = view.current_round
    if view.viewer_role == Role.JUDGE:
        if not view.may_continue:
            lines.append("\nThis is the last round: your DECISION must be end.")
        elif not view.may_end:
            lines.append(
                "\nGive your probabilities before hearing any argument (DECISION: continue)."
            )
        lines.append("\nYour judgment now, in the format given.")
    elif view.voting:
        lines.append(
            "\nVote now on ending the debate. It ends when every vote is to end; otherwise "
            "another round of speeches follows. Reply with exactly one line, either\n"
            "VOTE: end\nor\nVOTE: continue"
        )
    else:
        chars = (
            "no character limit"
            if spec.char_limit is None
            else f"at most {spec.char_limit} characters"
        )
        quotes = (
            "quotes unlimited"
            if spec.quote_limit is None
            else f"at most {spec.quote_limit} of them quoted"
        )
        lines.append(f"\nWrite your speech now: {chars}, {quotes}.")
    return "\n".join(lines)


def _speech_text(speech) -> str:
    parts = []
    for segment in speech.segments:
        if isinstance(segment, Quote):
            mark = "yes" if segment.verified else "no"
            parts.append(f'<quote verified="{mark}">{segment.text}</quote>')
        else:
            parts.append(segment.text)
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------------


def strip_thinking(reply: str) -> str:
    """The reply without hidden reasoning (an unclosed <thinking> hides the rest)."""
    return _THINKING.sub("", reply).strip()


def speech_from_reply(reply: str) -> str:
    text = strip_thinking(reply)
    return re.sub(r"^\s*(speech|my speech)\s*:\s*", "", text, flags=re.IGNORECASE).strip()


_VOTE = re.compile(r"^\W*vote\W*:\s*\**\s*(end|continue)\b", re.IGNORECASE | re.MULTILINE)


def vote_reply_parse(reply: str) -> bool:
    """A vote reply: True to end, False to go on. Exactly one VOTE line is read; a reply with
    none, or with both answers, is not guessed at."""
    votes = {m.group(1).lower() for m in _VOTE.finditer(strip_thinking(reply))}
    if len(votes) != 1:
        raise UnparsableReply(
            "Reply with exactly one line: VOTE: end, or VOTE: continue."
            if not votes
            else "Your reply votes both ways; give one vote."
        )
    return votes == {"end"}


@dataclass(frozen=True)
class JudgeReply:
    probabilities: list[float]
    end: bool
    note: str


class UnparsableReply(ValueError):
    pass


def judge_reply_parse(reply: str, answer_count: int) -> JudgeReply:
    """Read PROBABILITIES / DECISION / NOTE, tolerantly: percentages or fractions, any order of
    letters, small rounding off 100% renormalised. What cannot be read raises UnparsableReply."""
    text = strip_thinking(reply)
    match = re.search(r"probabilit(?:y|ies)\s*:?\s*(.+)", text, re.IGNORECASE)
    if not match:
        raise UnparsableReply("No PROBABILITIES line.")
    found: dict[int, float] = {}
    for letter, number, percent in re.findall(
        r"\b([A-H])\s*[=:]\s*([0-9]*\.?[0-9]+)\s*(%?)", match.group(1), re.IGNORECASE
    ):
        index = LETTERS.index(letter.upper())
        found[index] = float(number) / (100 if percent or float(number) > 1 else 1)
    if sorted(found) != list(range(answer_count)):
        raise UnparsableReply(f"Give a probability for each of {LETTERS[:answer_count]}.")
    values = [found[i] for i in range(answer_count)]
    total = sum(values)
    if not 0.95 <= total <= 1.05 or any(v < 0 for v in values):
        raise UnparsableReply(f"The probabilities sum to {total * 100:.0f}%, not 100%.")
    values = [v / total for v in values]
    decision = re.search(r"decision\s*:?\s*\**\s*(continue|end)", text, re.IGNORECASE)
    if not decision:
        raise UnparsableReply("No DECISION: continue or end.")
    note = re.search(r"note\s*:\s*(.*)", text, re.IGNORECASE | re.DOTALL)
    return JudgeReply(
        probabilities=values,
        end=decision.group(1).lower() == "end",
        note=(note.group(1).strip() if note else ""),
    )
