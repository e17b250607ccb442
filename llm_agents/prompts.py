"""Prompts for debaters, consultants and judges, and parsing what the models answer.

A prompt is built only from the seat's own `SeatView` (the visibility module), so a judge's prompt
cannot contain the story: the view it is built from has none. Templates are versioned files in
`llm_agents/prompts/<version>/`; an agent names its version.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from django.template import Context, Template

from debate.protocol import Role, RoundKind
from debate.protocol import choosers as protocol_choosers
from debate.quotes import Quote, Segment
from debate.text_checks import text_problem
from debate.visibility import LETTERS, SeatView, SpeechView
from llm_agents.providers import ChatRequest

PROMPTS = Path(__file__).resolve().parent / "prompts"
ROLE_NAMES = {"debater_a": "Debater A", "debater_b": "Debater B", "consultant": "Consultant"}

_THINKING = re.compile(r"<thinking>.*?(</thinking>|$)", re.DOTALL | re.IGNORECASE)


def prompt_versions() -> list[str]:
    return sorted(p.name for p in PROMPTS.iterdir() if p.is_dir())


def build_request(view: SeatView, version: str) -> ChatRequest:
    """The request for the seat whose view this is, at its turn. The system prompt holds only
    what stays the same across the seat's turns (its rules, the story, the question), so that
    the providers' prompt caches serve it as a prefix turn after turn; what changes (the
    transcript, the current round's limits) follows in the user message."""
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
        "note_limit": _note_limit(view),
        "quote_limit": _speech_limit(view, "quote_limit"),
        "penalty": view.scoring.per_turn_penalty,
        "has_live_judge": view.has_live_judge,
        # The judge's rules on ending, stable across its turns (the view's; None: the paper's),
        # and whether any speech is to come (not in the blind and oracle judges' baselines).
        "end_rule": view.end_rule,
        "has_speeches": view.has_speeches,
        # Open rules: this expert chose the answer it argues (debater B is given the other).
        "chose": view.open_choice and role in protocol_choosers(view.protocol),
    }
    system = _template(template).render(Context(context)).strip()
    return ChatRequest(system=system, messages=({"role": "user", "content": _turn_message(view)},))


def _context(view: SeatView) -> dict:
    """What every strategy's template may use from a view (it holds only what the view holds)."""
    own = view.own_answer_position
    return {
        "protocol": str(view.protocol),
        "question": view.question,
        "answers": [{"letter": LETTERS[i], "text": t} for i, t in enumerate(view.answers)],
        "own_letter": LETTERS[own] if own is not None else "",
        "own_answer": view.answers[own] if own is not None else "",
        "title": view.passage_title or "",
        "passage": view.passage_text or "",
    }


def _rendered(version: str, name: str, context: dict) -> str:
    template = PROMPTS / version / f"{name}.txt"
    if not template.exists():
        raise ValueError(f"Prompt version {version!r} has no {name} prompt ({template}).")
    return _template(template).render(Context(context)).strip()


# --------------------------------------------------------------------------------------------------
# Strategies' prompts (llm_agents/strategies.py)
# --------------------------------------------------------------------------------------------------

LETTER_ONLY = "Reply with one letter only, the answer you judge correct: {letters}."
PROBABILITY_LINE = "Reply with exactly one line, like this: PROBABILITIES: {example}"


def preference_request(
    judge_view: SeatView,
    speaker_role: str,
    candidate: tuple[Segment, ...],
    version: str,
    *,
    letter_only: bool,
) -> ChatRequest:
    """Best-of-N's preference judge: which answer a judge would pick after the transcript it
    sees and one more speech. Built from the judge's view (``judge_view``, which holds no story)
    and the candidate as the judge would see it (its quotes marked verified or not)."""
    system = _rendered(version, "preference", _context(judge_view))
    lines = _transcript_lines(judge_view)
    label = ROLE_NAMES.get(speaker_role, speaker_role)
    lines.append(f"\nNext speech, {label}:\n{_segments_text(candidate)}")
    lines.append("\n" + _answer_instruction(len(judge_view.answers), letter_only=letter_only))
    return ChatRequest(
        system=system,
        messages=({"role": "user", "content": "\n".join(lines)},),
        top_logprobs=5 if letter_only else 0,
        max_tokens=1 if letter_only else 50,
    )


