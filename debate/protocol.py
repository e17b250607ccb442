"""The rules of a debate or consultancy, as pure functions over plain values.

This module is the one place that says how a session proceeds: its round structure, whose turn it
is, which moves are legal, what state a move leads to, when the session is over, and whether a
speech keeps to its limits. It has no Django imports; the services replay the stored moves through
it before they save anything, so the database can never hold a state these rules do not allow.

A structure is written as the NYU platform writes its rules: an opening list of rounds, a
repeating list played until the session ends, and an optional closing list that is played after
the repeating list has run a capped number of cycles (a judge must then end). Four round kinds:

- ``judge``: the judge reports probabilities (and optional text) and chooses to continue or end;
- ``simultaneous``: every speaking seat submits a speech; none sees the others' before its own;
- ``sequential``: the speaking seats speak one after another in seat order;
- ``negotiate_end``: every speaking seat votes, none seeing the others' vote before its own, on
  ending the session; when all vote to end, it ends *by agreement*, otherwise it goes on.

A structure with no judge round is a *judgeless* session: it has no live judge seat, ends by
agreement or when its capped structure runs out, and is judged offline afterwards.

Limits may be None, meaning unlimited (the NYU rules' `quoteLimit: null`); a rule set may also cap
the passage characters each seat quotes over the whole session (`global_quote_limit`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeGuard

from debate.quotes import (
    STORY_RUN_CHARS,
    Quote,
    Segment,
    quoted_char_count,
    rendered_length,
    span_union_length,
    story_runs,
)
from debate.text_checks import text_problem

LETTERS = "ABCDEFGH"  # shown answers are named by letter, in the order a session shows them

# The smallest probability a judgment may give an answer is not a protocol rule: a judge may say 0,
# and the log score is then minus infinity. Interfaces may clamp; the core only checks the sum.
PROBABILITY_SUM_TOLERANCE = 1e-6
JUDGE_NOTE_CHARS = 750  # the paper's limit on a judge's note, also an offline judge's
# Limits on what a person keeps or writes beside the moves, one place for services and templates.
SCRATCHPAD_CHARS = 20_000  # a seat's private notes
DRAFT_CHARS = 20_000  # far above any speech limit: a long draft is cut down before it is sent
SURVEY_TEXT_CHARS = 5_000  # one free-text survey answer
TEXT_LIMITS: Mapping[str, int] = {
    "judge_note": JUDGE_NOTE_CHARS,
    "scratchpad": SCRATCHPAD_CHARS,
    "draft": DRAFT_CHARS,
    "survey_text": SURVEY_TEXT_CHARS,
}


class Protocol(StrEnum):
    DEBATE = "debate"
    CONSULTANCY = "consultancy"


class Role(StrEnum):
    JUDGE = "judge"
    DEBATER_A = "debater_a"
    DEBATER_B = "debater_b"
    CONSULTANT = "consultant"
    OFFLINE_JUDGE = "offline_judge"


# The role groups and their names in words, each defined here once. Experts have read the story
# and argue (the debaters and the consultant); judges judge, live or offline.
EXPERT_ROLES: tuple[Role, ...] = (Role.DEBATER_A, Role.DEBATER_B, Role.CONSULTANT)
JUDGE_ROLES: tuple[Role, ...] = (Role.JUDGE, Role.OFFLINE_JUDGE)
ROLE_LABELS: Mapping[str, str] = {
    Role.JUDGE: "judge",
    Role.OFFLINE_JUDGE: "offline judge",
    Role.DEBATER_A: "debater A",
    Role.DEBATER_B: "debater B",
    Role.CONSULTANT: "consultant",
}


class RoundKind(StrEnum):
    JUDGE = "judge"
    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"
    NEGOTIATE_END = "negotiate_end"


SPEECH_ROUND_KINDS = frozenset({RoundKind.SIMULTANEOUS, RoundKind.SEQUENTIAL})


class MoveKind(StrEnum):
    SPEECH = "speech"
    JUDGMENT = "judgment"
    VOTE = "vote"  # a speaking seat's vote in a negotiate-end round; ``end`` is the vote
    # Open consultancy and open debate: the expert's choice of the answer it argues, made once,
    # before the first round (the position itself is the service's to store).
    CHOICE = "choice"


class EndReason(StrEnum):
    """How a session ended."""

    JUDGE = "judge"  # the judge gave a final judgment
    AGREEMENT = "agreement"  # every speaking seat voted to end in a negotiate-end round
    RULES = "rules"  # a capped structure ran out of rounds (the NYU platform's "time up")


END_REASON_LABELS: Mapping[EndReason, str] = {
    EndReason.JUDGE: "ended by the judge",
    EndReason.AGREEMENT: "ended by agreement",
    EndReason.RULES: "ended when its rounds ran out",
}


SPEAKING_ROLES: Mapping[Protocol, tuple[Role, ...]] = {
    Protocol.DEBATE: (Role.DEBATER_A, Role.DEBATER_B),
    Protocol.CONSULTANCY: (Role.CONSULTANT,),
}
"""Who speaks in a speech round, in speaking order, for each protocol."""

LIVE_ROLES: Mapping[Protocol, tuple[Role, ...]] = {
    protocol: (Role.JUDGE, *speakers) for protocol, speakers in SPEAKING_ROLES.items()
}
"""The seats a live session of each protocol must have (when its rules have judge rounds)."""


def choosers(protocol: Protocol) -> tuple[Role, ...]:
    """Who chooses the answer argued under open rules: the consultant, or debater A (debater B
    then argues the other answer; one choice, so two choices can never clash)."""
    return SPEAKING_ROLES[Protocol(protocol)][:1]


def live_roles(protocol: Protocol, structure: Structure) -> tuple[Role, ...]:
    """The seats a session must have: the speakers, and the judge unless the rules are judgeless;
    only the judge when the rules have no speech round (the blind judge's baseline)."""
    if not structure.has_speeches:
        return (Role.JUDGE,)
    if structure.has_judge:
        return LIVE_ROLES[Protocol(protocol)]
    return SPEAKING_ROLES[Protocol(protocol)]


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundSpec:
    """One step of a structure, with the limits that apply to the text written in it (None:
    unlimited)."""

    kind: RoundKind
    char_limit: int | None
    quote_limit: int | None = 0  # speech rounds only: passage characters a speech may quote
    # Speech and negotiate-end rounds: only the seats assigned an answer speak or vote (the NYU
    # rules' `assignedDebatersOnly`). Every speaking seat of a session here argues an answer, so
    # both values play alike; the flag is kept so that rules read from NYU files are written back.
    assigned_only: bool = False

    @property
    def is_speech_round(self) -> bool:
        return self.kind in SPEECH_ROUND_KINDS


@dataclass(frozen=True)
class Closing:
    """Rounds forced after ``max_repeat_cycles`` cycles of the repeating list; then it ends."""

    max_repeat_cycles: int
    rounds: tuple[RoundSpec, ...]


@dataclass(frozen=True)
class Structure:
    opening: tuple[RoundSpec, ...]
    repeating: tuple[RoundSpec, ...]
    closing: Closing | None = None
    global_quote_limit: int | None = None  # passage characters a seat may quote in all its speeches
    allow_empty_speeches: bool = False  # the NYU platform let a speaker pass with an empty speech
    # Seconds a person has for each turn, counted from when it became due; None: no limit. An
    # overdue turn is flagged to staff and in the notification, never moved automatically.
    turn_time_limit_s: int | None = None
    # Story text a speech may show outside certified quotes: a run of this many letters and
    # digits copied (or nearly copied) from the story is refused; None: not checked.
    story_run_limit: int | None = STORY_RUN_CHARS
    # The judge may end once it has heard this many speech rounds (the paper: 1), and must on
    # the last round of a capped structure whatever it has heard.
    min_speech_rounds_before_end: int = 1
    # Off (None) in the paper. When set, a judgment whose probability on some answer moved by
    # more than this (a fraction: 0.2 is 20 points) from the judge's previous live judgment
    # cannot end the session: the judge hears one more speech round first.
    end_blocked_after_swing: float | None = None
    # The oracle judge's baseline (Khan et al. 2024): the live judge reads the story too.
    judge_reads_passage: bool = False
    # Open consultancy and open debate (Kenton et al. 2024; Arnesen et al. 2024): the expert
    # (`choosers`) chooses the answer it argues, after reading the story, before round 1.
    open_choice: bool = False

    @property
    def rounds(self) -> tuple[RoundSpec, ...]:
        """Every distinct round spec of the structure."""
        return (*self.opening, *self.repeating, *(self.closing.rounds if self.closing else ()))

    @property
    def has_votes(self) -> bool:
        """Whether the speakers vote on ending (negotiate-end rounds) somewhere in the rules."""
        return any(spec.kind is RoundKind.NEGOTIATE_END for spec in self.rounds)

    @property
    def has_judge(self) -> bool:
        """False for judgeless rules: no live judge seat, judged offline afterwards."""
        return any(spec.kind is RoundKind.JUDGE for spec in self.rounds)

    @property
    def has_speeches(self) -> bool:
        """False for the blind (or oracle) judge's baseline: a judge round and nothing else."""
        return any(spec.is_speech_round for spec in self.rounds)

    def round_at(self, index: int) -> RoundSpec | None:
        """The spec of round ``index`` (0-based), or None past the end of a capped structure."""
        if index < 0:
            return None
        if index < len(self.opening):
            return self.opening[index]
        index -= len(self.opening)
        if not self.repeating:
            return self._closing_round(index)
        if self.closing is None:
            return self.repeating[index % len(self.repeating)]
        repeated = self.closing.max_repeat_cycles * len(self.repeating)
        if index < repeated:
            return self.repeating[index % len(self.repeating)]
        return self._closing_round(index - repeated)

    def length(self) -> int | None:
        """The number of rounds if the judge never ends early; None when unbounded."""
        if self.closing is None:
            return len(self.opening) if not self.repeating else None
        return (
            len(self.opening)
            + self.closing.max_repeat_cycles * len(self.repeating)
            + len(self.closing.rounds)
        )

    def _closing_round(self, index: int) -> RoundSpec | None:
        rounds = self.closing.rounds if self.closing else ()
        return rounds[index] if 0 <= index < len(rounds) else None


def debate_structure(
    *, speech_chars: int = 750, speech_quote_chars: int = 250, judge_chars: int = JUDGE_NOTE_CHARS
) -> Structure:
    """The paper's debate: prior, simultaneous openings, then sequential A-B rounds with a judge
    turn after each, until the judge ends."""
    judge = RoundSpec(RoundKind.JUDGE, judge_chars)
    return Structure(
        opening=(
            judge,
            RoundSpec(RoundKind.SIMULTANEOUS, speech_chars, speech_quote_chars),
            judge,
        ),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, speech_chars, speech_quote_chars), judge),
    )


