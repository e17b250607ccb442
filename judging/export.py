"""Exports for publication: JSON lines (one readable record per session), CSV (one row per
session, the columns an analysis needs) and the NYU debate-file format (so their tools read our
sessions).

`--anonymize` replaces every participant's name with a stable pseudonym (judging/anonymize.py).
The NYU files are written by judging/nyu/exporter.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from django.db.models import QuerySet

from debate.models import Passage, PassageTokens, Session
from debate.protocol import EXPERT_ROLES
from debate.records import SessionRecord
from debate.scoring import ScoringRule, debater_score, judge_correct, judge_score
from judging.anonymize import Names, names_for
from judging.nyu.exporter import DEBATES_FOLDER, nyu_files
from judging.selectors import session_records

Stream = io.TextIOBase | TextIO  # a text stream to write an export to

FORMATS = ("jsonl", "csv", "nyu")
CSV_COLUMNS = (
    "session",
    "setting",
    "protocol",
    "status",
    "judge",
    "judge_is_ai",
    "experts",
    "honest",
    "correct_index",
    "final_probability_correct",
    "judge_correct",
    "rounds",
    "continues",
    "characters",
    "quoted_characters",
    "judge_score",
    "included_in_paper",
    "batch",
    "created_at",
    "finished_at",
    "void_reason",
    "judge_questions",
    "answer_chosen_by",
    "answer_chosen_index",
    "answer_chosen_at",
    "chose_correct",
)


def export_sessions(
    *,
    sessions: QuerySet[Session],
    fmt: str,
    out: Path | Stream,
    anonymize: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write ``sessions`` in ``fmt`` to ``out`` (a text stream for jsonl and csv; a folder or a
    .zip path for nyu); returns how many sessions were written. ``progress(done, total)`` is
    called as each session is written."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    loaded = list(session_records(sessions))
    names = names_for(loaded, anonymize=anonymize)
    records = _reporting(loaded, progress)
    if fmt in ("jsonl", "csv"):
        if isinstance(out, Path):
            raise ValueError(f"Write {fmt} to a text stream, not to a path.")
        return (write_jsonl if fmt == "jsonl" else write_csv)(records, names, out)
    passages = {}
    for passage in Passage.objects.filter(questions__sessions__in=sessions).distinct():
        stored = PassageTokens.objects.filter(passage=passage).first()
        passages[f"{passage.source}/{passage.external_id}"] = (passage.text, stored)
    if not isinstance(out, Path):
        raise ValueError("Write nyu to a folder or a .zip path, not to a stream.")
    return write_nyu(nyu_files(records, names, passages), out)


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


def session_json(record: SessionRecord, names: Names) -> dict[str, Any]:
    """One session as a readable JSON object."""
    rule = ScoringRule.from_dict(record.scoring or {})
    final = record.final_judgment
    seat_of = {s.seat_id: s for s in record.seats}
    return {
        "session": record.name,
        "id": record.id,
        "setting": record.setting,
        "protocol": record.protocol,
        "status": record.status,
        "included_in_paper": record.included_in_paper,
        "void_reason": record.void_reason or None,
        "batch": record.batch or None,
        "passage": {
            "title": record.passage_title,
            "source": record.passage_source,
            "id": record.passage_id,
        },
        "question": record.question,
        "answers": list(record.answers),
        "correct_index": record.correct_position,
        "rules": {
            "name": record.rules_name,
            "structure": record.structure,
            "scoring": record.scoring,
        },
        "ended_by": record.ended_by,
        # Open rules: who chose which answer when, and whether it was the correct one.
        "answer_choice": _choice(record),
        "seats": [
            {
                "role": s.role,
                "holder": "ai" if s.is_ai else "human",
                "participant": names.of(s),
                "answer_index": s.answer_position,
                "honest": s.honest,
                **(
                    {"answer_chosen_at": _iso(s.answer_chosen_at)} if s.role in EXPERT_ROLES else {}
                ),
                **(
                    {
                        "judging_mode": s.judging_mode or None,
                        "judging_started_at": _iso(s.judging_started_at),
                    }
                    if s.role == "offline_judge"
                    else {}
                ),
            }
            for s in record.seats
        ],
        "rounds": [
            {
                "index": r.index,
                "kind": r.kind,
                "speeches": [
                    {
                        "role": sp.role,
                        "participant": _who(sp, seat_of, names),
                        "text": names.scrub(sp.text),
                        "characters": sp.char_count,
                        "quoted_characters": sp.quote_char_count,
                        "quotes": [
                            {"start": q.start, "end": q.end, "verified": q.verified}
                            for q in sp.quotes
                        ],
                        "at": _iso(sp.at),
                    }
                    for sp in r.speeches
                ],
                "judgments": [
                    {
                        "role": seat_of[j.seat_id].role,
                        "participant": _who(j, seat_of, names),
                        "kind": j.kind,
                        "probabilities": list(j.probabilities),
                        "text": names.scrub(j.text),
                        "questions": {role: names.scrub(q) for role, q in j.questions},
                        "end": j.end,
                        "at": _iso(j.at),
                    }
                    for j in r.judgments
                ],
                "votes": [
                    {
                        "role": v.role,
                        "participant": _who(v, seat_of, names),
                        "end": v.end,
                        "at": _iso(v.at),
                    }
                    for v in r.votes
                ],
            }
            for r in record.rounds
        ],
        "final_judgment": None
        if final is None
        else {
            "probabilities": list(final.probabilities),
            "probability_correct": final.probabilities[record.correct_position],
            "correct": judge_correct(final.probabilities, record.correct_position),
            "continues": record.continues,
        },
        "scores": _scores(record, rule),
        "surveys": [
            {
                "role": s.role,
                "participant": names.of(s),
                "answers": names.survey(s.survey),
            }
            for s in record.seats
            if s.survey is not None
        ],
        "created_at": _iso(record.created_at),
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
    }


def session_row(record: SessionRecord, names: Names) -> dict[str, Any]:
    """One session as a CSV row (CSV_COLUMNS)."""
    rule = ScoringRule.from_dict(record.scoring or {})
    final = record.final_judgment
    judge = record.judge
    p_correct = final.probabilities[record.correct_position] if final else None
    scores = _scores(record, rule)
    experts = record.experts
    choice = _choice(record)
    return {
        "session": record.name,
        "setting": record.setting,
        "protocol": record.protocol,
        "status": record.status,
        "judge": names.of(judge) if judge else "",
        "judge_is_ai": judge.is_ai if judge else "",
        "experts": ";".join(names.of(s) for s in experts),
        "honest": ";".join(str(s.honest) for s in experts),
        "correct_index": record.correct_position,
        "final_probability_correct": "" if p_correct is None else round(p_correct, 6),
        "judge_correct": ""
        if final is None
        else judge_correct(final.probabilities, record.correct_position),
        "rounds": len(record.speech_rounds),
        "continues": record.continues,
        "characters": sum(sp.char_count for r in record.rounds for sp in r.speeches),
        "quoted_characters": sum(sp.quote_char_count for r in record.rounds for sp in r.speeches),
        "judge_score": "" if scores["judge"] is None else round(scores["judge"], 6),
        "included_in_paper": "" if record.included_in_paper is None else record.included_in_paper,
        "batch": record.batch,
        "created_at": _iso(record.created_at),
        "finished_at": _iso(record.finished_at) or "",
        "void_reason": record.void_reason,
        # Interactive debate: the live judge's questions, as JSON ([] when none were asked).
        "judge_questions": json.dumps(
            [
                {"round": r.index, "to": role, "question": names.scrub(question)}
                for r in record.rounds
                for j in r.judgments
                if judge is not None and j.seat_id == judge.seat_id
                for role, question in j.questions
            ]
        )
        if judge is not None
        else "",
        "answer_chosen_by": "" if choice is None else choice["by"],
        "answer_chosen_index": "" if choice is None else choice["index"],
        "answer_chosen_at": "" if choice is None else choice["at"],
        "chose_correct": "" if choice is None or choice["correct"] is None else choice["correct"],
    }


# --------------------------------------------------------------------------------------------------
# Writing files
# --------------------------------------------------------------------------------------------------


def _reporting(
    records: list[SessionRecord], progress: Callable[[int, int], None] | None
) -> Iterator[SessionRecord]:
    for done, record in enumerate(records, 1):
        yield record
        if progress is not None:
            progress(done, len(records))


def write_jsonl(records: Iterable[SessionRecord], names: Names, out: Stream) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(session_json(record, names), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[SessionRecord], names: Names, out: Stream) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(session_row(record, names))
        count += 1
    return count


def write_nyu(files: Iterable[tuple[str, str]], out: Path) -> int:
    """Into a folder, or a .zip file when ``out`` ends in .zip; returns debates written."""
    count = 0
    if out.suffix == ".zip":
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in files:
                archive.writestr(name, text)
                count += name.startswith(DEBATES_FOLDER)
        return count
    for name, text in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        count += name.startswith(DEBATES_FOLDER)
    return count


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _choice(record: SessionRecord) -> dict[str, Any] | None:
    """Open rules: the expert's choice (its role, the shown answer, when, whether correct);
    None under rules that assign the answers, or before the choice."""
    chooser = next((s for s in record.seats if s.answer_chosen_at is not None), None)
    if not record.open_choice or chooser is None:
        return None
    return {
        "by": chooser.role,
        "index": chooser.answer_position,
        "at": _iso(chooser.answer_chosen_at),
        "correct": record.chose_correct,
    }


def _scores(record: SessionRecord, rule: ScoringRule) -> dict[str, Any]:
    final = record.final_judgment
    if final is None:
        return {"judge": None, "experts": {}}
    judge = judge_score(rule, final.probabilities, record.correct_position, record.continues)
    return {
        "judge": _finite(judge),
        "experts": {
            s.role: _finite(debater_score(final.probabilities, s.answer_position))
            for s in record.experts
            if s.answer_position is not None
        },
    }


def _who(move, seat_of: dict, names: Names) -> str:
    """Who made a move: its author (a seat may have changed holder), else the seat's holder."""
    seat = seat_of[move.seat_id]
    return names.person(move.by, seat.is_ai) if move.by else names.of(seat)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