def critique_request(view: SeatView, draft: str, version: str) -> ChatRequest:
    """Critique-and-refine's critic: it reads the speaker's view (the story included) and its
    draft, and says how to make the draft more convincing within the same rules."""
    system = _rendered(version, "critic", _context(view))
    lines = _transcript_lines(view)
    label = ROLE_NAMES.get(view.viewer_role, view.viewer_role)
    lines.append(f"\nThe draft of {label}'s next speech:\n{draft}")
    lines.append("\nWrite your critique of the draft now.")
    return ChatRequest(system=system, messages=({"role": "user", "content": "\n".join(lines)},))


def refine_feedback(critique: str) -> str:
    return (
        "A critic read your draft and says:\n"
        f"{strip_thinking(critique)}\n\n"
        "Write the improved speech now, within the same limits. After any thinking, write only "
        "the speech itself."
    )


def letter_request(request: ChatRequest, answer_count: int) -> ChatRequest:
    """The judge's request asked for a one-letter answer (its first token's log-probabilities
    give the probabilities)."""
    *earlier, last = request.messages
    asked = {
        "role": "user",
        "content": f"{last['content']}\n\n"
        + _answer_instruction(answer_count, letter_only=True)
        + " This time, ignore the format given above.",
    }
    return ChatRequest(
        system=request.system, messages=(*earlier, asked), top_logprobs=5, max_tokens=1
    )


def letter_probabilities(
    top: tuple[tuple[str, float], ...], answer_count: int
) -> list[float] | None:
    """Each answer's probability from a first token's top log-probabilities, renormalised over
    the answers' letters (a token is a letter after stripping spaces and case); None when no
    letter is among them."""
    letters = LETTERS[:answer_count]
    mass = [0.0] * answer_count
    for token, logprob in top:
        letter = token.strip().upper()
        if letter in letters:
            mass[letters.index(letter)] += math.exp(logprob)
    total = sum(mass)
    return [m / total for m in mass] if total > 0 else None


def probability_line_parse(reply: str, answer_count: int) -> list[float]:
    """A reply of one PROBABILITIES line (a preference judge without log-probabilities)."""
    text = strip_thinking(reply)
    found = [m.group(1) for m in map(_PROBABILITIES_LABEL.match, text.splitlines()) if m]
    if len(found) != 1:
        raise UnparsableReply("Give exactly one PROBABILITIES line.")
    values = _probabilities(found[0])
    if sorted(values) != list(range(answer_count)):
        raise UnparsableReply("Give one probability for each answer.")
    total = sum(values.values())
    if not 0.95 <= total <= 1.05:
        raise UnparsableReply(f"The probabilities sum to {total * 100:.0f}%, not 100%.")
    return [values[i] / total for i in range(answer_count)]


_LETTER_REFERENCE = re.compile(r"\b(debater|answer|option)(\s+)([AB])\b", re.IGNORECASE)
_SWAPPED_ROLE = {"debater_a": "debater_b", "debater_b": "debater_a"}


