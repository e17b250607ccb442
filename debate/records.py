"""A stored session as plain records, the one family every reader uses: the visibility rules
(`debate/visibility/`, whose input is a `SessionSnapshot`) and the analysis, exports and
leaderboards (`judging/`, whose input is a `SessionRecord`). Pure (no Django): the loaders are
`debate/visibility/snapshots.py` and `judging/selectors.py`, and tests build records by hand.

The parts (seats, rounds, speeches, quotes, judgments, votes) are the same records in both; the
two wholes differ in what their readers need besides: a snapshot carries the replayed protocol
state, the story's text and the seats' drafts, a session record the batch, the rules as stored
and the error tags. Derived facts every consumer needs live here, once: a speech's segments, the
final live judgment, how many times the judge continued, the speech rounds, the setting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any
from typing import Protocol as TypingProtocol

from debate import protocol
from debate.protocol import EXPERT_ROLES, Protocol, Role, RoundKind, State, choosers
from debate.quotes import Quote, QuoteRequest, Segment, parse_markup
from debate.scoring import PAPER_RULE, ScoringRule

JUDGE = Role.JUDGE
OFFLINE_JUDGE = Role.OFFLINE_JUDGE
NEGOTIATE_END = RoundKind.NEGOTIATE_END
SPEECH_KINDS = (RoundKind.SIMULTANEOUS, RoundKind.SEQUENTIAL)
LIVE = "live"  # a judgment's kind: the live judge's move
OFFLINE = "offline"  # an offline judge's, after the session


@dataclass(frozen=True)
class SeatRecord:
    seat_id: int
    role: Role
    holder: str  # the username, or the agent's name
    is_ai: bool
    answer_position: int | None
    user_id: int | None = None  # who holds it now (never put in a view; streams check it)
    honest: bool | None = None  # debaters and consultants only
    survey: dict[str, Any] | None = None  # the holder's feedback survey (research reads)
    judging_mode: str = ""  # offline judges: stepped or timed
    assigned_judging_mode: str = ""  # offline judges: the mode assigned ("" : the judge's choice)
    judging_started_at: datetime | None = None  # offline judges: when they began reading
    scratchpad: str = ""  # the seat's private notes; empty when read without text
    scratchpad_notes: list[Any] | None = None  # the notes as an imported file held them
    # Open rules: when this expert chose the answer it argues (the chooser's seat only).
    answer_chosen_at: datetime | None = None

    @property
    def judging_started(self) -> bool:
        """Offline judges: they have begun reading."""
        return self.judging_started_at is not None


@dataclass(frozen=True)
class QuoteRecord:
    """A quote's stored certification: its story span and whether it was verified."""

    start: int | None
    end: int | None
    verified: bool
    text: str
    tokens: tuple[int, int] | None = None  # the source's token span, for a tokenised story


class StoredQuote(TypingProtocol):
    """What `speech_segments` reads of a stored quote (a `QuoteRecord` or a quote row)."""

    @property
    def start(self) -> int | None: ...
    @property
    def end(self) -> int | None: ...
    @property
    def verified(self) -> bool: ...
    @property
    def text(self) -> str: ...


def verified_spans(quotes: Sequence[QuoteRecord]) -> list[tuple[int, int]]:
    """The story spans of the verified quotes (a verified quote always has its span)."""
    return [
        (q.start, q.end) for q in quotes if q.verified and q.start is not None and q.end is not None
    ]


def verified_token_spans(quotes: Sequence[QuoteRecord]) -> list[tuple[int, int]]:
    """The source's token spans of the verified quotes that have one."""
    return [q.tokens for q in quotes if q.verified and q.tokens is not None]


def speech_segments(markup: str, quotes: Sequence[StoredQuote]) -> tuple[Segment, ...]:
    """Rebuild a stored speech's segments: its markup's quotes paired, in order, with the stored
    certification of each (span and verified flag)."""
    segments: list[Segment] = []
    position = 0
    for part in parse_markup(markup):
        if isinstance(part, QuoteRequest):
            stored = quotes[position] if position < len(quotes) else None
            position += 1
            if stored is not None and stored.verified:
                segments.append(Quote(stored.text, stored.start, stored.end, verified=True))
            else:
                segments.append(Quote(stored.text if stored else part.text, verified=False))
        else:
            segments.append(part)
    return tuple(segments)