def consultancy_structure(
    *, speech_chars: int = 1500, speech_quote_chars: int = 500, judge_chars: int = JUDGE_NOTE_CHARS
) -> Structure:
    """The paper's consultancy: prior, then consultant speech and judge turn, until the end."""
    judge = RoundSpec(RoundKind.JUDGE, judge_chars)
    return Structure(
        opening=(judge,),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, speech_chars, speech_quote_chars), judge),
    )


def judgeless_debate_structure(
    *, speech_chars: int = 750, speech_quote_chars: int = 250
) -> Structure:
    """A debate with no live judge, as the NYU platform ran them: simultaneous openings, then
    sequential A-B rounds, each speech round followed by a vote on ending; it ends when both
    debaters vote to end, and is judged offline afterwards."""
    vote = RoundSpec(RoundKind.NEGOTIATE_END, None, None)
    return Structure(
        opening=(RoundSpec(RoundKind.SIMULTANEOUS, speech_chars, speech_quote_chars), vote),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, speech_chars, speech_quote_chars), vote),
    )


def judge_only_structure(
    *, judge_chars: int = JUDGE_NOTE_CHARS, reads_passage: bool = False
) -> Structure:
    """The baselines of Khan et al. (2024): one judge round and nothing else, so the judge's first
    judgment is final. Blind: the judge has the question and the answers only; oracle
    (``reads_passage``): it reads the story as well."""
    return Structure(
        opening=(RoundSpec(RoundKind.JUDGE, judge_chars),),
        repeating=(),
        judge_reads_passage=reads_passage,
    )