def swapped_view(view: SeatView) -> SeatView:
    """The same view with two answers' order swapped (position-swap judging), consistently:
    the answers, the debaters' labels (Debater A argues for the new A), earlier probabilities,
    and in speeches' and notes' own words the references "Debater A/B", "answer A/B" and
    "option A/B". Other mentions of a bare letter are left as written (a simple, documented
    limit); quotes of the story are never changed."""
    if len(view.answers) != 2:
        raise ValueError("Position swap judges two answers.")

    def flip(position: int | None) -> int | None:
        return None if position is None else 1 - position

    rounds = tuple(
        replace(
            r,
            speeches=tuple(
                SpeechView(
                    role=_SWAPPED_ROLE.get(s.role, s.role),  # type: ignore[arg-type]
                    segments=tuple(_swapped_segment(g) for g in s.segments),
                )
                for s in r.speeches
            ),
            judgments=tuple(
                replace(j, probabilities=tuple(reversed(j.probabilities)), text=_swap_words(j.text))
                for j in r.judgments
            ),
        )
        for r in view.rounds
    )
    rule = view.end_rule
    if rule is not None and rule.last_probabilities:
        rule = replace(rule, last_probabilities=tuple(reversed(rule.last_probabilities)))
    return replace(
        view,
        answers=tuple(reversed(view.answers)),
        own_answer_position=flip(view.own_answer_position),
        correct_position=flip(view.correct_position),
        argued_positions={
            _SWAPPED_ROLE.get(role, role): 1 - p for role, p in view.argued_positions.items()
        },
        answer_lines=tuple(
            replace(
                line,
                position=1 - line.position,
                argued_by=tuple(sorted(_SWAPPED_ROLE.get(r, r) for r in line.argued_by)),
            )
            for line in reversed(view.answer_lines)
        ),
        rounds=rounds,
        probability_history=tuple(tuple(reversed(p)) for p in view.probability_history),
        end_rule=rule,
    )


def _swapped_segment(segment: Segment) -> Segment:
    if isinstance(segment, Quote):
        return segment
    return replace(segment, text=_swap_words(segment.text))


def _swap_words(text: str) -> str:
    other = {"A": "B", "B": "A", "a": "b", "b": "a"}
    return _LETTER_REFERENCE.sub(lambda m: m.group(1) + m.group(2) + other[m.group(3)], text)


def _answer_instruction(answer_count: int, *, letter_only: bool) -> str:
    letters = LETTERS[:answer_count]
    if letter_only:
        return LETTER_ONLY.format(letters=" or ".join(letters))
    example = ", ".join(f"{letter}={100 // answer_count}%" for letter in letters)
    return PROBABILITY_LINE.format(example=example)


def _speech_limit(view: SeatView, name: str) -> int | None:
    """The current speech round's limit (None: unlimited); in a vote or a judge round, that of
    the session's speech rounds does not matter, so 0 is shown."""
    spec = view.current_round
    if spec is None or not spec.is_speech_round:
        return 0
    return getattr(spec, name)


def _note_limit(view: SeatView) -> int | None:
    """The judge's note limit, that of the judge round it is asked in (the same in every judge
    round of the rules, so the system prompt stays the same across its turns); None: none."""
    spec = view.current_round
    return spec.char_limit if spec is not None and spec.kind is RoundKind.JUDGE else None


@lru_cache(maxsize=32)
def _template(path: Path) -> Template:
    return Template(path.read_text())


def with_feedback(request: ChatRequest, reply: str, feedback: str) -> ChatRequest:
    """The same request with the model's last reply and what was wrong with it. An empty reply
    (or only whitespace) is never sent back as an assistant message, which the Messages API
    refuses with a 400: the feedback alone is asked, added to the last user message so that the
    roles still alternate (some chat templates served by vLLM require it)."""
    if reply.strip():
        return ChatRequest(
            system=request.system,
            messages=(
                *request.messages,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": feedback},
            ),
        )
    *earlier, last = request.messages
    if last["role"] != "user":
        return ChatRequest(
            system=request.system,
            messages=(*request.messages, {"role": "user", "content": feedback}),
        )
    asked = {"role": "user", "content": f"{last['content']}\n\n{feedback}"}
    return ChatRequest(system=request.system, messages=(*earlier, asked))


def _turn_message(view: SeatView) -> str:
    lines = _transcript_lines(view)
    spec = view.current_round
    if view.viewer_role == Role.JUDGE:
        lines.extend(_argued_lines(view))
        lines.extend(_judge_end_lines(view))
        lines.append("\nYour judgment now, in the format given.")
    elif view.voting:
        lines.append(
            "\nVote now on ending the debate. It ends when every vote is to end; otherwise "
            "another round of speeches follows. Reply with exactly one line, either\n"
            "VOTE: end\nor\nVOTE: continue"
        )
    else:
        assert spec is not None  # a speaker is asked only at its turn, in a speech round
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
        if view.question_for_you:
            lines.append(
                f"\nThe judge asks you: {view.question_for_you}\n"
                "Answer the judge's question in this speech."
            )
        lines.append(f"\nWrite your speech now: {chars}, {quotes}.")
    return "\n".join(lines)


