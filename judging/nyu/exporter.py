"""Sessions as the NYU platform's own files, which its server and its browser read: one debate
file per session under `debates/official/`, `debates/profiles.json`, and `debates-metadata.json`
(the browser's metadata, with `ultimateRoles` and the final judgment in `judgingInfo`).

What is kept: the rules as written (assignedDebatersOnly, an unlimited quoteLimit as null, the
closing's maxRepeatCycles, globalQuoteRestriction), the story's tokens and each quote's token
span, every speech, vote and judgment credited to the person who made it (a seat may have changed
holder), offline judgings with their mode and start time, survey answers in the NYU encoding, and
scratchpads. What is not, on purpose, is listed in the README ("Exporting sessions").

Pure apart from the records it is given: session records (debate/records.py) in, JSON out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from debate.protocol import EXPERT_ROLES, LETTERS
from debate.quotes import Text, parse_markup
from debate.records import JUDGE, SeatRecord, SessionRecord
from debate.scoring import ScoringRule, judge_score
from judging.anonymize import Names
from judging.nyu import mapping, schema
from judging.nyu.tokens import token_span, tokenize

DEBATES_FOLDER = "debates/official"
PROFILES_PATH = "debates/profiles.json"
METADATA_PATH = "debates-metadata.json"
UNKNOWN_TIME = -1  # the platform's Long fields have no null; it writes -1 for "unknown"


@dataclass(frozen=True)
class PassageTokenSpans:
    tokens: list[str]
    spans: list[tuple[int, int]]


def passage_token_spans(text: str, stored) -> PassageTokenSpans:
    """The passage's tokens: as imported when we have them, else our own tokenisation."""
    if stored is not None:
        return PassageTokenSpans(list(stored.tokens), [tuple(s) for s in stored.spans])
    tokens, spans = tokenize(text)
    return PassageTokenSpans(tokens, spans)


def nyu_files(
    records: Iterable[SessionRecord], names: Names, passages: dict[str, tuple[str, Any]]
) -> Iterator[tuple[str, str]]:
    """(relative path, JSON text) of each debate file, then profiles.json and the metadata.
    ``passages`` maps a passage key (source/id) to (text, stored tokens or None)."""
    metadata = []
    profiles: dict[str, dict[str, Any]] = {}
    cache: dict[str, PassageTokenSpans] = {}
    for record in records:
        key = f"{record.passage_source}/{record.passage_id}"
        text, stored = passages[key]
        if key not in cache:
            cache[key] = passage_token_spans(text, stored)
        debate, meta = session_nyu(record, names, cache[key])
        metadata.append(meta)
        for seat in record.seats:
            name = names.of(seat)
            profiles[name] = (
                {"AI": {"name": name, "localPort": None}}
                if seat.is_ai
                else {"Human": {"name": name, "slackEmail": None}}
            )
        yield f"{DEBATES_FOLDER}/{file_name(record.name)}.json", _compact(debate)
    yield PROFILES_PATH, _compact(dict(sorted(profiles.items())))
    yield METADATA_PATH, json.dumps(metadata, ensure_ascii=False, indent=1)