def open_structure(protocol: Protocol) -> Structure:
    """Open consultancy or open debate: the paper's rules, the expert choosing its answer first."""
    return replace(default_structure(protocol), open_choice=True)


def default_structure(protocol: Protocol) -> Structure:
    if Protocol(protocol) is Protocol.DEBATE:
        return debate_structure()
    return consultancy_structure()


# --------------------------------------------------------------------------------------------------
# Rejections: the clear error values every check returns instead of raising
# --------------------------------------------------------------------------------------------------


class RejectionCode(StrEnum):
    SESSION_FINISHED = "session_finished"
    NOT_YOUR_TURN = "not_your_turn"
    WRONG_MOVE = "wrong_move"
    CANNOT_END_YET = "cannot_end_yet"
    MUST_END = "must_end"
    OVER_CHAR_LIMIT = "over_char_limit"
    OVER_QUOTE_LIMIT = "over_quote_limit"
    OVER_GLOBAL_QUOTE_LIMIT = "over_global_quote_limit"
    EMPTY_SPEECH = "empty_speech"
    STORY_OUTSIDE_QUOTES = "story_outside_quotes"  # story text shown as plain text
    BAD_TEXT = "bad_text"  # a character no text may hold (debate/text_checks.py)
    JUDGE_CONFLICT = "judge_conflict"  # the person may not judge this story (debate/selectors.py)
    BAD_PROBABILITIES = "bad_probabilities"
    BAD_QUOTE = "bad_quote"
    BAD_RULES = "bad_rules"


@dataclass(frozen=True)
class Rejection:
    """Why a move or a value was refused, in words a participant can act on."""

    code: RejectionCode
    message: str
    limit: int | None = None
    actual: int | None = None

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------------
# Moves and state
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    role: Role
    kind: MoveKind
    end: bool = False  # judgments: the judge chose to end; votes: the seat votes to end
    # Judgments: the probabilities given, one per shown answer, for the rule on large swings;
    # None when not known (a move built without them is not checked for a swing).
    probabilities: tuple[float, ...] | None = None


