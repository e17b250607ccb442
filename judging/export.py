"""Exports for publication: JSON lines (one readable record per session), CSV (one row per
session, the columns an analysis needs) and the NYU debate-file format (so their tools read our
sessions).

`--anonymize` replaces every participant's name with a stable pseudonym (the same person gets the
same one in every export made with this SECRET_KEY), replaces names met in speeches and judges'
notes, and drops free-text survey answers that name anyone.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from debate.models import Passage, PassageTokens, Session
from judging import nyu_format
from judging.records import DEBATER_ROLES, JUDGE, SeatRecord, SessionRecord
from judging.scoring import ScoringRule, debater_score, judge_score
from judging.selectors import session_records

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
)


def export_sessions(
    *, sessions: QuerySet[Session], fmt: str, out: Path | io.TextIOBase, anonymize: bool = False
) -> int:
    """Write ``sessions`` in ``fmt`` to ``out`` (a text stream for jsonl and csv; a folder or a
    .zip path for nyu); returns how many sessions were written."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}: choose one of {', '.join(FORMATS)}.")
    records = list(session_records(sessions))
    names = names_for(records, anonymize=anonymize)
    if fmt == "jsonl":
        return write_jsonl(records, names, out)
    if fmt == "csv":
        return write_csv(records, names, out)
    passages = {}
    for passage in Passage.objects.filter(questions__sessions__in=sessions).distinct():
        stored = PassageTokens.objects.filter(passage=passage).first()
        passages[f"{passage.source}/{passage.external_id}"] = (passage.text, stored)
    return write_nyu(nyu_files(records, names, passages), Path(out))


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


class Names:
    """Participant names as exported: as they are, or stable pseudonyms."""

    def __init__(self, *, anonymize: bool, known: Iterable[str] = ()) -> None:
        self.anonymize = anonymize
        self.known = sorted({n for n in known if len(n) >= 3}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(n) for n in self.known) + r")\b", re.IGNORECASE)
            if self.known
            else None
        )

    def of(self, seat: SeatRecord) -> str:
        if seat.is_ai or not self.anonymize:
            return seat.holder
        return self.pseudonym(seat.holder)

    def pseudonym(self, name: str) -> str:
        digest = hmac.new(
            settings.SECRET_KEY.encode(), name.casefold().encode(), hashlib.sha256
        ).hexdigest()
        return f"participant-{digest[:10]}"

    def scrub(self, text: str) -> str:
        """Names in free text replaced by their pseudonyms (when anonymising)."""
        if not self.anonymize or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.pseudonym(m.group(0)), text)

    def names_anyone(self, text: str) -> bool:
        return bool(self.anonymize and self._pattern and self._pattern.search(text))