def _argued_lines(view: SeatView) -> list[str]:
    """Which answer each expert argues, as the judge's view shows it (the paper's judge knows
    who argues what); under open rules, which the expert chose (none before the choice, so never
    both as if assigned)."""
    lines = [
        f"\n{' and '.join(ROLE_NAMES.get(r, r) for r in line.argued_by)} argue"
        f"{'s' if len(line.argued_by) == 1 else ''} {LETTERS[line.position]}"
        f"{' (chosen after reading the story)' if line.chosen else ''}."
        for line in view.answer_lines
        if line.argued_by
    ]
    return lines


def _transcript_lines(view: SeatView) -> list[str]:
    """The transcript the view holds, as every prompt shows it."""
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
            asked = "".join(
                f"\nJudge's question to {ROLE_NAMES.get(role, role)}: {question}"
                for role, question in judgment.questions
            )
            lines.append(f"\nJudge: {shown}{note}{asked}")
    return lines


def _judge_end_lines(view: SeatView) -> list[str]:
    """What the judge is told about ending at this turn, from its view: it is never asked to
    decide to end when the rules do not let it (the minimum of speech rounds, a round owed after a
    large change), and is told how far it may move its probabilities and still end."""
    rule = view.end_rule
    if not view.may_continue:
        return ["\nThis is the last round: your DECISION must be end."]
    if not view.may_end:
        if rule is None or (rule.speech_rounds_heard == 0 and not rule.swing_round_owed):
            return ["\nGive your probabilities before hearing any argument (DECISION: continue)."]
        if rule.swing_round_owed:
            why = "your last judgment moved by more than the rules allow when ending"
        else:
            needed = rule.min_speech_rounds
            why = (
                f"the rules let you end only after {needed} round{'s' if needed != 1 else ''} "
                f"of speeches; {rule.speech_rounds_to_go} more to go"
            )
        return [f"\nYou may not end yet ({why}): your DECISION must be continue."]
    if rule is not None and rule.swing_limit is not None and rule.last_probabilities:
        shown = ", ".join(
            f"{LETTERS[i]}={p * 100:.0f}%" for i, p in enumerate(rule.last_probabilities)
        )
        return [
            f"\nYour last probabilities were {shown}. If you move the probability of any answer "
            f"by more than {rule.swing_points} points from them, your DECISION must be continue: "
            "the rules require one more round of speeches after such a change."
        ]
    return []


def _speech_text(speech) -> str:
    return _segments_text(speech.segments)


def _segments_text(segments: tuple[Segment, ...]) -> str:
    parts = []
    for segment in segments:
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


_PROBABILITIES_LABEL = re.compile(r"^[*_\s]*probabilit(?:y|ies)[*_\s]*:(.*)$", re.IGNORECASE)
_PROBABILITY = re.compile(r"([A-Za-z])\s*[=:]\s*([0-9]*\.?[0-9]+)\s*(%?)")
_DECISION_LABEL = re.compile(r"^[*_\s]*decision[*_\s]*:(.*)$", re.IGNORECASE)
_DECISION = re.compile(r"[*_\s]*(continue|end)[*_.\s]*", re.IGNORECASE)
_NOTE_LABEL = re.compile(r"^[*_\s]*note[*_\s]*:(?:[*_]+(?=\s|$))?", re.IGNORECASE | re.MULTILINE)