@dataclass(frozen=True)
class State:
    """Where a live session stands, derived from its structure and the moves so far."""

    protocol: Protocol
    structure: Structure
    round_index: int = 0
    submitted: frozenset[Role] = frozenset()
    finished: bool = False
    judge_continues: int = 0
    speech_rounds_completed: int = 0
    end_votes: frozenset[Role] = frozenset()  # negotiate-end round: who has voted to end so far
    ended_by: EndReason | None = None
    moves: int = field(default=0, compare=False)
    # The judge's latest live judgment's probabilities (None before it, or if not known), and
    # the speech rounds it must have heard before it may end after a swing in a judgment it
    # continued with (end_blocked_after_swing).
    judge_probabilities: tuple[float, ...] | None = None
    speech_rounds_owed: int = 0
    chosen: bool = False  # open rules: the expert has chosen the answer it argues

    @property
    def choice_pending(self) -> bool:
        """Open rules: the expert has still to choose; no round is played before it does."""
        return (
            self.structure.open_choice
            and self.structure.has_speeches
            and not self.chosen
            and not self.finished
        )

    @property
    def round(self) -> RoundSpec | None:
        """The round being played; None once finished, and while the expert's choice is due."""
        if self.finished or self.choice_pending:
            return None
        return self.structure.round_at(self.round_index)

    @property
    def round_key(self) -> str:
        """The round now being played as a key for background turns: its index, or ``choice``
        while the expert's choice is due (so that turn is never taken for round 0's)."""
        return "choice" if self.choice_pending else str(self.round_index)

    @property
    def speakers(self) -> tuple[Role, ...]:
        return SPEAKING_ROLES[self.protocol]

    @property
    def due(self) -> frozenset[Role]:
        """The seats that may move now; empty once finished."""
        if self.choice_pending:
            return frozenset(choosers(self.protocol))
        spec = self.round
        if spec is None:
            return frozenset()
        if spec.kind is RoundKind.JUDGE:
            return frozenset({Role.JUDGE})
        pending = [role for role in self.speakers if role not in self.submitted]
        if spec.kind is RoundKind.SEQUENTIAL:
            return frozenset(pending[:1])
        return frozenset(pending)  # simultaneous speeches, and votes

    @property
    def judge_may_end(self) -> bool:
        """The judge may end once it has heard the rules' minimum of speech rounds (the paper:
        one), and one more after a judgment that swung; and must at the end. Whether the
        judgment it gives now swings too is for `check_move`, which sees its probabilities."""
        return self.speech_rounds_to_end == 0 or self.judge_must_end

    @property
    def speech_rounds_to_end(self) -> int:
        """The speech rounds the judge must still hear before it may end (the rules' minimum, or
        one more after a swing), not counting the last round of a capped structure."""
        needed = max(self.structure.min_speech_rounds_before_end, self.speech_rounds_owed)
        return max(0, needed - self.speech_rounds_completed)

    @property
    def judge_must_end(self) -> bool:
        """On the last round of a capped structure, the judge's judgment is final."""
        total = self.structure.length()
        return total is not None and self.round_index == total - 1

    @property
    def turn_key(self) -> str:
        """A stable key for the move now due, used to make background turns idempotent."""
        return f"{self.round_index}:{'+'.join(sorted(self.due))}"


@dataclass(frozen=True)
class LegalMove:
    role: Role
    kind: MoveKind
    may_continue: bool = False
    may_end: bool = False


def initial_state(protocol: Protocol, structure: Structure) -> State:
    state = State(protocol=Protocol(protocol), structure=structure)
    if structure.round_at(0) is None:
        return replace(state, finished=True, ended_by=EndReason.RULES)
    return state


def legal_moves(state: State) -> list[LegalMove]:
    """Every move some seat may make now, with the judge's choice of continue and end."""
    if state.choice_pending:
        return [LegalMove(role, MoveKind.CHOICE) for role in sorted(state.due)]
    spec = state.round
    if spec is None:
        return []
    if spec.kind is RoundKind.JUDGE:
        must_end = state.judge_must_end
        return [
            LegalMove(
                Role.JUDGE,
                MoveKind.JUDGMENT,
                may_continue=not must_end,
                may_end=state.judge_may_end,
            )
        ]
    if spec.kind is RoundKind.NEGOTIATE_END:  # a seat may vote either way
        return [
            LegalMove(role, MoveKind.VOTE, may_continue=True, may_end=True)
            for role in sorted(state.due)
        ]
    return [LegalMove(role, MoveKind.SPEECH) for role in sorted(state.due)]


def expected_move(spec: RoundSpec) -> MoveKind:
    """The kind of move a round takes."""
    if spec.kind is RoundKind.JUDGE:
        return MoveKind.JUDGMENT
    if spec.kind is RoundKind.NEGOTIATE_END:
        return MoveKind.VOTE
    return MoveKind.SPEECH


def check_move(state: State, move: Move) -> Rejection | None:
    """None when ``move`` is legal in ``state``; otherwise why not."""
    if state.finished:
        return Rejection(RejectionCode.SESSION_FINISHED, "This session is over; no more moves.")
    if move.role not in state.due:
        return Rejection(RejectionCode.NOT_YOUR_TURN, "It is not your turn.")
    if state.choice_pending or move.kind is MoveKind.CHOICE:
        return _check_choice(state, move)
    if state.round is None:  # only a finished state has no round, refused above
        return Rejection(RejectionCode.SESSION_FINISHED, "This session is over; no more moves.")
    expected = expected_move(state.round)
    if move.kind is not expected:
        return Rejection(
            RejectionCode.WRONG_MOVE, f"This round expects a {expected.value}, not a {move.kind}."
        )
    if move.kind is MoveKind.JUDGMENT:
        if move.end and not state.judge_may_end:
            return _cannot_end_yet(state)
        if move.end and not state.judge_must_end:
            swing = judgment_swing(state, move)
            if swing is not None:
                return swing
        if not move.end and state.judge_must_end:
            return Rejection(
                RejectionCode.MUST_END, "This is the last round: your judgment must be final."
            )
    return None


def _check_choice(state: State, move: Move) -> Rejection | None:
    """Open rules: the expert's choice (by a seat now due) comes first, once, and is the only
    move until it is made."""
    if move.kind is not MoveKind.CHOICE:
        return Rejection(
            RejectionCode.WRONG_MOVE, "First choose the answer you will argue, then speak."
        )
    if not state.structure.open_choice:
        return Rejection(
            RejectionCode.WRONG_MOVE, "These rules assign the answers: there is none to choose."
        )
    if not state.choice_pending:
        return Rejection(RejectionCode.WRONG_MOVE, "The answer you argue is chosen already.")
    return None