@dataclass(frozen=True)
class SpeechRecord:
    role: Role
    seat_id: int
    text: str  # with <quote>...</quote> markup; empty when read without text
    char_count: int
    quote_char_count: int
    quotes: tuple[QuoteRecord, ...]
    at: datetime | None = None  # None when read without text
    by: str = ""  # who gave it (username, or the agent's name); empty when read without text

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        """The speech as revealed: its text and its quotes as certified when it was given."""
        return speech_segments(self.text, self.quotes)


@dataclass(frozen=True)
class JudgmentRecord:
    seat_id: int
    kind: str  # LIVE or OFFLINE
    probabilities: tuple[float, ...]
    text: str  # the judge's note (empty when read without text)
    end: bool
    at: datetime | None = None  # None when read without text
    by: str = ""  # who judged (username, or the agent's name); empty when read without text
    step: int | None = None  # offline judgments: 0, 1, ...
    # Judge questions (rules with `judge_questions` on): (expert role, question), role order;
    # empty when read without text.
    questions: tuple[tuple[str, str], ...] = ()

    @property
    def role(self) -> Role:
        """Who judges: a live judgment is the live judge's move, an offline one an offline
        judge's."""
        return JUDGE if self.kind == LIVE else OFFLINE_JUDGE


@dataclass(frozen=True)
class VoteRecord:
    """A speaking seat's vote in a negotiate-end round: ``end`` True to end the session."""

    role: Role
    seat_id: int
    end: bool
    at: datetime | None = None
    by: str = ""


@dataclass(frozen=True)
class RoundRecord:
    index: int
    kind: RoundKind
    speeches: tuple[SpeechRecord, ...]
    judgments: tuple[JudgmentRecord, ...] = ()  # a snapshot's rounds: the live judge's only
    votes: tuple[VoteRecord, ...] = ()


# --------------------------------------------------------------------------------------------------
# The live session: the visibility rules' input
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSnapshot:
    session_id: int
    protocol: protocol.Protocol
    status: str
    question: str
    answers: tuple[str, ...]
    correct_position: int
    passage_title: str
    passage_text: str
    state: State
    seats: tuple[SeatRecord, ...]
    rounds: tuple[RoundRecord, ...]
    offline_judgments: tuple[JudgmentRecord, ...] = ()
    scoring: ScoringRule = PAPER_RULE
    surveyed_seats: frozenset[int] = frozenset()  # seats whose feedback survey is submitted
    drafts: dict[int, dict[str, str]] = field(default_factory=dict)  # seat id -> kind -> text
    turn_became_due: datetime | None = None  # when the current turn began (the last live move)
    void_reason: str = ""  # why staff voided the session; "" while it is not void
    judge_questions: bool = False  # the rules let the live judge ask each expert a question


