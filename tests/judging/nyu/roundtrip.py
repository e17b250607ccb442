"""What a debate file holds, in a form two files can be compared in field by field: the
platform's own reading of it (the pydantic models), with the differences the README names as
dropped on purpose taken out of both sides."""

from __future__ import annotations

from typing import Any

from judging.nyu.mapping import DROPPED_SURVEY_ANSWERS
from judging.nyu.schema import Debate


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A debate file as plain data, normalised where we keep the meaning but not the shape:
    a speech's text pieces joined (and empty ones dropped), a judge's note as its text, survey
    answers without the ones dropped for privacy, the legacy offline judgment as the new one."""
    debate = Debate.model_validate(data).model_dump(mode="json")
    for round_ in debate["rounds"]:
        ((kind, body),) = ((k, v) for k, v in round_.items() if v is not None)
        round_.clear()
        round_[kind] = body
        if kind == "JudgeFeedback":
            _note(body)
        elif kind in ("SimultaneousSpeeches", "SequentialSpeeches"):
            for speech in body["speeches"].values():
                speech["content"] = _content(speech["content"])
        elif kind == "OfflineJudgments":
            for judging in body["judgments"].values():
                for turn in judging["judgments"]:
                    _note(turn)
    for response in debate["feedback"].values():
        for answers in response.values():
            if answers is not None:
                for key in DROPPED_SURVEY_ANSWERS:
                    answers["answers"].pop(key, None)
    debate["setup"]["sourceMaterial"] = {
        k: v for k, v in debate["setup"]["sourceMaterial"].items() if v is not None
    }
    return debate


def differences(original: dict[str, Any], exported: dict[str, Any]) -> list[str]:
    """The field paths at which two comparable debates differ (empty when equal)."""
    found: list[str] = []
    _walk(comparable(original), comparable(exported), "", found)
    return found


def _note(turn: dict[str, Any]) -> None:
    feedback = turn["feedback"]
    feedback["content"] = "".join(
        s["Text"]["text"] for s in feedback["content"] if s.get("Text") is not None
    )


def _content(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for segment in segments:
        if segment.get("Text") is not None:
            text = segment["Text"]["text"]
            if not text:
                continue
            if out and "Text" in out[-1]:
                out[-1] = {"Text": out[-1]["Text"] + text}
            else:
                out.append({"Text": text})
        else:
            begin, end = segment["Quote"]["span"]
            if begin < end:
                out.append({"Quote": [begin, end]})
    return out


def _walk(a: Any, b: Any, path: str, found: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                found.append(
                    f"{path}.{key}: only in {'the original' if key in a else 'the export'}"
                )
            else:
                _walk(a[key], b[key], f"{path}.{key}", found)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}[{i}]", found)
    elif a != b:
        shown_a, shown_b = repr(a)[:80], repr(b)[:80]
        found.append(f"{path}: {shown_a} != {shown_b}")