def judgment_swing(state: State, move: Move) -> Rejection | None:
    """Under the rule on large swings, why a judgment with ``move``'s probabilities may not end
    the session: the largest change on one answer since the judge's previous live judgment is
    above the rules' limit. None when the rule is off or nothing to compare is known."""
    limit = state.structure.end_blocked_after_swing
    before, now = state.judge_probabilities, move.probabilities
    if limit is None or before is None or now is None or len(before) != len(now):
        return None
    moved = [abs(b - a) for a, b in zip(before, now, strict=True)]
    largest = max(moved, default=0.0)
    if largest <= limit + PROBABILITY_SUM_TOLERANCE:
        return None
    answer = LETTERS[moved.index(largest)] if moved.index(largest) < len(LETTERS) else "?"
    return Rejection(
        RejectionCode.CANNOT_END_YET,
        f"Your probability on {answer} moved by {largest * 100:.0f} points since your last "
        f"judgment, more than the {limit * 100:g} the rules allow when ending: continue and hear "
        "one more round of speeches, then you may end.",
    )


def _cannot_end_yet(state: State) -> Rejection:
    """Why the judge may not end yet, naming the rule that holds it: the minimum of speech rounds
    (and how many are left), or the round owed after a swing."""
    heard = state.speech_rounds_completed
    minimum = state.structure.min_speech_rounds_before_end
    left = max(0, minimum - heard)
    if left >= state.speech_rounds_owed - heard:
        needed = "one round" if minimum == 1 else f"{minimum} rounds"
        return Rejection(
            RejectionCode.CANNOT_END_YET,
            f"You can end the session only after hearing at least {needed} of speeches; "
            f"{left} more to go.",
            limit=minimum,
            actual=heard,
        )
    return Rejection(
        RejectionCode.CANNOT_END_YET,
        "Your last judgment moved by more than the rules allow when ending: hear one more round "
        "of speeches, then you may end.",
        limit=state.speech_rounds_owed,
        actual=heard,
    )


def apply_move(state: State, move: Move) -> State | Rejection:
    """The state after ``move``, or the rejection if it is not legal."""
    rejection = check_move(state, move)
    if rejection is not None:
        return rejection
    if move.kind is MoveKind.CHOICE:
        return replace(state, chosen=True, moves=state.moves + 1)
    submitted = state.submitted | {move.role}
    state = replace(state, submitted=submitted, moves=state.moves + 1)
    if move.kind is MoveKind.JUDGMENT:
        swung = judgment_swing(state, move) is not None
        state = replace(state, judge_probabilities=move.probabilities)
        if move.end:
            return replace(state, finished=True, ended_by=EndReason.JUDGE)
        if swung:  # continuing after a swing: it may end only after one more speech round
            state = replace(state, speech_rounds_owed=state.speech_rounds_completed + 1)
        state = replace(state, judge_continues=state.judge_continues + 1)
        return _next_round(state)
    if move.kind is MoveKind.VOTE:
        votes = state.end_votes | {move.role} if move.end else state.end_votes
        state = replace(state, end_votes=votes)
        if not all(role in submitted for role in state.speakers):
            return state
        if all(role in votes for role in state.speakers):
            return replace(state, finished=True, ended_by=EndReason.AGREEMENT)
        return _next_round(state)
    if all(role in submitted for role in state.speakers):
        state = replace(state, speech_rounds_completed=state.speech_rounds_completed + 1)
        return _next_round(state)
    return state


def replay(protocol: Protocol, structure: Structure, moves: Iterable[Move]) -> State | Rejection:
    """Fold stored moves into a state; a rejection means the history itself is illegal."""
    state = initial_state(protocol, structure)
    for move in moves:
        result = apply_move(state, move)
        if isinstance(result, Rejection):
            return result
        state = result
    return state


def _next_round(state: State) -> State:
    index = state.round_index + 1
    finished = state.structure.round_at(index) is None
    return replace(
        state,
        round_index=index,
        submitted=frozenset(),
        end_votes=frozenset(),
        finished=finished,
        ended_by=EndReason.RULES if finished else None,
    )


# --------------------------------------------------------------------------------------------------
# Offline judging: where an offline judge judges a finished session
# --------------------------------------------------------------------------------------------------


class OfflineMode(StrEnum):
    STEPPED = "stepped"  # round by round, a judgment at each point
    TIMED = "timed"  # the whole transcript at once, one judgment


@dataclass(frozen=True)
class PlayedRound:
    """What offline judging needs to know of a played round."""

    index: int
    kind: RoundKind
    spoken: bool  # a speech round with at least one speech
    judged: bool  # a judge round with the live judge's judgment


@dataclass(frozen=True)
class OfflinePoint:
    """Where an offline judgment is given: after reading the rounds below ``visible_below``,
    stored against round ``round_index``, its note limited as ``spec`` says."""

    visible_below: int
    round_index: int
    spec: RoundSpec


OFFLINE_NOTE_SPEC = RoundSpec(RoundKind.JUDGE, JUDGE_NOTE_CHARS)


