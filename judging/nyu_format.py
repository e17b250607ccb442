"""The NYU debate-file format (Michael et al. 2023, `julianmichael/debate`), read and written.

Pure: plain dicts in, dataclasses out, and back; no Django. What this module knows of the
format:

- every union is a one-key object (`{"JudgeFeedback": {...}}`, `{"Quote": {...}}`);
- the story is a list of CoreNLP tokens (``` `` ```, `''`, `-LSB-`, explicit `"\\n"` tokens);
  quote spans are end-exclusive token offsets into it;
- a debate's rounds are `JudgeFeedback`, `SimultaneousSpeeches`, `SequentialSpeeches` and the
  offline judges' `OfflineJudgments` (not a round of the live protocol);
- speeches are keyed by debater index ("0" argues answer 0, "1" answer 1);
- survey answers are Likert 0-4 (shown 1-5), comparative ones `{first, second}` (debater A, B).

`parse_debate` turns one file into a `NyuDebate` or raises `NyuFormatError` with the reason;
`render_tokens` turns the token list into our passage text with each token's character span.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Survey answers dropped wherever they are met: in the published data they hold real names.
DROPPED_SURVEY_ANSWERS = frozenset({"identity guesses"})

ROLE_DEBATER_A = "Debater A"
ROLE_DEBATER_B = "Debater B"
ROLE_JUDGE = "Judge"
AI_PARTICIPANT = "GPT-4"

_BRACKETS = {
    "-LSB-": "[",
    "-RSB-": "]",
    "-LRB-": "(",
    "-RRB-": ")",
    "-LCB-": "{",
    "-RCB-": "}",
    "``": '"',
    "''": '"',
}
# Tokens written against the word before them, and tokens the next word is written against.
_NO_SPACE_BEFORE = frozenset(
    {".", ",", ";", ":", "!", "?", "...", "''", "'", "-RSB-", "-RRB-", "-RCB-", "%"}
    | {"'s", "'S", "n't", "N'T", "'ll", "'d", "'re", "'m", "'ve", "'LL", "'D", "'RE", "'M", "'VE"}
)
_NO_SPACE_AFTER = frozenset({"``", "`", "-LSB-", "-LRB-", "-LCB-", "$", "#"})


class NyuFormatError(ValueError):
    """A file that is not a debate of this format, or a debate this platform cannot hold."""


@dataclass(frozen=True)
class Segment:
    """Speech content: text, or a quote as a token span [begin, end)."""

    text: str = ""
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Speech:
    debater: int | None  # 0 or 1 for debaters; None for the judge's feedback text
    speaker: str
    timestamp_ms: int | None
    content: tuple[Segment, ...]


@dataclass(frozen=True)
class JudgeTurn:
    probabilities: tuple[float, ...]
    end: bool
    speaker: str
    timestamp_ms: int | None
    text: str


@dataclass(frozen=True)
class Round:
    kind: str  # "judge", "simultaneous" or "sequential" (as debate/protocol.py's RoundKind)
    speeches: tuple[Speech, ...] = ()  # sequential: in the order given
    judgment: JudgeTurn | None = None


@dataclass(frozen=True)
class OfflineJudging:
    judge: str
    mode: str
    judgments: tuple[JudgeTurn, ...]


@dataclass(frozen=True)
class NyuDebate:
    name: str
    article_id: str
    title: str
    tokens: tuple[str, ...]
    question: str
    answers: tuple[str, ...]
    correct_index: int
    structure: dict[str, Any]  # as debate/protocol.py's structure_to_dict
    scoring: dict[str, Any]  # as judging/scoring.py's ScoringRule.to_dict
    roles: dict[str, str]  # "Debater A" / "Debater B" / "Judge" -> participant name
    offline_judges: tuple[str, ...]
    created_ms: int | None
    rounds: tuple[Round, ...]
    offline: tuple[OfflineJudging, ...]
    feedback: dict[str, tuple[str, dict[str, Any]]]  # name -> (survey role, answers as stored)
    scratchpads: dict[str, str] = field(default_factory=dict)  # role -> notes as text

    @property
    def is_debate(self) -> bool:
        return ROLE_DEBATER_A in self.roles and ROLE_DEBATER_B in self.roles

    @property
    def ended(self) -> bool:
        return any(r.judgment is not None and r.judgment.end for r in self.rounds)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def parse_debate(data: Any, name: str) -> NyuDebate:
    """One debate file's JSON, checked; unknown fields are ignored."""
    if not isinstance(data, Mapping) or "setup" not in data or "rounds" not in data:
        raise NyuFormatError("not a debate file (it has no 'setup' and 'rounds')")
    try:
        setup = data["setup"]
        source = _one(setup["sourceMaterial"], "source material")
        if "contents" not in source[1]:
            raise NyuFormatError(f"unsupported source material {source[0]!r}")
        tokens = tuple(str(t) for t in source[1]["contents"])
        answers = tuple(str(a) for a in setup["answers"])
        correct = int(setup["correctAnswerIndex"])
        if len(answers) != 2 or correct not in (0, 1):
            raise NyuFormatError("a debate needs exactly two answers and a correct index 0 or 1")
        roles = {str(k): str(v) for k, v in (setup.get("roles") or {}).items()}
        if ROLE_DEBATER_A not in roles and ROLE_DEBATER_B not in roles:
            raise NyuFormatError("no debater in setup.roles")
        rules = setup["rules"]
        rounds, offline = _rounds(data["rounds"] or [], len(tokens))
        return NyuDebate(
            name=name,
            article_id=str(source[1].get("articleId") or source[1].get("title") or name),
            title=str(source[1].get("title") or name),
            tokens=tokens,
            question=str(setup["question"]),
            answers=answers,
            correct_index=correct,
            structure=structure_from_rules(rules),
            scoring=scoring_from_rules(rules.get("scoringFunction")),
            roles=roles,
            offline_judges=tuple(str(k) for k in (setup.get("offlineJudges") or {})),
            created_ms=_int_or_none(setup.get("creationTime")),
            rounds=rounds,
            offline=offline,
            feedback=_feedback(data.get("feedback") or {}),
            scratchpads=_scratchpads(data.get("scratchpads") or {}),
        )
    except NyuFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise NyuFormatError(f"malformed debate: {type(error).__name__}: {error}") from error


