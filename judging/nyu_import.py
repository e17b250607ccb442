"""Import the NYU debate dataset (Michael et al. 2023): debate files and their metadata into
passages, questions, sessions, seats, rounds, speeches, quotes, judgments, offline judgments,
surveys and scratchpads, as they happened.

One transaction per debate: a debate that cannot be read or breaks the protocol is reported with
its file and reason, and nothing of it is saved; the rest goes on. A debate already imported (the
same name) is left as it is, so importing twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from debate import protocol
from debate.models import (
    Passage,
    PassageReading,
    PassageTokens,
    Question,
    Quote,
    Round,
    Rules,
    Scratchpad,
    Seat,
    Session,
    Speech,
)
from debate.protocol import MoveKind, Role
from debate.quotes import Quote as QuoteSegment
from debate.quotes import Text, quoted_char_count, rendered_length, to_markup
from judging import nyu_format
from judging.models import Judgment, SurveyResponse
from judging.nyu_format import NyuDebate, NyuFormatError
from judging.scoring import ScoringRule
from llm_agents.models import Agent

PASSAGE_SOURCE = "nyu-debate"
METADATA_FILE = "debates-metadata.json"
_STATUS = {
    "Complete": Session.Status.FINISHED,
    "InProgress": Session.Status.IN_PROGRESS,
    "WaitingToBegin": Session.Status.NOT_STARTED,
}


@dataclass
class NyuImportSummary:
    files: int = 0
    passages_created: int = 0
    questions_created: int = 0
    sessions_by_status: Counter = field(default_factory=Counter)
    sessions_by_setting: Counter = field(default_factory=Counter)
    already_imported: int = 0
    speeches: int = 0
    quotes: int = 0
    judgments: int = 0
    offline_judgments: int = 0
    surveys: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def sessions(self) -> int:
        return sum(self.sessions_by_status.values())


def nyu_import(
    *, path: Path, progress: Callable[[int, int], None] | None = None
) -> NyuImportSummary:
    """Import every debate file below ``path`` (with ``debates-metadata.json`` beside them when
    there is one); ``progress(done, total)`` is called after each file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    summary = NyuImportSummary()
    metadata = _metadata(path, summary)
    files = sorted(_debate_files(path))
    importer = _Importer(summary)
    for done, file in enumerate(files, start=1):
        summary.files += 1
        name = file.stem
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            debate = nyu_format.parse_debate(data, name)
            with transaction.atomic():
                importer.debate(debate, metadata.get(name, {}))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            summary.skipped.append((str(file), f"debate {name}: cannot read it: {error}"))
        except NyuFormatError as error:
            summary.skipped.append((str(file), f"debate {name}: {error}"))
            importer.forget()  # rows it remembered from this debate were rolled back
        if progress:
            progress(done, len(files))
    return summary


def setting_of(*, is_ai: bool, protocol_name: str) -> str:
    """The paper's four settings: human/ai x debate/consultancy."""
    return f"{'ai' if is_ai else 'human'}_{protocol_name}"


# --------------------------------------------------------------------------------------------------
# One debate
# --------------------------------------------------------------------------------------------------