# --------------------------------------------------------------------------------------------------
# The stored session for research: exports, the analysis, leaderboards
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    id: int
    name: str
    protocol: str
    status: str
    batch: str
    included_in_paper: bool | None
    question: str
    answers: tuple[str, ...]  # as shown
    correct_position: int
    passage_title: str
    passage_source: str
    passage_id: str
    passage_length: int
    rules_name: str
    structure: dict[str, Any]
    scoring: dict[str, Any]
    seats: tuple[SeatRecord, ...]
    rounds: tuple[RoundRecord, ...]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_tags: tuple[str, ...] = field(default=())
    void_reason: str = ""  # voided by staff, and why (exports say so; the analysis skips it)
    passage_story: str = ""  # the story key shared by its renderings (e.g. quality:63473)
    # A tokenised story's tokens (NYU imports; one tuple shared by every record of the passage),
    # for counting quoted characters as the authors did; None for a story we hold as text.
    passage_tokens: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    # The derived facts below are read many times per record by the analysis (per figure and
    # setting); a record is frozen, so each is computed once and kept.

    @cached_property
    def is_ai(self) -> bool:
        """AI-held expert seats make an AI setting (the judge's kind does not)."""
        return any(s.is_ai for s in self.seats if s.role in EXPERT_ROLES)

    @cached_property
    def setting(self) -> str:
        """human/ai x debate/consultancy; `open_` before the protocol under open rules (the
        expert chose its answer): e.g. human_open_consultancy, ai_open_debate; the judge-only
        baselines are human/ai_blind_judge and human/ai_oracle_judge, by the judge's kind (they
        have no experts)."""
        baseline = self.judge_baseline
        if baseline:
            judge_ai = any(s.is_ai for s in self.seats if s.role == Role.JUDGE)
            return f"{'ai' if judge_ai else 'human'}_{baseline}_judge"
        who = "ai" if self.is_ai else "human"
        kind = f"open_{self.protocol}" if self.open_choice else self.protocol
        return f"{who}_{kind}"

    @cached_property
    def judge_baseline(self) -> str:
        """Khan et al.'s baselines: "blind" (a judge with no speeches: the question and answers
        alone), "oracle" (no speeches, and the judge reads the story); "" for every other rule
        (rules with speeches whose judge reads the story count as their protocol)."""
        return _judge_baseline_of(self.structure or {})

    @property
    def open_choice(self) -> bool:
        """Open consultancy or open debate: the expert chose the answer it argues."""
        return bool((self.structure or {}).get("open_choice"))

    @cached_property
    def chose_correct(self) -> bool | None:
        """Under open rules, whether the expert who chose (the consultant, or debater A) chose
        the correct answer; None under other rules, or before the choice."""
        if not self.open_choice or self.protocol not in tuple(Protocol):
            return None
        chooser = self.seat(choosers(Protocol(self.protocol))[0])
        if chooser is None or chooser.answer_position is None:
            return None
        return chooser.answer_position == self.correct_position

    def seat(self, role: str) -> SeatRecord | None:
        return next((s for s in self.seats if s.role == role), None)

    def judgments_of(self, seat_id: int) -> list[JudgmentRecord]:
        """One judge's judgments in round order."""
        return [j for r in self.rounds for j in r.judgments if j.seat_id == seat_id]

    @property
    def judge(self) -> SeatRecord | None:
        return self.seat(JUDGE)

    @property
    def live_judgments(self) -> list[JudgmentRecord]:
        judge = self.judge
        return self.judgments_of(judge.seat_id) if judge else []

    @property
    def final_judgment(self) -> JudgmentRecord | None:
        """The live judge's judgment that ended the session (None while it runs)."""
        return next((j for j in self.live_judgments if j.end), None)

    @property
    def continues(self) -> int:
        """Times the live judge chose to continue."""
        return sum(1 for j in self.live_judgments if not j.end)

    @cached_property
    def speech_rounds(self) -> list[RoundRecord]:
        return [r for r in self.rounds if r.kind in SPEECH_KINDS and r.speeches]

    @cached_property
    def has_live_judge(self) -> bool:
        """False for a judgeless session (its rules have no judge round)."""
        structure = self.structure or {}
        closing = structure.get("closing") or {}
        specs = [
            *(structure.get("opening") or ()),
            *(structure.get("repeating") or ()),
            *(closing.get("rounds") or ()),
        ]
        return any(spec.get("kind") == JUDGE for spec in specs)

    @property
    def ended_by(self) -> str | None:
        """How a finished session ended (debate/protocol.py's EndReason values)."""
        if self.status != "finished":
            return None
        if self.final_judgment is not None:
            return "judge"
        last = self.rounds[-1] if self.rounds else None
        if (
            last is not None
            and last.kind == NEGOTIATE_END
            and last.votes
            and all(v.end for v in last.votes)
        ):
            return "agreement"
        return "rules"

    @property
    def offline_seats(self) -> list[SeatRecord]:
        return [s for s in self.seats if s.role == OFFLINE_JUDGE]

    @cached_property
    def experts(self) -> list[SeatRecord]:
        return [s for s in self.seats if s.role in EXPERT_ROLES]


def _judge_baseline_of(structure: dict[str, Any]) -> str:
    """The baseline of a stored structure, parsed once per structure object: the loader gives
    every record of one rules row the same one (a structure is never changed once read)."""
    kept = _baselines.get(id(structure))
    if kept is not None and kept[0] is structure:
        return kept[1]
    baseline = _judge_baseline(json.dumps(structure, sort_keys=True))
    if len(_baselines) >= 1024:
        _baselines.clear()
    _baselines[id(structure)] = (structure, baseline)  # holding it keeps its id unique
    return baseline


_baselines: dict[int, tuple[dict[str, Any], str]] = {}


@lru_cache(maxsize=1024)
def _judge_baseline(structure_json: str) -> str:
    structure = protocol.structure_from_dict(json.loads(structure_json))
    if isinstance(structure, protocol.Rejection) or structure.has_speeches:
        return ""
    return "oracle" if structure.judge_reads_passage else "blind"