def structure_from_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """NYU `setup.rules` as our round structure (debate/protocol.py's dict form)."""
    opening = [_round_spec(r) for r in rules.get("fixedOpening") or []]
    repeating = [_round_spec(r) for r in rules.get("repeatingStructure") or []]
    closing = rules.get("fixedClosing")
    closing_dict = None
    if closing:
        closing_dict = {
            "max_repeat_cycles": int(closing["numOptionalRounds"])
            if isinstance(closing, Mapping) and "numOptionalRounds" in closing
            else 0,
            "rounds": [
                _round_spec(r)
                for r in (closing.get("rounds") if isinstance(closing, Mapping) else closing)
            ],
        }
    return {"opening": opening, "repeating": repeating, "closing": closing_dict}


def scoring_from_rules(scoring: Any) -> dict[str, Any]:
    """NYU's scoring function as our ScoringRule parameters (the paper's rule if absent)."""
    if not scoring:
        return {"kind": "log", "log_base": 2.0, "coefficient": 1.0, "constant": 0.0}
    kind, params = _one(scoring, "scoring function")
    if kind == "LogScoreWithLinearPenalty":
        return {
            "kind": "log",
            "log_base": float(params.get("logBase", 2.0)),
            "coefficient": float(params.get("baseCoefficient", 1.0)),
            "constant": float(params.get("constant", 0.0)),
            "per_turn_penalty": float(params.get("perTurnPenalty", 0.0)),
        }
    if kind == "SphericalScoreWithLinearPenalty":
        return {
            "kind": "spherical",
            "coefficient": float(params.get("baseCoefficient", 1.0)),
            "per_turn_penalty": float(params.get("perTurnPenalty", 0.0)),
        }
    if kind == "QuadraticScoreWithLinearPenalty":
        return {
            "kind": "quadratic",
            "coefficient": float(params.get("baseCoefficient", 1.0)),
            "per_turn_penalty": float(params.get("perTurnPenalty", 0.0)),
        }
    raise NyuFormatError(f"unknown scoring function {kind!r}")