def judge_reply_parse(reply: str, answer_count: int) -> JudgeReply:
    """Read the judge's reply in the strict format of its prompt (prompts/<version>/judge.txt),
    after any hidden reasoning:

        PROBABILITIES: A=70%, B=30%
        DECISION: continue
        NOTE: free text, to the end of the reply

    Exactly one line starts with PROBABILITIES: and it holds nothing but one probability for each
    answer's letter, each letter once, in any order, separated by commas: all percentages (the %
    sign may be left out) or all fractions. Exactly one line starts with DECISION: and it holds
    only `continue` or `end`. NOTE comes last and may be left out. Markdown emphasis around a
    label or a value is allowed, and a sum within 5 points of 100% is renormalised. Anything
    else, such as a second probability line, earlier probabilities quoted on the line ("A=70%,
    B=30% (was A=45%, B=55%)"), a missing letter or a decision of both, is not guessed at: it
    raises UnparsableReply, whose message tells the judge what to fix."""
    text = strip_thinking(reply)
    note_at = _NOTE_LABEL.search(text)
    head, note = (text[: note_at.start()], text[note_at.end() :].strip()) if note_at else (text, "")
    values = _probabilities(_labelled_line(head, note, _PROBABILITIES_LABEL, "PROBABILITIES"))
    if sorted(values) != list(range(answer_count)):
        letters = ", ".join(LETTERS[:answer_count])
        raise UnparsableReply(f"Give one probability for each of {letters}, and for no other.")
    probabilities = [values[i] for i in range(answer_count)]
    total = sum(probabilities)
    if not 0.95 <= total <= 1.05:
        raise UnparsableReply(f"The probabilities sum to {total * 100:.0f}%, not 100%.")
    decision = _DECISION.fullmatch(_labelled_line(head, note, _DECISION_LABEL, "DECISION"))
    if not decision:
        raise UnparsableReply("The DECISION line must say only continue, or only end.")
    return JudgeReply(
        probabilities=[v / total for v in probabilities],
        end=decision.group(1).lower() == "end",
        note=note,
    )


def _labelled_line(head: str, note: str, label: re.Pattern[str], name: str) -> str:
    """What follows ``label`` on the one line of ``head`` that starts with it."""
    found = [m.group(1) for m in map(label.match, head.splitlines()) if m]
    if any(label.match(line) for line in note.splitlines()):
        raise UnparsableReply(f"Put the {name} line before the NOTE, which comes last.")
    if len(found) != 1:
        raise UnparsableReply(
            f"No {name} line." if not found else f"Give exactly one {name} line, not {len(found)}."
        )
    return found[0]


def _probabilities(line: str) -> dict[int, float]:
    """A PROBABILITIES line's values by answer index, as fractions; only `X=n%` items separated
    by commas are allowed, so nothing else on the line can be misread as a probability."""
    items = [item.strip(" *_") for item in line.strip(" *_.").split(",")]
    parsed = [_PROBABILITY.fullmatch(item) for item in items]
    if not all(parsed):
        raise UnparsableReply(
            "The PROBABILITIES line must hold only the probabilities, like A=70%, B=30%, and "
            "nothing else."
        )
    matches = [m for m in parsed if m]
    letters = [m.group(1).upper() for m in matches]
    if len(set(letters)) != len(letters) or any(letter not in LETTERS for letter in letters):
        raise UnparsableReply("Give each answer's letter once on the PROBABILITIES line.")
    numbers = [float(m.group(2)) for m in matches]
    with_percent = [bool(m.group(3)) for m in matches]
    if any(with_percent) and not all(with_percent):
        raise UnparsableReply("Write every probability as a percentage, like A=70%, B=30%.")
    scale = 100 if any(with_percent) or any(n > 1 for n in numbers) else 1
    return {LETTERS.index(letter): n / scale for letter, n in zip(letters, numbers, strict=True)}


# --------------------------------------------------------------------------------------------------
# Judge questions (interactive debate: rules with `judge_questions` on)
# --------------------------------------------------------------------------------------------------

QUESTION_LABELS = {"debater_a": "A", "debater_b": "B", "consultant": "CONSULTANT"}
_QUESTION_LINE = re.compile(r"^QUESTION TO ([A-Z]+):(.*)$", re.IGNORECASE)


def judge_questions_request(
    request: ChatRequest, judged: str, view: SeatView, version: str
) -> ChatRequest:
    """After a judgment that continues: the judge's request, its reply (``judged``, the judgment
    as recorded) and the instruction to ask each expert of its view one question, in the strict
    format `judge_questions_parse` reads."""
    experts = [
        {
            "label": QUESTION_LABELS[role],
            "name": ROLE_NAMES.get(role, role),
            "arguing": LETTERS[view.argued_positions[role]]
            if role in view.argued_positions
            else "?",
        }
        for role in view.question_roles
    ]
    context = {"experts": experts, "limit": _note_limit(view), "protocol": str(view.protocol)}
    instruction = _rendered(version, "judge_questions", context)
    return with_feedback(request, judged, instruction)


