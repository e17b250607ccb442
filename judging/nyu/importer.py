"""Import the NYU debate dataset (Michael et al. 2023) as it was published: every debate file of
the `pub/` folder (finished, unfinished, pilot, judgeless and excluded debates alike), the lobby
metadata (`debates-metadata.json` or `.jsonl`) and `profiles.json`, into passages, questions,
sessions, seats, rounds, speeches, quotes, votes, judgments, offline judgments, surveys and
scratchpads, as they happened.

- A story comes in the tokenisation the debate used: each distinct token list of an article is a
  passage of its own (id `<article>:<digest of the tokens>`), all sharing the story key
  `quality:<article>`, so every quote points at exactly the text its debate showed, whatever was
  imported first, and whoever read one rendering has read the story.
- One question row per question and answer pair; the order the judge saw is the session's.
- One transaction per debate: a debate that cannot be read or breaks the rules is reported with
  its file, name and the field at fault, and nothing of it is saved; the rest goes on. A debate
  already imported (the same name) is left as it is, so importing twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from debate import protocol
from debate.models import (
    EndVote,
    Judgment,
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
from debate.scoring import ScoringRule
from judging.models import SurveyResponse
from judging.nyu import mapping, schema
from judging.nyu.tokens import char_span, render_passage, render_text
from llm_agents.models import Agent, SeatAgent

PASSAGE_SOURCE = "nyu-debate"
METADATA_FILES = ("debates-metadata.json", "debates-metadata.jsonl")
PROFILES_FILE = "profiles.json"
# Files of the NYU platform's save folder that are not debates: named in the summary, not errors.
OTHER_FILES = {
    "open-feedback.json": "open-ended feedback on the protocol (nothing here models it)",
    "rules.json": "the facilitator's rule presets (each debate carries its own rules)",
    "debaters.json": "the platform's old list of debaters (profiles.json replaced it)",
}
_STATUS = {
    "Complete": Session.Status.FINISHED,
    "InProgress": Session.Status.IN_PROGRESS,
    "WaitingToBegin": Session.Status.NOT_STARTED,
}


class NyuFormatError(ValueError):
    """A file that is not a debate of this format, or a debate this platform cannot hold."""


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
    votes: int = 0
    judgments: int = 0
    offline_judgments: int = 0
    surveys: int = 0
    surveys_without_seat: int = 0  # feedback by a name that held no seat of the debate
    profiles: int = 0
    other_files: list[tuple[str, str]] = field(default_factory=list)  # (file, what it is)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def sessions(self) -> int:
        return sum(self.sessions_by_status.values())


def nyu_import(
    *, path: Path, progress: Callable[[int, int], None] | None = None
) -> NyuImportSummary:
    """Import every debate file below ``path`` (a folder in the published `pub/` layout, or one
    file) with the metadata and profiles beside them; ``progress(done, total)`` after each."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    summary = NyuImportSummary()
    files = sorted(_json_files(path))
    metadata = _metadata(path, files, summary)
    importer = _Importer(summary)
    importer.profiles(_profiles(files, summary))
    debates = [f for f in files if _kind_of(f) == "debate"]
    for f in files:
        if _kind_of(f) == "other":
            summary.other_files.append((str(f), OTHER_FILES[f.name]))
    for done, file in enumerate(debates, start=1):
        summary.files += 1
        name = file.stem
        try:
            debate = schema.Debate.model_validate_json(file.read_bytes())
        except OSError as error:
            summary.skipped.append((str(file), f"debate {name}: cannot read it: {error}"))
        except schema.ValidationError as error:
            reason = _not_a_debate(file) or schema.error_text(error)
            summary.skipped.append((str(file), f"debate {name}: {reason}"))
        else:
            try:
                with transaction.atomic():
                    importer.debate(name, debate, metadata.get(name))
            except NyuFormatError as error:
                summary.skipped.append((str(file), f"debate {name}: {error}"))
                importer.forget()  # rows it remembered from this debate were rolled back
        if progress:
            progress(done, len(debates))
    return summary


def setting_of(*, is_ai: bool, protocol_name: str) -> str:
    """The paper's four settings: human/ai x debate/consultancy."""
    return f"{'ai' if is_ai else 'human'}_{protocol_name}"