def survey_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Stored survey answers as we keep them: Likert 0-4 as 1-5, comparative `{first, second}`
    as `{debater_a, debater_b}`, text as text; the dropped answers left out."""
    kept: dict[str, Any] = {}
    for key, value in answers.items():
        if key in DROPPED_SURVEY_ANSWERS:
            continue
        if isinstance(value, bool):
            kept[key] = value
        elif isinstance(value, int | float):
            kept[key] = int(value) + 1
        elif isinstance(value, Mapping) and set(value) <= {"first", "second"}:
            kept[key] = {
                "debater_a": int(value["first"]) + 1 if "first" in value else None,
                "debater_b": int(value["second"]) + 1 if "second" in value else None,
            }
        else:
            kept[key] = value
    return kept


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------


def render_tokens(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The story as plain text, with each token's [start, end) character span in it: brackets
    and quote marks restored, no space before punctuation and clitics, "\\n" tokens as line
    breaks (a paragraph break is two)."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    previous: str | None = None
    for token in tokens:
        if token == "\n":
            parts.append("\n")
            spans.append((length, length + 1))
            length += 1
            previous = token
            continue
        rendered = _BRACKETS.get(token, token)
        if (
            previous is not None
            and previous != "\n"
            and token not in _NO_SPACE_BEFORE
            and previous not in _NO_SPACE_AFTER
        ):
            parts.append(" ")
            length += 1
        parts.append(rendered)
        spans.append((length, length + len(rendered)))
        length += len(rendered)
        previous = token
    return "".join(parts), spans


def char_span(token_spans: Sequence[tuple[int, int]], begin: int, end: int) -> tuple[int, int]:
    """The character span of tokens [begin, end), clamped to the story (one published span
    runs past its end); an empty span stays empty at its place."""
    count = len(token_spans)
    begin = min(max(begin, 0), count)
    end = min(max(end, begin), count)
    if begin == end:
        at = token_spans[begin][0] if begin < count else (token_spans[-1][1] if count else 0)
        return (at, at)
    return (token_spans[begin][0], token_spans[end - 1][1])


def token_span(token_spans: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The smallest token span [begin, end) covering characters [start, end)."""
    begin = next((i for i, (_, e) in enumerate(token_spans) if e > start), len(token_spans))
    stop = next((i for i, (s, _) in enumerate(token_spans) if s >= end), len(token_spans))
    return (begin, max(begin, stop))


_TOKEN = re.compile(r"\n|[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*|[^\sA-Za-z0-9]")


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """A plain text's tokens and their character spans (for passages not imported from tokens):
    words, single punctuation marks and line breaks."""
    tokens, spans = [], []
    for match in _TOKEN.finditer(text):
        tokens.append(match.group())
        spans.append(match.span())
    return tokens, spans


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _one(union: Any, what: str) -> tuple[str, Any]:
    if not isinstance(union, Mapping) or len(union) != 1:
        raise NyuFormatError(f"{what} is not a one-key object")
    return next(iter(union.items()))


def _round_spec(data: Any) -> dict[str, Any]:
    kind, params = _one(data, "rule round")
    char_limit = int(params.get("charLimit") or 0)
    if kind == "JudgeFeedbackRound":
        return {"kind": "judge", "char_limit": char_limit}
    if kind in ("SimultaneousSpeechesRound", "SequentialSpeechesRound"):
        return {
            "kind": "simultaneous" if kind.startswith("Simultaneous") else "sequential",
            "char_limit": char_limit,
            "quote_limit": int(params.get("quoteLimit") or 0),
        }
    raise NyuFormatError(f"unknown round type {kind!r} in the rules")