def session_nyu(
    record: SessionRecord, names: Names, tokens: PassageTokenSpans
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One session as an NYU debate file, and its entry in debates-metadata.json."""
    seat_of = {s.seat_id: s for s in record.seats}
    roles = _roles(record, names)
    offline = record.offline_seats
    rounds: list[dict[str, Any]] = []
    for r in record.rounds:
        if r.kind == "judge":
            live = [j for j in r.judgments if j.kind == "live"]
            if live:
                rounds.append({"JudgeFeedback": _judge_turn(live[0], seat_of, names)})
        elif r.kind == "negotiate_end":
            rounds.append(
                {
                    "NegotiateEnd": {
                        "votes": {
                            str(seat_of[v.seat_id].answer_position): v.end
                            for v in sorted(
                                r.votes, key=lambda v: seat_of[v.seat_id].answer_position or 0
                            )
                        }
                    }
                }
            )
        else:
            kind = "SimultaneousSpeeches" if r.kind == "simultaneous" else "SequentialSpeeches"
            speeches = {
                str(seat_of[sp.seat_id].answer_position): {
                    "speaker": names.person(sp.by, seat_of[sp.seat_id].is_ai)
                    if sp.by
                    else names.of(seat_of[sp.seat_id]),
                    "timestamp": _ms(sp.at),
                    "content": _content(sp, tokens, names),
                }
                for sp in sorted(
                    r.speeches, key=lambda sp: seat_of[sp.seat_id].answer_position or 0
                )
            }
            rounds.append({kind: {"speeches": speeches}})
    offline_results = {
        names.of(s): {
            "mode": s.judging_mode or "stepped",
            "startTimeMillis": _ms(s.judging_started_at),
            "judgments": [_judge_turn(j, seat_of, names) for j in judged],
        }
        for s in offline
        if (judged := [j for j in record.judgments_of(s.seat_id) if j.kind == "offline"])
    }
    if offline_results:
        rounds.append({"OfflineJudgments": {"judgments": offline_results}})
    source = (
        {
            "QuALITYSourceMaterial": {
                "articleId": _article_id(record),
                "title": record.passage_title,
                "contents": tokens.tokens,
            }
        }
        if _article_id(record)
        else {"CustomSourceMaterial": {"title": record.passage_title, "contents": tokens.tokens}}
    )
    offline_judges = {names.of(s): s.assigned_judging_mode or None for s in offline}
    debate = {
        "setup": {
            "rules": mapping.rules_from_structure(record.structure, record.scoring),
            "sourceMaterial": source,
            "question": record.question,
            "answers": list(record.answers),
            "correctAnswerIndex": record.correct_position,
            "roles": roles,
            "offlineJudges": offline_judges,
            "creationTime": _ms(record.created_at),
            **_answer_choice(record, names),
        },
        "rounds": rounds,
        "feedback": {
            names.of(s): {
                _survey_role(s.role): {
                    "answers": mapping.nyu_survey_answers(
                        names.survey(s.survey),
                        own_role=s.role if s.role in ("debater_a", "debater_b") else None,
                    )
                }
            }
            for s in record.seats
            if s.survey is not None and not s.is_ai
        },
        "scratchpads": {
            _scratchpad_key(s): _notes(s, tokens, names)
            for s in record.seats
            if (s.scratchpad or s.scratchpad_notes is not None) and _scratchpad_key(s)
        },
    }
    return debate, _metadata(record, names, roles, offline_judges, offline_results, debate)


def file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "session"


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _compact(data: Any) -> str:
    """As the platform writes its files: compact JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _answer_choice(record: SessionRecord, names: Names) -> dict[str, Any]:
    """Open rules, which the NYU platform did not have: ``answerChoice``, our own key in the
    setup (the platform's readers ignore keys they do not know), naming the expert who chose,
    the answer it chose and when. Nothing under rules that assign the answers."""
    chooser = next((s for s in record.seats if s.answer_chosen_at is not None), None)
    if not record.open_choice or chooser is None or chooser.answer_position is None:
        return {}
    return {
        "answerChoice": {
            "speaker": names.of(chooser),
            "answerIndex": chooser.answer_position,
            "timestamp": _ms(chooser.answer_chosen_at),
        }
    }


def _roles(record: SessionRecord, names: Names) -> dict[str, str]:
    roles = {}
    for s in record.seats:
        if s.role == JUDGE:
            roles[mapping.ROLE_JUDGE] = names.of(s)
        elif s.role in EXPERT_ROLES and s.answer_position is not None:
            roles[mapping.ROLE_DEBATER[s.answer_position]] = names.of(s)
    return roles


def _article_id(record: SessionRecord) -> str:
    if record.passage_story.startswith("quality:"):
        return record.passage_story.removeprefix("quality:")
    return record.passage_id if record.passage_source == "quality" else ""


def _judge_turn(judgment, seat_of: dict[int, SeatRecord], names: Names) -> dict[str, Any]:
    seat = seat_of[judgment.seat_id]
    text = names.scrub(judgment.text)
    # Interactive debate: the judge's questions follow its note, each naming whom it asks by
    # the answer argued, as the NYU files name debaters.
    asked = [
        f"Question to the {_addressee(role, seat_of)}: {names.scrub(question)}"
        for role, question in judgment.questions
    ]
    text = "\n\n".join(part for part in (text, *asked) if part)
    return {
        "distribution": list(judgment.probabilities),
        "feedback": {
            "speaker": names.person(judgment.by, seat.is_ai) if judgment.by else names.of(seat),
            "timestamp": _ms(judgment.at),
            "content": [{"Text": {"text": text}}] if text else [],
        },
        "endDebate": judgment.end,
    }


def _addressee(role: str, seat_of: dict[int, SeatRecord]) -> str:
    seat = next((s for s in seat_of.values() if s.role == role), None)
    kind = "consultant" if role == "consultant" else "debater"
    if seat is None or seat.answer_position is None:
        return kind
    return f"{kind} arguing {LETTERS[seat.answer_position]}"


def _content(speech, tokens: PassageTokenSpans, names: Names) -> list[dict[str, Any]]:
    """A speech's text and quotes as NYU segments: each quote as its token span (the one the
    source gave, or the smallest covering its characters); an unverified quote stays text."""
    content: list[dict[str, Any]] = []
    quotes = iter(speech.quotes)
    for part in parse_markup(speech.text):  # the one reader of the stored markup
        if isinstance(part, Text):
            content.append({"Text": {"text": names.scrub(part.text)}})
            continue
        quote = next(quotes, None)
        if quote is not None and quote.verified and quote.start is not None:
            begin, end = quote.tokens or token_span(tokens.spans, quote.start, quote.end)
            content.append({"Quote": {"span": [begin, end]}})
        else:
            content.append({"Text": {"text": names.scrub(part.text)}})
    return content


def _notes(seat: SeatRecord, tokens: PassageTokenSpans, names: Names) -> list[list[dict]]:
    """A seat's scratchpad as NYU notes: as imported while its text is unchanged (quotes and
    note boundaries kept), else the text as one note."""
    notes = seat.scratchpad_notes
    if notes is not None and not names.anonymize:
        parsed = [[schema.Segment.model_validate(s) for s in note] for note in notes]
        if mapping.scratchpad_text(parsed, tokens.tokens) == seat.scratchpad:
            return notes
    return [[{"Text": {"text": names.scrub(seat.scratchpad)}}]] if seat.scratchpad else [[]]


def _survey_role(role: str) -> str:
    return {"judge": "Judge", "offline_judge": "OfflineJudge"}.get(role, "Debater")


def _scratchpad_key(seat: SeatRecord) -> str:
    if seat.role == JUDGE:
        return mapping.ROLE_JUDGE
    if seat.role in EXPERT_ROLES and seat.answer_position is not None:
        return mapping.ROLE_DEBATER[seat.answer_position]
    return ""  # the platform cannot read an offline judge's scratchpad back


def _metadata(record, names, roles, offline_judges, offline_results, debate) -> dict[str, Any]:
    """The browser's room metadata (BrowserRoomMetadata) for one session."""
    final = record.final_judgment
    correct = record.correct_position
    ultimate = {}
    for key, name in roles.items():
        if key == mapping.ROLE_JUDGE:
            ultimate["Judge"] = name
        else:
            honest = mapping.ROLE_DEBATER.index(key) == correct
            ultimate["Honest Debater" if honest else "Dishonest Debater"] = name
    times = [
        stamp
        for r in debate["rounds"]
        for stamp in _round_stamps(r)
        if isinstance(stamp, int) and stamp >= 0
    ]
    article = _article_id(record)
    return {
        "setting": {"isHuman": not record.is_ai, "isDebate": record.protocol == "debate"},
        "name": record.name,
        "sourceMaterialId": {"QuALITYStory": {"id": article, "title": record.passage_title}}
        if article
        else {"Custom": {"title": record.passage_title}},
        "storyTitle": record.passage_title,
        "question": record.question,
        "roleAssignments": roles,
        "ultimateRoles": ultimate,
        "offlineJudges": {n: m for n, m in offline_judges.items() if m},
        "creationTime": _ms(record.created_at),
        "status": _status(record, final, offline_results, debate),
        "latestUpdateTime": max(times, default=_ms(record.created_at)),
        "currentSpeakers": [],
        "includedInPaper": bool(record.included_in_paper),
    }


def _round_stamps(round_: dict[str, Any]) -> Iterator[int]:
    ((kind, body),) = round_.items()
    if kind == "JudgeFeedback":
        yield body["feedback"]["timestamp"]
    elif kind == "OfflineJudgments":
        for judging in body["judgments"].values():
            for turn in judging["judgments"]:
                yield turn["feedback"]["timestamp"]
    elif kind != "NegotiateEnd":
        for speech in body["speeches"].values():
            yield speech["timestamp"]


def _status(record: SessionRecord, final, offline_results, debate) -> dict[str, Any]:
    if record.status == "in_progress":
        return {"InProgress": {}}
    if record.status != "finished":
        return {"WaitingToBegin": {}}
    ended = {"judge": "JudgeDecided", "agreement": "MutualAgreement"}.get(
        record.ended_by or "", "TimeUp"
    )
    judging = None
    if final is not None:
        rule = ScoringRule.from_dict(record.scoring or {})
        judging = {
            "correctAnswerIndex": record.correct_position,
            "numContinues": record.continues,
            "finalJudgement": list(final.probabilities),
            "judgeReward": _finite(
                judge_score(rule, final.probabilities, record.correct_position, record.continues)
            ),
        }
    return {
        "Complete": {
            "result": {
                "timestamp": _ms(record.finished_at),
                "correctAnswerIndex": record.correct_position,
                "endedBy": {ended: {}},
                "judgingInfo": judging,
            },
            "offlineJudgingResults": offline_results,
            "feedbackProviders": list(debate["feedback"]),
        }
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # circe writes a non-finite Double as null


def _ms(moment) -> int:
    value = mapping.ms_of(moment)
    return UNKNOWN_TIME if value is None else value