def names_for(records: list[SessionRecord], *, anonymize: bool) -> Names:
    people = {s.holder for r in records for s in r.seats if not s.is_ai}
    return Names(anonymize=anonymize, known=people)


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
        "seats": [
            {
                "role": s.role,
                "holder": "ai" if s.is_ai else "human",
                "participant": names.of(s),
                "answer_index": s.answer_position,
                "honest": s.honest,
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
                        "participant": names.of(seat_of[j.seat_id]),
                        "kind": j.kind,
                        "probabilities": list(j.probabilities),
                        "text": names.scrub(j.text),
                        "end": j.end,
                        "at": _iso(j.at),
                    }
                    for j in r.judgments
                ],
            }
            for r in record.rounds
        ],
        "final_judgment": None
        if final is None
        else {
            "probabilities": list(final.probabilities),
            "probability_correct": final.probabilities[record.correct_position],
            "correct": final.probabilities[record.correct_position] > 0.5,
            "continues": record.continues,
        },
        "scores": _scores(record, rule),
        "surveys": [
            {
                "role": s.role,
                "participant": names.of(s),
                "answers": _survey(s.survey, names),
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
        "judge_correct": "" if p_correct is None else p_correct > 0.5,
        "rounds": len(record.speech_rounds),
        "continues": record.continues,
        "characters": sum(sp.char_count for r in record.rounds for sp in r.speeches),
        "quoted_characters": sum(sp.quote_char_count for r in record.rounds for sp in r.speeches),
        "judge_score": "" if scores["judge"] is None else round(scores["judge"], 6),
        "included_in_paper": "" if record.included_in_paper is None else record.included_in_paper,
        "batch": record.batch,
        "created_at": _iso(record.created_at),
        "finished_at": _iso(record.finished_at) or "",
    }


# --------------------------------------------------------------------------------------------------
# NYU format
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassageTokenSpans:
    tokens: list[str]
    spans: list[tuple[int, int]]


def session_nyu(
    record: SessionRecord, names: Names, tokens: PassageTokenSpans, passage_text: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One session as an NYU debate file, and its entry in debates-metadata.json."""
    seat_of = {s.seat_id: s for s in record.seats}
    roles = {}
    for s in record.seats:
        if s.role == JUDGE:
            roles[nyu_format.ROLE_JUDGE] = _nyu_name(s, names)
        elif s.role in DEBATER_ROLES and s.answer_position is not None:
            key = nyu_format.ROLE_DEBATER_A if s.answer_position == 0 else nyu_format.ROLE_DEBATER_B
            roles[key] = _nyu_name(s, names)
    offline = [s for s in record.offline_seats]
    rounds: list[dict[str, Any]] = []
    for r in record.rounds:
        live = [j for j in r.judgments if j.kind == "live"]
        if r.kind == "judge":
            if live:
                rounds.append({"JudgeFeedback": _nyu_judgment(live[0], seat_of, names)})
            continue
        speeches = {
            str(seat_of[sp.seat_id].answer_position): {
                "speaker": _nyu_name(seat_of[sp.seat_id], names),
                "timestamp": _ms(sp.at),
                "content": _nyu_content(sp, tokens, passage_text, names),
            }
            for sp in r.speeches
        }
        kind = "SimultaneousSpeeches" if r.kind == "simultaneous" else "SequentialSpeeches"
        rounds.append({kind: {"speeches": speeches}})
    if any(record.judgments_of(s.seat_id) for s in offline):
        rounds.append(
            {
                "OfflineJudgments": {
                    "judgments": {
                        _nyu_name(s, names): {
                            "mode": "stepped",
                            "startTimeMillis": _ms(judged[0].at),
                            "judgments": [_nyu_judgment(j, seat_of, names) for j in judged],
                        }
                        for s in offline
                        if (judged := record.judgments_of(s.seat_id))
                    }
                }
            }
        )
    debate = {
        "setup": {
            "rules": _nyu_rules(record),
            "sourceMaterial": {
                "QuALITYSourceMaterial": {
                    "articleId": record.passage_id,
                    "title": record.passage_title,
                    "contents": tokens.tokens,
                }
            },
            "question": record.question,
            "answers": list(record.answers),
            "correctAnswerIndex": record.correct_position,
            "roles": roles,
            "offlineJudges": {_nyu_name(s, names): "stepped" for s in offline},
            "creationTime": _ms(record.created_at),
        },
        "rounds": rounds,
        "feedback": {
            _nyu_name(s, names): {_survey_role(s.role): {"answers": _nyu_survey(s.survey, names)}}
            for s in record.seats
            if s.survey is not None and not s.is_ai
        },
        "scratchpads": {},
    }
    final = record.final_judgment
    metadata = {
        "name": record.name,
        "setting": {"isHuman": not record.is_ai, "isDebate": record.protocol == "debate"},
        "storyTitle": record.passage_title,
        "question": record.question,
        "roleAssignments": roles,
        "offlineJudges": debate["setup"]["offlineJudges"],
        "creationTime": _ms(record.created_at),
        "status": _nyu_status(record, final),
        "includedInPaper": record.included_in_paper,
    }
    return debate, metadata


def passage_token_spans(record: SessionRecord, text: str, stored: PassageTokens | None):
    """The passage's tokens: as imported when we have them, else our own tokenisation."""
    if stored is not None:
        return PassageTokenSpans(list(stored.tokens), [tuple(s) for s in stored.spans])
    tokens, spans = nyu_format.tokenize(text)
    return PassageTokenSpans(tokens, spans)


# --------------------------------------------------------------------------------------------------
# Writing files
# --------------------------------------------------------------------------------------------------


def write_jsonl(records: Iterable[SessionRecord], names: Names, out: io.TextIOBase) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(session_json(record, names), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[SessionRecord], names: Names, out: io.TextIOBase) -> int:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(session_row(record, names))
        count += 1
    return count


def nyu_files(
    records: Iterable[SessionRecord], names: Names, passages: dict[str, tuple[str, Any]]
) -> Iterator[tuple[str, str]]:
    """(relative path, JSON text) of each debate file and, last, debates-metadata.json.
    ``passages`` maps a passage key (source/id) to (text, stored tokens or None)."""
    metadata = []
    cache: dict[str, PassageTokenSpans] = {}
    for record in records:
        key = f"{record.passage_source}/{record.passage_id}"
        text, stored = passages[key]
        if key not in cache:
            cache[key] = passage_token_spans(record, text, stored)
        debate, meta = session_nyu(record, names, cache[key], text)
        metadata.append(meta)
        yield f"debates/{_file_name(record.name)}.json", json.dumps(debate, ensure_ascii=False)
    yield "debates-metadata.json", json.dumps(metadata, ensure_ascii=False, indent=1)


def write_nyu(files: Iterable[tuple[str, str]], out: Path) -> int:
    """Into a folder, or a .zip file when ``out`` ends in .zip; returns debates written."""
    count = 0
    if out.suffix == ".zip":
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in files:
                archive.writestr(name, text)
                count += name.startswith("debates/")
        return count
    for name, text in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        count += name.startswith("debates/")
    return count


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


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


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _survey(answers: dict[str, Any] | None, names: Names) -> dict[str, Any]:
    kept = {}
    for key, value in (answers or {}).items():
        if isinstance(value, str) and names.names_anyone(value):
            continue  # free text naming people is dropped from anonymised exports
        kept[key] = value
    return kept


def _nyu_survey(answers: dict[str, Any] | None, names: Names) -> dict[str, Any]:
    """Our survey answers back in the NYU encoding (Likert 0-4, {first, second})."""
    out = {}
    for key, value in _survey(answers, names).items():
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, int):
            out[key] = value - 1
        elif isinstance(value, dict) and set(value) <= {"debater_a", "debater_b"}:
            out[key] = {
                k: v - 1
                for k, v in (("first", value.get("debater_a")), ("second", value.get("debater_b")))
                if v is not None
            }
        else:
            out[key] = value
    return out


def _survey_role(role: str) -> str:
    return {"judge": "Judge", "offline_judge": "OfflineJudge"}.get(role, "Debater")


def _nyu_name(seat: SeatRecord, names: Names) -> str:
    return nyu_format.AI_PARTICIPANT if seat.is_ai and seat.holder == "GPT-4" else names.of(seat)


def _nyu_judgment(judgment, seat_of: dict[int, SeatRecord], names: Names) -> dict[str, Any]:
    text = names.scrub(judgment.text)
    return {
        "distribution": list(judgment.probabilities),
        "feedback": {
            "speaker": _nyu_name(seat_of[judgment.seat_id], names),
            "timestamp": _ms(judgment.at),
            "content": [{"Text": {"text": text}}] if text else [],
        },
        "endDebate": judgment.end,
    }


_QUOTE_TAG = re.compile(r"<quote>(.*?)</quote>", re.DOTALL)


def _nyu_content(speech, tokens: PassageTokenSpans, passage_text: str, names: Names) -> list:
    """A speech's text and quotes as NYU segments, quotes as the token span covering them."""
    content: list[dict[str, Any]] = []
    quotes = iter(speech.quotes)
    position = 0
    text = speech.text
    for match in _QUOTE_TAG.finditer(text):
        if match.start() > position:
            content.append({"Text": {"text": names.scrub(text[position : match.start()])}})
        quote = next(quotes, None)
        if quote is not None and quote.verified and quote.start is not None:
            begin, end = nyu_format.token_span(tokens.spans, quote.start, quote.end)
            content.append({"Quote": {"span": [begin, end]}})
        else:  # an unverified quote has no span: it stays what it was, text
            content.append({"Text": {"text": names.scrub(match.group(1))}})
        position = match.end()
    if position < len(text):
        content.append({"Text": {"text": names.scrub(text[position:])}})
    return content


def _nyu_rules(record: SessionRecord) -> dict[str, Any]:
    def spec(data: dict[str, Any]) -> dict[str, Any]:
        if data["kind"] == "judge":
            return {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": data["char_limit"]}}
        kind = (
            "SimultaneousSpeechesRound"
            if data["kind"] == "simultaneous"
            else "SequentialSpeechesRound"
        )
        return {
            kind: {
                "charLimit": data["char_limit"],
                "quoteLimit": data.get("quote_limit", 0),
                "assignedDebatersOnly": False,
            }
        }

    structure = record.structure
    closing = structure.get("closing")
    scoring = ScoringRule.from_dict(record.scoring or {})
    scoring_kind = {
        "log": "LogScoreWithLinearPenalty",
        "spherical": "SphericalScoreWithLinearPenalty",
        "quadratic": "QuadraticScoreWithLinearPenalty",
    }[scoring.kind.value]
    return {
        "fixedOpening": [spec(s) for s in structure.get("opening") or []],
        "repeatingStructure": [spec(s) for s in structure.get("repeating") or []],
        "fixedClosing": None
        if not closing
        else {
            "numOptionalRounds": closing["max_repeat_cycles"],
            "rounds": [spec(s) for s in closing["rounds"]],
        },
        "globalQuoteRestriction": None,
        "scoringFunction": {
            scoring_kind: {
                "baseCoefficient": scoring.coefficient,
                "constant": scoring.constant,
                "logBase": scoring.log_base,
                "perTurnPenalty": scoring.per_turn_penalty,
            }
        },
    }


def _nyu_status(record: SessionRecord, final) -> dict[str, Any]:
    if record.status == "finished":
        return {
            "Complete": {
                "result": {
                    "timestamp": _ms(record.finished_at),
                    "correctAnswerIndex": record.correct_position,
                    "finalJudgement": list(final.probabilities) if final else None,
                }
            }
        }
    if record.status == "in_progress":
        return {"InProgress": {}}
    return {"WaitingToBegin": {}}


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "session"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None