def _rounds(items: Sequence[Any], token_count: int) -> tuple[tuple[Round, ...], tuple]:
    rounds: list[Round] = []
    offline: list[OfflineJudging] = []
    for item in items:
        kind, body = _one(item, "round")
        if kind == "JudgeFeedback":
            rounds.append(Round("judge", judgment=_judge_turn(body)))
        elif kind in ("SimultaneousSpeeches", "SequentialSpeeches"):
            speeches = body.get("speeches") or {}
            ordered = sorted(
                speeches.items(),
                key=lambda kv: (
                    (kv[1].get("timestamp") or 0, kv[0])
                    if kind == "SequentialSpeeches"
                    else (0, kv[0])
                ),
            )
            rounds.append(
                Round(
                    "simultaneous" if kind == "SimultaneousSpeeches" else "sequential",
                    speeches=tuple(_speech(int(k), v, token_count) for k, v in ordered),
                )
            )
        elif kind == "OfflineJudgments":
            for judge, judging in (body.get("judgments") or {}).items():
                mode = judging.get("mode")
                offline.append(
                    OfflineJudging(
                        judge=str(judge),
                        mode=mode if isinstance(mode, str) else next(iter(mode or {"stepped": 0})),
                        judgments=tuple(_judge_turn(j) for j in judging.get("judgments") or []),
                    )
                )
        else:
            raise NyuFormatError(f"unknown round type {kind!r}")
    return tuple(rounds), tuple(offline)


def _speech(debater: int, data: Mapping[str, Any], token_count: int) -> Speech:
    if debater not in (0, 1):
        raise NyuFormatError(f"speech by debater {debater}: only 0 and 1 exist")
    return Speech(
        debater=debater,
        speaker=str(data.get("speaker", "")),
        timestamp_ms=_int_or_none(data.get("timestamp")),
        content=tuple(_segment(s, token_count) for s in data.get("content") or []),
    )


def _segment(data: Any, token_count: int) -> Segment:
    kind, body = _one(data, "speech segment")
    if kind == "Text":
        return Segment(text=str(body.get("text", "")))
    if kind == "Quote":
        begin, end = (int(x) for x in body["span"])
        if begin < 0 or end < begin or begin > token_count:
            raise NyuFormatError(f"quote span {[begin, end]} lies outside the story")
        return Segment(span=(begin, end))
    raise NyuFormatError(f"unknown speech segment {kind!r}")


def _judge_turn(body: Mapping[str, Any]) -> JudgeTurn:
    feedback = body.get("feedback") or {}
    text = "".join(seg.get("Text", {}).get("text", "") for seg in feedback.get("content") or [])
    probabilities = tuple(float(p) for p in body["distribution"])
    if len(probabilities) != 2:
        raise NyuFormatError("a judgment needs two probabilities")
    return JudgeTurn(
        probabilities=probabilities,
        end=bool(body.get("endDebate")),
        speaker=str(feedback.get("speaker", "")),
        timestamp_ms=_int_or_none(feedback.get("timestamp")),
        text=text,
    )


def _feedback(data: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    surveys = {}
    for name, by_role in data.items():
        role, body = _one(by_role, f"feedback of {name}")
        answers = body.get("answers") if isinstance(body, Mapping) else None
        surveys[str(name)] = (role, survey_answers(answers or {}))
    return surveys


def _scratchpads(data: Mapping[str, Any]) -> dict[str, str]:
    notes = {}
    for role, pads in data.items():
        texts = [
            "".join(seg.get("Text", {}).get("text", "") for seg in pad if isinstance(seg, Mapping))
            for pad in pads or []
            if isinstance(pad, list)
        ]
        if any(texts):
            notes[str(role)] = "\n\n".join(t for t in texts if t)
    return notes


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