def tokens_digest(tokens: list[str]) -> str:
    """Names a tokenisation: two debates showing a story with the same tokens share a passage."""
    return hashlib.sha1(
        json.dumps(list(tokens), ensure_ascii=False).encode(), usedforsecurity=False
    ).hexdigest()[:12]


# --------------------------------------------------------------------------------------------------
# One debate
# --------------------------------------------------------------------------------------------------


@dataclass
class _Played:
    """A debate's rounds as our rows, before they are saved."""

    rounds: list[Round]
    speeches: list[tuple[Speech, list[tuple[QuoteSegment, tuple[int, int]]]]]
    votes: list[EndVote]
    judgments: list[Judgment]
    moves: list[protocol.Move]


class _Importer:
    """Writes debates, remembering the passages, people and rules already met in this run."""

    def __init__(self, summary: NyuImportSummary) -> None:
        self.summary = summary
        self.passages: dict[str, tuple[Passage, list[tuple[int, int]]]] = {}
        self.users: dict[str, Any] = {}
        self.agents: dict[str, Agent] = {}
        self.ai_names = {mapping.AI_PARTICIPANT}
        self.rules: dict[str, Rules] = {}
        self.first_debater = 0  # the answer debater A argues in the debate being imported

    def forget(self) -> None:
        self.passages.clear()
        self.users.clear()
        self.agents.clear()
        self.rules.clear()

    def profiles(self, profiles: dict[str, schema.Profile]) -> None:
        """People as inactive users (with their email when the profile has one), AIs as agents."""
        for name, profile in profiles.items():
            kind, body = profile.variant
            if kind == "AI":
                self.ai_names.add(name)
                self._agent(name)
            else:
                user = self._user(name)
                if body.slackEmail and not user.email:
                    user.email = body.slackEmail
                    user.save(update_fields=["email"])
            self.summary.profiles += 1

    def debate(self, name: str, debate: schema.Debate, meta: schema.DebateMetadata | None) -> None:
        if Session.objects.filter(
            external_id=name, question__passage__source=PASSAGE_SOURCE
        ).exists():
            self.summary.already_imported += 1
            return
        setup = debate.setup
        roles = setup.roles
        debaters = [i for i, role in enumerate(mapping.ROLE_DEBATER) if role in roles]
        if not debaters:
            raise NyuFormatError("setup.roles names no debater")
        chosen = protocol.Protocol.DEBATE if len(debaters) == 2 else protocol.Protocol.CONSULTANCY
        # Open rules (our own `answerChoice`): the expert who chose is the seat that chooses
        # here (the consultant, or debater A whichever answer it took), and its choice the
        # first move; the files name debaters by answer, so debater A is its answer's.
        choice = setup.answerChoice
        self.first_debater = choice.answerIndex if choice and len(debaters) == 2 else 0
        rules = self._rules(setup.rules, open_choice=choice is not None)
        structure = rules.get_structure()
        passage, spans = self._passage(setup)
        question, order = self._question(setup, passage)
        live_rounds = [r for r in debate.rounds if r.variant[0] != "OfflineJudgments"]
        offline = [r.variant[1] for r in debate.rounds if r.variant[0] == "OfflineJudgments"]
        times = [t for t in _times(live_rounds) if t is not None]
        state_status = meta.status_name if meta else ""
        session = Session.objects.create(
            question=question,
            protocol=chosen.value,
            rules=rules,
            answer_order=order,
            status=Session.Status.NOT_STARTED,
            external_id=name,
            included_in_paper=meta.includedInPaper if meta else None,
            created_at=mapping.time_of(setup.creationTime)
            or mapping.time_of(min(times, default=None))
            or timezone.now(),
            started_at=mapping.time_of(min(times, default=None)),
        )
        seats = self._seats(debate, session, chosen, offline)
        played = self._play(debate, live_rounds, session, seats, chosen, spans, setup.tokens)
        if choice is not None:
            chooser = self._speaker_seat(seats, choice.answerIndex, chosen, -1)
            chooser.answer_chosen_at = mapping.time_of(choice.timestamp) or session.created_at
            chooser.save(update_fields=["answer_chosen_at"])
            played.moves.insert(0, protocol.Move(Role(chooser.role), MoveKind.CHOICE))
        state = protocol.replay(chosen, structure, played.moves)
        if isinstance(state, protocol.Rejection):
            raise NyuFormatError(f"its history breaks its rules: {state.message}")
        status = _STATUS.get(state_status) or (
            Session.Status.FINISHED
            if state.finished
            else Session.Status.IN_PROGRESS
            if played.moves
            else Session.Status.NOT_STARTED
        )
        session.status = status
        session.finished_at = (
            mapping.time_of(max(times, default=None)) if status == Session.Status.FINISHED else None
        )
        session.save(update_fields=["status", "finished_at"])
        self._save(played)
        offline_judgments = self._offline(offline, session, seats, played, structure)
        Judgment.objects.bulk_create(offline_judgments)
        self._surveys(debate, seats, session)
        self._scratchpads(debate, seats, chosen, setup.tokens)
        is_ai = any(s.is_ai for s in seats.values() if s.role in protocol.EXPERT_ROLES)
        self.summary.sessions_by_status[session.get_status_display()] += 1
        self.summary.sessions_by_setting[setting_of(is_ai=is_ai, protocol_name=chosen.value)] += 1

    # ---------------------------------------------------------------------------------------------

    def _passage(self, setup: schema.Setup) -> tuple[Passage, list[tuple[int, int]]]:
        tokens = setup.tokens
        article = setup.article_id
        key = f"{article or 'custom'}:{tokens_digest(tokens)}"
        known = self.passages.get(key)
        if known is not None:
            return known
        passage = Passage.objects.filter(source=PASSAGE_SOURCE, external_id=key).first()
        if passage is None:
            text, spans = render_passage(tokens)
            passage = Passage.objects.create(
                title=setup.title or article or "Untitled story",
                source=PASSAGE_SOURCE,
                external_id=key,
                story_key=f"quality:{article}" if article else "",
                text=text,
            )
            PassageTokens.objects.create(
                passage=passage, tokens=list(tokens), spans=[list(s) for s in spans]
            )
            self.summary.passages_created += 1
        else:
            # The stored spans belong to the stored text (an older import may have rendered it
            # otherwise); quotes are placed in that text.
            spans = [tuple(s) for s in PassageTokens.objects.get(passage=passage).spans]
        self.passages[key] = (passage, spans)
        return passage, spans

    def _question(self, setup: schema.Setup, passage: Passage) -> tuple[Question, list[int]]:
        """The question with its two answers in a fixed order (sorted), and the session's order
        of them as the debate showed them."""
        answers = sorted(setup.answers)
        correct = setup.answers[setup.correctAnswerIndex]
        key = hashlib.sha1(
            json.dumps([setup.question, *answers]).encode(), usedforsecurity=False
        ).hexdigest()[:16]
        question, created = Question.objects.get_or_create(
            passage=passage,
            external_id=key,
            defaults={
                "text": setup.question,
                "answers": answers,
                "correct_index": answers.index(correct),
                "best_distractor_index": 1 - answers.index(correct),
                "source_ids": {"nyu_question": setup.question},
            },
        )
        if question.answers[question.correct_index] != correct:
            raise NyuFormatError(
                "the same question and answers were imported with another correct answer"
            )
        self.summary.questions_created += created
        order = [answers.index(a) for a in setup.answers]
        if order[0] == order[1]:  # two identical answer texts
            order = [0, 1] if setup.correctAnswerIndex == 0 else [1, 0]
        return question, order

    def _rules(self, nyu_rules: schema.Rules, *, open_choice: bool = False) -> Rules:
        try:
            structure = mapping.structure_from_rules(nyu_rules)
        except ValueError as error:
            raise NyuFormatError(f"setup.rules: {error}") from error
        if open_choice:
            structure["open_choice"] = True
        content = {
            "structure": structure,
            "scoring": mapping.scoring_from_rules(nyu_rules.scoringFunction),
        }
        key = hashlib.sha1(
            json.dumps(content, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()[:10]
        if key not in self.rules:
            parsed = protocol.structure_from_dict(structure)
            if isinstance(parsed, protocol.Rejection):
                raise NyuFormatError(f"setup.rules: {parsed.message}")
            try:
                ScoringRule.from_dict(content["scoring"])
            except (TypeError, ValueError) as error:
                raise NyuFormatError(f"setup.rules.scoringFunction: {error}") from error
            self.rules[key], _ = Rules.objects.get_or_create(
                name=f"nyu-{key}",
                defaults={
                    "description": "Rules of imported NYU debates (Michael et al. 2023).",
                    **content,
                },
            )
        return self.rules[key]

    def _user(self, name: str):
        if name not in self.users:
            user, created = get_user_model().objects.get_or_create(
                username=name[:150], defaults={"is_active": False}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            self.users[name] = user
        return self.users[name]

    def _agent(self, name: str) -> Agent:
        if name not in self.agents:
            model = "gpt-4" if name == mapping.AI_PARTICIPANT else name.lower()
            self.agents[name], _ = Agent.objects.get_or_create(
                name=name, defaults={"provider": Agent.Provider.OPENAI, "model": model}
            )
        return self.agents[name]

    def _holder(self, name: str) -> dict[str, Any]:
        if name in self.ai_names:
            return {"ai_player": self._agent(name).name}
        return {"user": self._user(name)}

    def _author(self, speaker: str, seat: Seat):
        """Who made a move: the named person (a seat may have changed holder), else the seat's."""
        if not speaker or speaker in self.ai_names:
            return seat.user if seat.user_id else None
        return self._user(speaker)

    def _seats(
        self,
        debate: schema.Debate,
        session: Session,
        chosen: protocol.Protocol,
        offline: list[schema.OfflineRound],
    ) -> dict[str, Seat]:
        """Seats keyed by role; offline judges keyed "offline:<name>"."""
        roles = debate.setup.roles
        rows: dict[str, Seat] = {}
        judge = roles.get(mapping.ROLE_JUDGE) or next(
            (
                r.variant[1].feedback.speaker
                for r in debate.rounds
                if r.variant[0] == "JudgeFeedback" and r.variant[1].feedback.speaker
            ),
            None,
        )
        if judge:
            rows[Role.JUDGE] = Seat(session=session, role=Role.JUDGE, **self._holder(judge))
        for index, nyu_role in enumerate(mapping.ROLE_DEBATER):
            if nyu_role in roles:
                role = _speaker_role(index, chosen, self.first_debater)
                rows[role] = Seat(
                    session=session,
                    role=role,
                    answer_position=index,
                    **self._holder(roles[nyu_role]),
                )
        assigned = dict(debate.setup.offlineJudges)
        modes = dict(assigned)
        starts: dict[str, datetime | None] = {}
        for round_ in offline:
            for name, judging in round_.judgments.items():
                modes[name] = judging.mode or modes.get(name)
                starts[name] = mapping.time_of(judging.startTimeMillis)  # -1: unknown
        for name, mode in modes.items():
            rows[f"offline:{name}"] = Seat(
                session=session,
                role=Role.OFFLINE_JUDGE,
                judging_mode=mode or "",
                assigned_judging_mode=assigned.get(name) or "",
                judging_started_at=starts.get(name),
                **self._holder(name),
            )
        Seat.objects.bulk_create(rows.values())
        SeatAgent.objects.bulk_create(  # which agent each AI's seat is (the AI app's link)
            SeatAgent(seat=s, agent=self.agents[s.ai_player]) for s in rows.values() if s.is_ai
        )
        PassageReading.objects.bulk_create(
            (
                PassageReading(user=s.user, passage=session.question.passage, note="debated")
                for s in rows.values()
                if s.user is not None and s.role in protocol.EXPERT_ROLES
            ),
            ignore_conflicts=True,
        )
        return rows

    def _play(
        self,
        debate: schema.Debate,
        live_rounds: list[schema.DebateRound],
        session: Session,
        seats: dict[str, Seat],
        chosen: protocol.Protocol,
        spans: list[tuple[int, int]],
        tokens: list[str],
    ) -> _Played:
        played = _Played([], [], [], [], [])
        text = session.question.passage.text
        latest = session.created_at  # votes carry no time: they are cast when the round opens
        for index, nyu_round in enumerate(live_rounds):
            kind, body = nyu_round.variant
            row = Round(session=session, index=index, kind=_ROUND_KINDS[kind])
            played.rounds.append(row)
            stamps: list[int] = []
            if kind == "JudgeFeedback":
                judge = seats.get(Role.JUDGE)
                if judge is None:
                    raise NyuFormatError(f"rounds[{index}]: a judge's feedback with no judge")
                played.judgments.append(
                    _judgment(body, session, row, judge, self._author(body.feedback.speaker, judge))
                )
                played.moves.append(
                    protocol.Move(Role.JUDGE, MoveKind.JUDGMENT, end=body.endDebate)
                )
                stamps.append(body.feedback.timestamp)
            elif kind == "NegotiateEnd":
                for debater, end in sorted(body.votes.items(), key=self._speaking_order):
                    seat = self._speaker_seat(seats, debater, chosen, index)
                    played.votes.append(
                        EndVote(
                            round=row,
                            seat=seat,
                            end=end,
                            author=seat.user if seat.user_id else None,
                            created_at=latest,
                        )
                    )
                    played.moves.append(protocol.Move(Role(seat.role), MoveKind.VOTE, end=end))
            else:
                # Debaters speak in index order (the platform's sequential order).
                for debater, speech in sorted(body.speeches.items(), key=self._speaking_order):
                    seat = self._speaker_seat(seats, debater, chosen, index)
                    segments = _segments(speech.content, text, spans, tokens)
                    plain = [s for s, _ in segments]
                    played.speeches.append(
                        (
                            Speech(
                                round=row,
                                seat=seat,
                                author=self._author(speech.speaker, seat),
                                text=to_markup(plain),
                                char_count=rendered_length(plain),
                                quote_char_count=quoted_char_count(plain),
                                created_at=mapping.time_of(speech.timestamp) or session.created_at,
                            ),
                            [(s, t) for s, t in segments if isinstance(s, QuoteSegment) and t],
                        )
                    )
                    played.moves.append(protocol.Move(Role(seat.role), MoveKind.SPEECH))
                    stamps.append(speech.timestamp)
            known = [t for t in stamps if t is not None]
            row.created_at = mapping.time_of(min(known, default=None)) or latest
            row.completed_at = mapping.time_of(max(known, default=None))
            latest = row.completed_at or latest
        return played

    def _speaking_order(self, item: tuple[int, Any]) -> tuple[bool, int]:
        """Debater A's answer first (the platform's order by answer index, unless an open
        debate's debater A chose the second answer)."""
        return (item[0] != self.first_debater, item[0])

    def _speaker_seat(self, seats: dict[str, Seat], debater: int, chosen, index: int) -> Seat:
        role = _speaker_role(debater, chosen, self.first_debater)
        if role not in seats:
            raise NyuFormatError(f"rounds[{index}]: debater {debater} is not in setup.roles")
        return seats[role]

    def _save(self, played: _Played) -> None:
        Round.objects.bulk_create(played.rounds)
        for row in played.rounds:
            if row.completed_at is None:
                row.completed_at = row.created_at
        Speech.objects.bulk_create(s for s, _ in played.speeches)
        Quote.objects.bulk_create(
            Quote(
                speech=speech,
                position=position,
                start=q.start,
                end=q.end,
                verified=True,
                text=q.text,
                token_start=tokens[0],
                token_end=tokens[1],
            )
            for speech, quotes in played.speeches
            for position, (q, tokens) in enumerate(quotes)
        )
        EndVote.objects.bulk_create(played.votes)
        Judgment.objects.bulk_create(played.judgments)
        self.summary.speeches += len(played.speeches)
        self.summary.quotes += sum(len(q) for _, q in played.speeches)
        self.summary.votes += len(played.votes)
        self.summary.judgments += len(played.judgments)

    def _offline(
        self,
        offline: list[schema.OfflineRound],
        session: Session,
        seats: dict[str, Seat],
        played: _Played,
        structure: protocol.Structure,
    ) -> list[Judgment]:
        """Offline judgments against the rounds the platform's offline judge saw them beside
        (the protocol's offline points): judge rounds, or speech rounds when judgeless, or the
        end when timed. Numbered by step, so none is lost if a judging has more than points."""
        out: list[Judgment] = []
        rounds = played.rounds
        spoken = {id(s.round) for s, _ in played.speeches}
        judged = {id(j.round) for j in played.judgments}
        shapes = [
            protocol.PlayedRound(
                r.index, protocol.RoundKind(r.kind), id(r) in spoken, id(r) in judged
            )
            for r in rounds
        ]
        for round_ in offline:
            for name, judging in round_.judgments.items():
                seat = seats[f"offline:{name}"]
                points = protocol.offline_points(shapes, structure, seat.judging_mode or "stepped")
                for step, turn in enumerate(judging.judgments):
                    point = points[min(step, len(points) - 1)] if points else None
                    row = (
                        next(r for r in rounds if r.index == point.round_index)
                        if point
                        else rounds[-1]
                    )
                    judgment = _judgment(
                        turn, session, row, seat, self._author(turn.feedback.speaker, seat)
                    )
                    judgment.kind = Judgment.Kind.OFFLINE
                    judgment.step = step
                    out.append(judgment)
        self.summary.offline_judgments += len(out)
        return out

    def _surveys(self, debate: schema.Debate, seats: dict[str, Seat], session: Session) -> None:
        responses = []
        for name, response in debate.feedback.items():
            survey_role, body = response.variant
            seat = _survey_seat(name, survey_role, seats)
            if seat is None:
                self.summary.surveys_without_seat += 1
                continue
            own = seat.role if seat.role in (Role.DEBATER_A, Role.DEBATER_B) else None
            answers = mapping.survey_answers(body.answers, own_role=own)
            if answers:
                responses.append(
                    SurveyResponse(
                        seat=seat,
                        answers=answers,
                        submitted_at=session.finished_at or timezone.now(),
                    )
                )
        SurveyResponse.objects.bulk_create(responses)
        for saved in responses:  # the protocol's fact that the seat's survey is in
            Seat.objects.filter(pk=saved.seat.pk).update(surveyed_at=saved.submitted_at)
        self.summary.surveys += len(responses)

    def _scratchpads(self, debate, seats, chosen, tokens) -> None:
        """Each seat's notes as one text (a quote in them as the story's words); the notes as
        the file held them are kept beside it, so an export writes them back unchanged."""
        pads = []
        for key, notes in debate.scratchpads.items():
            role = _scratchpad_role(key, chosen, self.first_debater)
            if role in seats:
                pads.append(
                    Scratchpad(
                        seat=seats[role],
                        text=mapping.scratchpad_text(notes, tokens),
                        source_notes=[[s.model_dump(exclude_none=True) for s in n] for n in notes],
                    )
                )
        Scratchpad.objects.bulk_create(pads)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

_ROUND_KINDS = {
    "JudgeFeedback": protocol.RoundKind.JUDGE,
    "SimultaneousSpeeches": protocol.RoundKind.SIMULTANEOUS,
    "SequentialSpeeches": protocol.RoundKind.SEQUENTIAL,
    "NegotiateEnd": protocol.RoundKind.NEGOTIATE_END,
}


def _json_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for file in path.rglob("*"):
        if file.is_file() and file.suffix in (".json", ".jsonl") and "trash" not in file.parts:
            yield file


def _kind_of(file: Path) -> str:
    if file.name in METADATA_FILES:
        return "metadata"
    if file.name == PROFILES_FILE:
        return "profiles"
    if file.name in OTHER_FILES:
        return "other"
    return "debate" if file.suffix == ".json" else "other-unknown"


def _not_a_debate(file: Path) -> str | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return f"not JSON: {error}"
    if not isinstance(data, dict) or "setup" not in data:
        return "not a debate file (it has no 'setup')"
    return None


def _metadata(path: Path, files: list[Path], summary) -> dict[str, schema.DebateMetadata]:
    """The lobby metadata by debate name: debates-metadata.json (an array) if there is one,
    else debates-metadata.jsonl (a line each); beside the path given, or found below it."""
    folder = path if path.is_dir() else path.parent
    candidates = [folder / n for n in METADATA_FILES] + [
        f for f in files if f.name in METADATA_FILES
    ]
    file = next((f for f in candidates if f.exists()), None)
    if file is None:
        return {}
    try:
        text = file.read_text(encoding="utf-8")
        if file.suffix == ".jsonl":
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            entries = json.loads(text)
        parsed = [schema.DebateMetadata.model_validate(e) for e in entries]
    except (OSError, ValueError, TypeError) as error:
        summary.skipped.append((str(file), f"metadata cannot be read, ignored: {error}"))
        return {}
    return {m.name: m for m in parsed}


def _profiles(files: list[Path], summary) -> dict[str, schema.Profile]:
    file = next((f for f in files if f.name == PROFILES_FILE), None)
    if file is None:
        return {}
    try:
        return schema.Profiles(profiles=json.loads(file.read_text(encoding="utf-8"))).profiles
    except (OSError, ValueError) as error:
        reason = schema.error_text(error) if isinstance(error, schema.ValidationError) else error
        summary.skipped.append((str(file), f"profiles cannot be read, ignored: {reason}"))
        return {}


def _times(rounds: list[schema.DebateRound]) -> Iterator[int | None]:
    for nyu_round in rounds:
        kind, body = nyu_round.variant
        if kind == "JudgeFeedback":
            yield body.feedback.timestamp
        elif kind in ("SimultaneousSpeeches", "SequentialSpeeches"):
            for speech in body.speeches.values():
                yield speech.timestamp


def _speaker_role(debater: int, chosen: protocol.Protocol, first: int = 0) -> Role:
    """The seat of the debater arguing answer ``debater``: debater A argues answer ``first``."""
    if chosen is protocol.Protocol.CONSULTANCY:
        return Role.CONSULTANT
    return Role.DEBATER_A if debater == first else Role.DEBATER_B


def _segments(
    content: list[schema.Segment], text: str, spans: list[tuple[int, int]], tokens: list[str]
) -> list[tuple[Text | QuoteSegment, tuple[int, int] | None]]:
    """Speech content as our segments, each quote with its token span: its characters placed in
    our passage text, its text the platform's rendering of its tokens (what the debate showed)."""
    segments: list[tuple[Text | QuoteSegment, tuple[int, int] | None]] = []
    for part in content:
        if part.Text is not None:
            if part.Text.text:
                segments.append((Text(part.Text.text), None))
            continue
        assert part.Quote is not None  # a part is text or a quote (schema)
        begin, end = part.Quote.span
        start, stop = char_span(spans, begin, end)
        shown = render_text(tokens[begin:end])
        if stop > start and shown:
            segments.append(
                (QuoteSegment(text=shown, start=start, end=stop, verified=True), (begin, end))
            )
    return segments


def _judgment(turn: schema.JudgeTurn, session: Session, row: Round, seat: Seat, author) -> Judgment:
    if len(turn.distribution) != 2:
        raise NyuFormatError(f"a judgment gives {len(turn.distribution)} probabilities, not two")
    return Judgment(
        session=session,
        round=row,
        seat=seat,
        kind=Judgment.Kind.LIVE,
        probabilities=list(turn.distribution),
        text=turn.feedback.text,
        end=turn.endDebate,
        author=author,
        created_at=mapping.time_of(turn.feedback.timestamp) or row.created_at or session.created_at,
    )


def _survey_seat(name: str, survey_role: str, seats: dict[str, Seat]) -> Seat | None:
    if survey_role == "OfflineJudge":
        return seats.get(f"offline:{name}")
    candidates = [Role.JUDGE] if survey_role == "Judge" else list(protocol.EXPERT_ROLES)
    for role in candidates:
        seat = seats.get(role)
        if seat is not None and seat.user is not None and seat.user.username == name[:150]:
            return seat
    return None


def _scratchpad_role(key: str, chosen: protocol.Protocol, first: int = 0) -> str:
    if key == mapping.ROLE_JUDGE:
        return Role.JUDGE
    if key in mapping.ROLE_DEBATER:
        return _speaker_role(mapping.ROLE_DEBATER.index(key), chosen, first)
    return ""