class _Importer:
    """Writes debates, remembering the passages, people and rules already met in this run."""

    def __init__(self, summary: NyuImportSummary) -> None:
        self.summary = summary
        self.passages: dict[str, tuple[Passage, list[tuple[int, int]]]] = {}
        self.users: dict[str, Any] = {}
        self.rules: dict[str, Rules] = {}
        self.agent: Agent | None = None

    def forget(self) -> None:
        self.passages.clear()
        self.users.clear()
        self.rules.clear()
        self.agent = None

    def debate(self, debate: NyuDebate, meta: dict[str, Any]) -> None:
        if Session.objects.filter(
            external_id=debate.name, question__passage__source=PASSAGE_SOURCE
        ).exists():
            self.summary.already_imported += 1
            return
        chosen = protocol.Protocol.DEBATE if debate.is_debate else protocol.Protocol.CONSULTANCY
        rules = self._rules(debate)
        moves = list(_moves(debate, chosen))
        state = protocol.replay(chosen, rules.get_structure(), moves)
        if isinstance(state, protocol.Rejection):
            raise NyuFormatError(f"its history breaks the rules: {state.message}")
        passage, spans = self._passage(debate)
        question = self._question(debate, passage)
        timestamps = [t for t in _timestamps(debate) if t is not None]
        status = _STATUS.get(next(iter(meta.get("status") or {}), "")) or (
            Session.Status.FINISHED
            if state.finished
            else Session.Status.IN_PROGRESS
            if moves
            else Session.Status.NOT_STARTED
        )
        session = Session.objects.create(
            question=question,
            protocol=chosen.value,
            rules=rules,
            answer_order=[0, 1],
            status=status,
            external_id=debate.name,
            included_in_paper=meta.get("includedInPaper"),
            created_at=_time(debate.created_ms) or _time(min(timestamps, default=None)) or _now(),
            started_at=_time(min(timestamps, default=None)),
            finished_at=_time(max(timestamps, default=None))
            if status == Session.Status.FINISHED
            else None,
        )
        seats = self._seats(debate, session, chosen)
        self._history(debate, session, seats, passage.text, spans)
        self._surveys(debate, seats, session)
        Scratchpad.objects.bulk_create(
            Scratchpad(seat=seats[role], text=text)
            for role, text in (
                (_seat_role(nyu_role, chosen), text)
                for nyu_role, text in debate.scratchpads.items()
            )
            if role in seats
        )
        is_ai = any(s.is_ai for s in seats.values() if s.role != Role.JUDGE)
        self.summary.sessions_by_status[session.get_status_display()] += 1
        self.summary.sessions_by_setting[setting_of(is_ai=is_ai, protocol_name=chosen.value)] += 1

    # ---------------------------------------------------------------------------------------------

    def _passage(self, debate: NyuDebate) -> tuple[Passage, list[tuple[int, int]]]:
        known = self.passages.get(debate.article_id)
        if known is None:
            passage = Passage.objects.filter(
                source=PASSAGE_SOURCE, external_id=debate.article_id
            ).first()
            if passage is None:
                text, spans = nyu_format.render_tokens(debate.tokens)
                passage = Passage.objects.create(
                    title=debate.title,
                    source=PASSAGE_SOURCE,
                    external_id=debate.article_id,
                    text=text,
                )
                PassageTokens.objects.create(
                    passage=passage, tokens=list(debate.tokens), spans=[list(s) for s in spans]
                )
                self.summary.passages_created += 1
            else:
                stored = PassageTokens.objects.get(passage=passage)
                if stored.tokens != list(debate.tokens):
                    raise NyuFormatError(
                        f"story {debate.article_id} is tokenised differently from the one "
                        "already imported"
                    )
                spans = [tuple(s) for s in stored.spans]
            known = (passage, spans)
            self.passages[debate.article_id] = known
        elif len(known[1]) != len(debate.tokens):
            raise NyuFormatError(f"story {debate.article_id} has a different token list")
        return known

    def _question(self, debate: NyuDebate, passage: Passage) -> Question:
        key = hashlib.sha1(
            json.dumps([debate.question, *debate.answers]).encode(), usedforsecurity=False
        ).hexdigest()[:16]
        question, created = Question.objects.get_or_create(
            passage=passage,
            external_id=key,
            defaults={
                "text": debate.question,
                "answers": list(debate.answers),
                "correct_index": debate.correct_index,
                "source_ids": {"nyu_question": debate.question},
            },
        )
        if not created and question.correct_index != debate.correct_index:
            raise NyuFormatError("the same question was imported with another correct answer")
        self.summary.questions_created += created
        return question

    def _rules(self, debate: NyuDebate) -> Rules:
        content = {"structure": debate.structure, "scoring": debate.scoring}
        key = hashlib.sha1(
            json.dumps(content, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()[:10]
        if key not in self.rules:
            parsed = protocol.structure_from_dict(debate.structure)
            if isinstance(parsed, protocol.Rejection):
                raise NyuFormatError(parsed.message)
            try:
                ScoringRule.from_dict(debate.scoring)
            except (TypeError, ValueError) as error:
                raise NyuFormatError(f"its scoring rule: {error}") from error
            self.rules[key], _ = Rules.objects.get_or_create(
                name=f"nyu-{key}",
                defaults={
                    "description": "Rules of imported NYU debates (Michael et al. 2023).",
                    **content,
                },
            )
        return self.rules[key]

    def _holder(self, name: str) -> dict[str, Any]:
        if name == nyu_format.AI_PARTICIPANT:
            if self.agent is None:
                self.agent, _ = Agent.objects.get_or_create(
                    name=name, defaults={"provider": Agent.Provider.OPENAI, "model": "gpt-4"}
                )
            return {"agent": self.agent}
        if name not in self.users:
            user, created = get_user_model().objects.get_or_create(
                username=name[:150], defaults={"is_active": False}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            self.users[name] = user
        return {"user": self.users[name]}

    def _seats(
        self, debate: NyuDebate, session: Session, chosen: protocol.Protocol
    ) -> dict[str, Seat]:
        """Seats keyed by role; offline judges keyed "offline:<name>"."""
        rows: dict[str, Seat] = {}
        if nyu_format.ROLE_JUDGE in debate.roles:
            rows[Role.JUDGE] = Seat(
                session=session, role=Role.JUDGE, **self._holder(debate.roles["Judge"])
            )
        for nyu_role, (_, index) in _DEBATER_ROLES.items():
            if nyu_role in debate.roles:
                role = _seat_role(nyu_role, chosen)
                rows[role] = Seat(
                    session=session,
                    role=role,
                    answer_position=index,
                    **self._holder(debate.roles[nyu_role]),
                )
        for name in dict.fromkeys([*debate.offline_judges, *(o.judge for o in debate.offline)]):
            rows[f"offline:{name}"] = Seat(
                session=session, role=Role.OFFLINE_JUDGE, **self._holder(name)
            )
        Seat.objects.bulk_create(rows.values())
        PassageReading.objects.bulk_create(
            (
                PassageReading(user=s.user, passage=session.question.passage, note="debated")
                for s in rows.values()
                if s.user is not None and s.role in _EXPERT_ROLES
            ),
            ignore_conflicts=True,
        )
        return rows

    def _history(
        self,
        debate: NyuDebate,
        session: Session,
        seats: dict[str, Seat],
        text: str,
        spans: list[tuple[int, int]],
    ) -> None:
        rounds = [
            Round(
                session=session,
                index=index,
                kind=r.kind,
                created_at=_time(_first_time(r)) or session.created_at,
                completed_at=_time(_last_time(r)) if _complete(r, debate) else None,
            )
            for index, r in enumerate(debate.rounds)
        ]
        Round.objects.bulk_create(rounds)
        speeches: list[tuple[Speech, list[QuoteSegment]]] = []
        judgments: list[Judgment] = []
        for row, nyu_round in zip(rounds, debate.rounds, strict=True):
            for speech in nyu_round.speeches:
                seat = seats[_speaker_role(speech.debater, debate.is_debate)]
                segments = _segments(speech.content, text, spans)
                speeches.append(
                    (
                        Speech(
                            round=row,
                            seat=seat,
                            text=to_markup(segments),
                            char_count=rendered_length(segments),
                            quote_char_count=quoted_char_count(segments),
                            created_at=_time(speech.timestamp_ms) or row.created_at,
                        ),
                        [s for s in segments if isinstance(s, QuoteSegment)],
                    )
                )
            if nyu_round.judgment is not None:
                judgments.append(
                    _judgment(nyu_round.judgment, session, row, seats[Role.JUDGE], "live")
                )
        judge_rounds = [r for r in rounds if r.kind == protocol.RoundKind.JUDGE]
        for offline in debate.offline:
            if len(offline.judgments) > len(judge_rounds):
                raise NyuFormatError(
                    f"offline judge {offline.judge} gave more judgments than there were judge "
                    "rounds"
                )
            for judged, row in zip(offline.judgments, judge_rounds, strict=False):
                judgments.append(
                    _judgment(judged, session, row, seats[f"offline:{offline.judge}"], "offline")
                )
        Speech.objects.bulk_create(s for s, _ in speeches)
        Quote.objects.bulk_create(
            Quote(
                speech=speech,
                position=position,
                start=q.start,
                end=q.end,
                verified=True,
                text=q.text,
            )
            for speech, quotes in speeches
            for position, q in enumerate(quotes)
        )
        Judgment.objects.bulk_create(judgments)
        self.summary.speeches += len(speeches)
        self.summary.quotes += sum(len(q) for _, q in speeches)
        self.summary.judgments += sum(1 for j in judgments if j.kind == Judgment.Kind.LIVE)
        self.summary.offline_judgments += sum(
            1 for j in judgments if j.kind == Judgment.Kind.OFFLINE
        )

    def _surveys(self, debate: NyuDebate, seats: dict[str, Seat], session: Session) -> None:
        responses = []
        for name, (survey_role, answers) in debate.feedback.items():
            seat = _survey_seat(name, survey_role, seats)
            if seat is not None and answers:
                responses.append(
                    SurveyResponse(
                        seat=seat, answers=answers, submitted_at=session.finished_at or _now()
                    )
                )
        SurveyResponse.objects.bulk_create(responses)
        self.summary.surveys += len(responses)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

_EXPERT_ROLES = (Role.DEBATER_A, Role.DEBATER_B, Role.CONSULTANT)
_DEBATER_ROLES = {
    nyu_format.ROLE_DEBATER_A: (Role.DEBATER_A, 0),
    nyu_format.ROLE_DEBATER_B: (Role.DEBATER_B, 1),
}


def _metadata(path: Path, summary: NyuImportSummary) -> dict[str, dict[str, Any]]:
    file = path / METADATA_FILE if path.is_dir() else path.parent / METADATA_FILE
    if not file.exists():
        return {}
    try:
        entries = json.loads(file.read_text(encoding="utf-8"))
        return {str(e["name"]): e for e in entries if isinstance(e, dict) and "name" in e}
    except (OSError, ValueError, TypeError) as error:
        summary.skipped.append((str(file), f"metadata cannot be read, ignored: {error}"))
        return {}


def _debate_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for file in path.rglob("*.json"):
        if file.name != METADATA_FILE:
            yield file


def _moves(debate: NyuDebate, chosen: protocol.Protocol) -> Iterator[protocol.Move]:
    for nyu_round in debate.rounds:
        if nyu_round.judgment is not None:
            yield protocol.Move(Role.JUDGE, MoveKind.JUDGMENT, end=nyu_round.judgment.end)
        for speech in nyu_round.speeches:
            yield protocol.Move(_speaker_role(speech.debater, debate.is_debate), MoveKind.SPEECH)


def _seat_role(nyu_role: str, chosen: protocol.Protocol) -> str:
    """Our seat role for an NYU role name ("" for one we do not know)."""
    if nyu_role == nyu_format.ROLE_JUDGE:
        return Role.JUDGE
    if nyu_role not in _DEBATER_ROLES:
        return ""
    return _DEBATER_ROLES[nyu_role][0] if chosen is protocol.Protocol.DEBATE else Role.CONSULTANT


def _speaker_role(debater: int | None, is_debate: bool) -> Role:
    if not is_debate:
        return Role.CONSULTANT
    return Role.DEBATER_A if debater == 0 else Role.DEBATER_B


def _segments(
    content: tuple[nyu_format.Segment, ...], text: str, spans: list[tuple[int, int]]
) -> list[Text | QuoteSegment]:
    segments: list[Text | QuoteSegment] = []
    for part in content:
        if part.span is None:
            if part.text:
                segments.append(Text(part.text))
            continue
        start, end = nyu_format.char_span(spans, *part.span)
        if end > start:
            segments.append(QuoteSegment(text=text[start:end], start=start, end=end, verified=True))
    return segments


def _judgment(turn, session: Session, row: Round, seat: Seat, kind: str) -> Judgment:
    return Judgment(
        session=session,
        round=row,
        seat=seat,
        kind=kind,
        probabilities=list(turn.probabilities),
        text=turn.text,
        end=turn.end,
        created_at=_time(turn.timestamp_ms) or row.created_at,
    )


def _survey_seat(name: str, survey_role: str, seats: dict[str, Seat]) -> Seat | None:
    if survey_role == "OfflineJudge":
        return seats.get(f"offline:{name}")
    candidates = (
        [Role.JUDGE]
        if survey_role == "Judge"
        else [Role.DEBATER_A, Role.DEBATER_B, Role.CONSULTANT]
    )
    for role in candidates:
        seat = seats.get(role)
        if seat is not None and seat.user is not None and seat.user.username == name[:150]:
            return seat
    return None


def _timestamps(debate: NyuDebate) -> Iterator[int | None]:
    for nyu_round in debate.rounds:
        yield _first_time(nyu_round)
        yield _last_time(nyu_round)


def _first_time(nyu_round: nyu_format.Round) -> int | None:
    times = _round_times(nyu_round)
    return min(times) if times else None


def _last_time(nyu_round: nyu_format.Round) -> int | None:
    times = _round_times(nyu_round)
    return max(times) if times else None


def _round_times(nyu_round: nyu_format.Round) -> list[int]:
    times = [s.timestamp_ms for s in nyu_round.speeches]
    if nyu_round.judgment is not None:
        times.append(nyu_round.judgment.timestamp_ms)
    return [t for t in times if t is not None]


def _complete(nyu_round: nyu_format.Round, debate: NyuDebate) -> bool:
    if nyu_round.kind == "judge":
        return True
    expected = 2 if debate.is_debate else 1
    return len(nyu_round.speeches) >= expected


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def _now() -> datetime:
    return datetime.now(tz=UTC)