def offline_points(
    rounds: Sequence[PlayedRound], structure: Structure, mode: OfflineMode | str
) -> list[OfflinePoint]:
    """The points at which an offline judge judges a finished session. Timed: once, after the
    whole transcript. Stepped, with a live judge: beside each live judge round that has a live
    judgment, having heard what the live judge had heard (its note limited as that round's).
    Stepped, judgeless: once before any speech and once after each speech round."""
    if not rounds:
        return []
    spoken = [r for r in rounds if r.spoken]
    if OfflineMode(mode or OfflineMode.STEPPED) is OfflineMode.TIMED:
        last = spoken[-1].index if spoken else rounds[-1].index
        return [OfflinePoint(rounds[-1].index + 1, last, OFFLINE_NOTE_SPEC)]
    if structure.has_judge:
        return [
            OfflinePoint(r.index, r.index, structure.round_at(r.index) or OFFLINE_NOTE_SPEC)
            for r in rounds
            if r.kind is RoundKind.JUDGE and r.judged
        ]
    first = spoken[0].index if spoken else rounds[0].index
    return [OfflinePoint(first, rounds[0].index, OFFLINE_NOTE_SPEC)] + [
        OfflinePoint(r.index + 1, r.index, OFFLINE_NOTE_SPEC) for r in spoken
    ]


@dataclass(frozen=True)
class OfflineStep:
    """Where an offline judge stands: ``judged`` judgments given, its next one (if any) at
    ``point``."""

    judged: int
    ended: bool
    point: OfflinePoint | None
    may_end: bool
    must_end: bool


def offline_step(
    points: Sequence[OfflinePoint], rounds: Sequence[PlayedRound], judgments_ends: Sequence[bool]
) -> OfflineStep:
    """The offline judge's progress through its points, from whether each of its judgments so
    far ended its judging. It may end once it has read a round of speeches, and must at the
    last point."""
    ended = any(judgments_ends)
    k = len(judgments_ends)
    point = points[k] if not ended and k < len(points) else None
    heard = point is not None and any(r.spoken and r.index < point.visible_below for r in rounds)
    return OfflineStep(
        judged=k,
        ended=ended,
        point=point,
        may_end=heard,
        must_end=point is not None and k == len(points) - 1,
    )


def check_offline_judgment(step: OfflineStep, *, end: bool) -> Rejection | None:
    """None when an offline judge may give this judgment now; otherwise why not."""
    if step.ended or step.point is None:
        return Rejection(RejectionCode.SESSION_FINISHED, "Your offline judging is over.")
    if end and not step.may_end:
        return Rejection(
            RejectionCode.CANNOT_END_YET,
            "You can end only after reading at least one round of speeches.",
        )
    if not end and step.must_end:
        return Rejection(
            RejectionCode.MUST_END, "This is the last round: your judgment must be final."
        )
    return None


# --------------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------------


def check_speech_limits(
    segments: Sequence[Segment], spec: RoundSpec, *, allow_empty: bool = False
) -> list[Rejection]:
    """Every limit a speech breaks: characters as rendered (quote text included), passage
    characters quoted, each counted once however often it is quoted, and (unless the rules allow
    empty speeches) a speech with nothing in it but spaces."""
    problems = []
    if not allow_empty and not any(s.text.strip() for s in segments):
        problems.append(
            Rejection(
                RejectionCode.EMPTY_SPEECH,
                "Your speech is empty: write your argument, or quote the story, before you "
                "submit it.",
            )
        )
    length = rendered_length(segments)
    if spec.char_limit is not None and length > spec.char_limit:
        problems.append(
            Rejection(
                RejectionCode.OVER_CHAR_LIMIT,
                f"The speech has {length} characters; the limit is {spec.char_limit}.",
                limit=spec.char_limit,
                actual=length,
            )
        )
    quoted = quoted_char_count(segments)
    if spec.quote_limit is not None and quoted > spec.quote_limit:
        problems.append(
            Rejection(
                RejectionCode.OVER_QUOTE_LIMIT,
                f"The speech quotes {quoted} characters of the story; "
                f"the limit is {spec.quote_limit}.",
                limit=spec.quote_limit,
                actual=quoted,
            )
        )
    return problems


def check_story_outside_quotes(
    segments: Sequence[Segment], passage: str, limit: int | None
) -> list[Rejection]:
    """The judge sees the story only through certified quotes: plain text (and a quote that
    does not match the story) may not carry a run of ``limit`` or more story characters, copied
    or nearly copied. Each run found is named so the speaker can quote it instead."""
    if limit is None:
        return []
    problems = []
    for segment in segments:
        if isinstance(segment, Quote) and segment.verified:
            continue
        for run in story_runs(segment.text, passage, limit):
            shown = run.text if len(run.text) <= 120 else run.text[:57] + " … " + run.text[-57:]
            how = "is copied from" if run.exact else "nearly copies"
            problems.append(
                Rejection(
                    RejectionCode.STORY_OUTSIDE_QUOTES,
                    f"Your speech {how} the story outside a quote: “{shown}”. Quote it instead, "
                    "or say it in your own words.",
                    limit=limit,
                    actual=run.length,
                )
            )
    return problems