def judgment_as_replied(reply: JudgeReply) -> str:
    """A judgment in the judge's reply format (what the questions request shows as its reply,
    whichever strategy reached it)."""
    shown = ", ".join(f"{LETTERS[i]}={p * 100:.0f}%" for i, p in enumerate(reply.probabilities))
    decision = "end" if reply.end else "continue"
    return f"PROBABILITIES: {shown}\nDECISION: {decision}\nNOTE: {reply.note}".rstrip()


def judge_questions_parse(reply: str, roles: tuple[str, ...], limit: int | None) -> dict[str, str]:
    """Read the judge's questions, after any hidden reasoning: exactly one line
    `QUESTION TO <label>: text` for each expert of ``roles`` (labels in QUESTION_LABELS), each
    once, and nothing else but blank lines; NONE (or nothing) asks nothing. A question over
    ``limit`` characters, an unknown or repeated label, a missing one or any other line is not
    guessed at: it raises UnparsableReply, whose message tells the judge what to fix."""
    wanted = {QUESTION_LABELS[r]: r for r in roles}
    found: dict[str, str] = {}
    for line in strip_thinking(reply).splitlines():
        if not line.strip():
            continue
        match = _QUESTION_LINE.match(line.strip())
        if not match:
            raise UnparsableReply(
                "Write only the QUESTION TO lines, one for each: "
                + ", ".join(f"QUESTION TO {label}:" for label in wanted)
                + "."
            )
        label, text = match.group(1).upper(), match.group(2).strip()
        if label not in wanted:
            raise UnparsableReply(f"There is no {label} to ask: ask only {', '.join(wanted)}.")
        if wanted[label] in found:
            raise UnparsableReply(f"Give exactly one QUESTION TO {label} line.")
        if limit is not None and len(text) > limit:
            raise UnparsableReply(
                f"Your question to {label} has {len(text)} characters; the limit is {limit}."
            )
        problem = text_problem(text, f"Your question to {label}")
        if problem:
            raise UnparsableReply(problem)
        found[wanted[label]] = text
    missing = [label for label, role in wanted.items() if role not in found]
    if missing:
        raise UnparsableReply(f"No QUESTION TO {' or '.join(missing)} line.")
    return {role: text for role, text in found.items() if text and text.upper() != "NONE"}


# --------------------------------------------------------------------------------------------------
# Open consultancy and open debate: the expert's choice of the answer it argues
# --------------------------------------------------------------------------------------------------

_CHOICE = re.compile(r"^CHOICE:\s*([A-Z])$")


def choice_request(view: SeatView, version: str) -> ChatRequest:
    """The expert's request at its choice under open rules: it has read the story (in the
    system prompt, as for its speeches) and names the answer it will argue in one strict line."""
    letters = ", ".join(LETTERS[i] for i in range(len(view.answers)))
    system = _rendered(version, "choice", _context(view))
    ask = (
        "Which answer will you argue? Reply with exactly one line, nothing else, like this:\n"
        f"CHOICE: A\n(one of {letters})."
    )
    return ChatRequest(system=system, messages=({"role": "user", "content": ask},))


def choice_reply_parse(reply: str, answer_count: int) -> int:
    """The shown answer (0-based) a choice reply names. Strict: after any hidden thinking the
    reply is one line, ``CHOICE:`` and one letter of a shown answer; nothing else is guessed."""
    lines = [line.strip() for line in strip_thinking(reply).splitlines() if line.strip()]
    match = _CHOICE.match(lines[0]) if len(lines) == 1 else None
    if match is None:
        raise UnparsableReply("Reply with exactly one line, like this: CHOICE: A")
    position = LETTERS.find(match.group(1))
    if not 0 <= position < answer_count:
        raise UnparsableReply(
            f"{match.group(1)} is not a shown answer: choose one of "
            + ", ".join(LETTERS[:answer_count])
            + "."
        )
    return position