def turn_deadline(structure: Structure, became_due: datetime | None) -> datetime | None:
    """When a turn that became due at ``became_due`` runs out under the rules' time per turn;
    None when the rules set no limit. Running out changes nothing in the state: an overdue turn
    is flagged to staff, and the seat may still move."""
    if structure.turn_time_limit_s is None or became_due is None:
        return None
    return became_due + timedelta(seconds=structure.turn_time_limit_s)


def check_global_quote_limit(
    segments: Sequence[Segment], earlier: Iterable[tuple[int, int]], structure: Structure
) -> Rejection | None:
    """The rule set's cap on the passage characters one seat quotes over the whole session:
    ``earlier`` are the spans the seat's earlier speeches quoted; each character counts once."""
    limit = structure.global_quote_limit
    if limit is None:
        return None
    spans = [*earlier, *(s.span for s in segments if isinstance(s, Quote) and s.span)]
    total = span_union_length(spans)
    if total <= limit:
        return None
    return Rejection(
        RejectionCode.OVER_GLOBAL_QUOTE_LIMIT,
        f"With this speech you would have quoted {total} characters of the story in this "
        f"session; the limit for the whole session is {limit}.",
        limit=limit,
        actual=total,
    )


def check_speech(
    segments: Sequence[Segment],
    spec: RoundSpec,
    structure: Structure,
    passage: str,
    earlier: Iterable[tuple[int, int]] = (),
) -> list[Rejection]:
    """Every rule a speech of ``spec``'s round breaks under ``structure``: its limits, the
    session's quote cap (``earlier``: the seat's earlier quoted spans) and story text outside
    quotes. The one check for people's and agents' speeches alike."""
    bad = check_text("".join(s.text for s in segments), "Your speech")
    if bad:
        return [bad]
    problems = check_speech_limits(segments, spec, allow_empty=structure.allow_empty_speeches)
    capped = check_global_quote_limit(segments, earlier, structure)
    if capped:
        problems.append(capped)
    return problems + check_story_outside_quotes(segments, passage, structure.story_run_limit)


def check_text(text: str, what: str = "Your text") -> Rejection | None:
    """A character no text may hold (NUL, bidirectional controls): debate/text_checks.py."""
    problem = text_problem(text, what)
    return Rejection(RejectionCode.BAD_TEXT, problem) if problem else None


def check_judge_text(text: str, spec: RoundSpec) -> Rejection | None:
    bad = check_text(text, "Your note")
    if bad:
        return bad
    if spec.char_limit is not None and len(text) > spec.char_limit:
        return Rejection(
            RejectionCode.OVER_CHAR_LIMIT,
            f"Your note has {len(text)} characters; the limit is {spec.char_limit}.",
            limit=spec.char_limit,
            actual=len(text),
        )
    return None


def is_number(value: object) -> TypeGuard[int | float]:
    """A number as the rules read one: an int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_probabilities(probabilities: Sequence[Any], answer_count: int) -> Rejection | None:
    """Probabilities must be one finite number in [0, 1] per answer, summing to 1."""
    if len(probabilities) != answer_count:
        return Rejection(
            RejectionCode.BAD_PROBABILITIES,
            f"Give one probability per answer ({answer_count}), not {len(probabilities)}.",
        )
    for value in probabilities:
        if not is_number(value) or value != value:
            return Rejection(RejectionCode.BAD_PROBABILITIES, "Probabilities must be numbers.")
        if not 0.0 <= value <= 1.0:
            return Rejection(
                RejectionCode.BAD_PROBABILITIES, "Each probability must be between 0% and 100%."
            )
    if abs(sum(probabilities) - 1.0) > PROBABILITY_SUM_TOLERANCE:
        return Rejection(
            RejectionCode.BAD_PROBABILITIES,
            f"Probabilities must sum to 100% (they sum to {sum(probabilities) * 100:.1f}%).",
        )
    return None


# --------------------------------------------------------------------------------------------------
# Serialisation: the shape rules take in the database and in exports
# --------------------------------------------------------------------------------------------------


def structure_to_dict(structure: Structure) -> dict[str, Any]:
    """The stored form; keys at their defaults (no global quote cap, every seat speaking) are
    left out, so rules written before those options existed read back unchanged."""
    data: dict[str, Any] = {
        "opening": [_spec_to_dict(s) for s in structure.opening],
        "repeating": [_spec_to_dict(s) for s in structure.repeating],
        "closing": None
        if structure.closing is None
        else {
            "max_repeat_cycles": structure.closing.max_repeat_cycles,
            "rounds": [_spec_to_dict(s) for s in structure.closing.rounds],
        },
    }
    if structure.global_quote_limit is not None:
        data["global_quote_limit"] = structure.global_quote_limit
    if structure.allow_empty_speeches:
        data["allow_empty_speeches"] = True
    if structure.turn_time_limit_s is not None:
        data["turn_time_limit_s"] = structure.turn_time_limit_s
    if structure.story_run_limit != STORY_RUN_CHARS:
        data["story_run_limit"] = structure.story_run_limit
    if structure.min_speech_rounds_before_end != 1:
        data["min_speech_rounds_before_end"] = structure.min_speech_rounds_before_end
    if structure.end_blocked_after_swing is not None:
        data["end_blocked_after_swing"] = structure.end_blocked_after_swing
    if structure.judge_reads_passage:
        data["judge_reads_passage"] = True
    if structure.open_choice:
        data["open_choice"] = True
    return data


def structure_from_dict(data: Mapping[str, Any]) -> Structure | Rejection:
    """Parse and validate a structure; every problem is a Rejection, never an exception."""
    try:
        opening = tuple(_spec_from_dict(s) for s in data.get("opening") or ())
        repeating = tuple(_spec_from_dict(s) for s in data.get("repeating") or ())
        closing_data = data.get("closing")
        closing = None
        if closing_data is not None:
            cycles = closing_data["max_repeat_cycles"]
            if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 0:
                raise ValueError("closing.max_repeat_cycles must be a whole number >= 0")
            closing = Closing(cycles, tuple(_spec_from_dict(s) for s in closing_data["rounds"]))
        global_limit = _limit(data.get("global_quote_limit"), "global_quote_limit")
        allow_empty = data.get("allow_empty_speeches", False)
        if not isinstance(allow_empty, bool):
            raise ValueError(f"allow_empty_speeches must be true or false, not {allow_empty!r}")
        turn_limit = _limit(data.get("turn_time_limit_s"), "turn_time_limit_s")
        if turn_limit == 0:
            raise ValueError("turn_time_limit_s must be at least 1 second (or absent: no limit)")
        run_limit = _limit(data.get("story_run_limit", STORY_RUN_CHARS), "story_run_limit")
        if run_limit is not None and run_limit < 20:
            raise ValueError(
                "story_run_limit must be at least 20 characters, or null (not checked), not "
                f"{run_limit}"
            )
        min_rounds = _limit(
            data.get("min_speech_rounds_before_end", 1), "min_speech_rounds_before_end"
        )
        if min_rounds is None:
            raise ValueError("min_speech_rounds_before_end must be a whole number >= 0, not null")
        swing = data.get("end_blocked_after_swing")
        if swing is not None and (
            isinstance(swing, bool) or not isinstance(swing, int | float) or not 0 < swing < 1
        ):
            raise ValueError(
                "end_blocked_after_swing must be a probability between 0 and 1 (0.2: 20 "
                f"points), or null (off), not {swing!r}"
            )
        reads_passage = data.get("judge_reads_passage", False)
        if not isinstance(reads_passage, bool):
            raise ValueError(f"judge_reads_passage must be true or false, not {reads_passage!r}")
        open_choice = data.get("open_choice", False)
        if not isinstance(open_choice, bool):
            raise ValueError(f"open_choice must be true or false, not {open_choice!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return Rejection(RejectionCode.BAD_RULES, f"Invalid round structure: {error}")
    structure = Structure(
        opening,
        repeating,
        closing,
        global_limit,
        allow_empty,
        turn_limit,
        run_limit,
        min_speech_rounds_before_end=min_rounds,
        end_blocked_after_swing=None if swing is None else float(swing),
        judge_reads_passage=reads_passage,
        open_choice=open_choice,
    )
    problem = _structure_problem(structure)
    if problem:
        return Rejection(RejectionCode.BAD_RULES, f"Invalid round structure: {problem}")
    return structure


def _structure_problem(structure: Structure) -> str | None:
    if not structure.rounds:
        return "it has no rounds"
    enders = (RoundKind.JUDGE, RoundKind.NEGOTIATE_END)
    if (
        structure.repeating
        and structure.closing is None
        and not any(s.kind in enders for s in structure.repeating)
    ):
        return (
            "the repeating list needs a judge round or a vote on ending, or the session could "
            "never end"
        )
    if structure.repeating and not any(s.is_speech_round for s in structure.repeating):
        # A judge could continue (or debaters vote to go on) forever without anything new said.
        return "the repeating list needs a speech round"
    if structure.open_choice and not structure.has_speeches:
        return "open_choice needs speech rounds: with none, no expert argues an answer"
    length = structure.length()
    if length == 0:
        return "it has no rounds to play"
    if (
        structure.has_judge
        and length is not None
        and (last := structure.round_at(length - 1)) is not None
        and last.kind is not RoundKind.JUDGE
    ):
        return "a capped structure with a judge must end with a judge round"
    return None


def _spec_to_dict(spec: RoundSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": spec.kind.value}
    if spec.kind is not RoundKind.NEGOTIATE_END:
        data["char_limit"] = spec.char_limit
    if spec.is_speech_round:
        data["quote_limit"] = spec.quote_limit
    if spec.assigned_only:
        data["assigned_only"] = True
    return data


def _spec_from_dict(data: Mapping[str, Any]) -> RoundSpec:
    kind = RoundKind(data["kind"])
    assigned_only = data.get("assigned_only", False)
    if not isinstance(assigned_only, bool):
        raise ValueError(f"assigned_only must be true or false, not {assigned_only!r}")
    if kind is RoundKind.NEGOTIATE_END:
        return RoundSpec(kind, None, None, assigned_only)
    char_limit = _limit(data["char_limit"], "char_limit")
    quote_limit = _limit(data.get("quote_limit", 0), "quote_limit")
    if kind is RoundKind.JUDGE:
        quote_limit = 0
    return RoundSpec(kind, char_limit, quote_limit, assigned_only)


def _limit(value: Any, name: str) -> int | None:
    """A limit: a whole number >= 0, or None (null) for no limit."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0 or null (no limit), not {value!r}")
    return value
