"""The rules of a debate or consultancy, as pure functions over plain values.

This module is the one place that says how a session proceeds: its round structure, whose turn it
is, which moves are legal, what state a move leads to, when the session is over, and whether a
speech keeps to its limits. It has no Django imports; the services replay the stored moves through
it before they save anything, so the database can never hold a state these rules do not allow.

A structure is an opening list of rounds, a repeating list played until the judge ends the
session, and an optional closing list that is played after the repeating list has run a capped
number of cycles (the judge must then end). Three round kinds exist:

- ``judge``: the judge reports probabilities (and optional text) and chooses to continue or end;
- ``simultaneous``: every speaking seat submits a speech; none sees the others' before its own;
- ``sequential``: the speaking seats speak one after another in seat order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from debate.quotes import Segment, quoted_char_count, rendered_length

# The smallest probability a judgment may give an answer is not a protocol rule: a judge may say 0,
# and the log score is then minus infinity. Interfaces may clamp; the core only checks the sum.
PROBABILITY_SUM_TOLERANCE = 1e-6


class Protocol(StrEnum):
    DEBATE = "debate"
    CONSULTANCY = "consultancy"


class Role(StrEnum):
    JUDGE = "judge"
    DEBATER_A = "debater_a"
    DEBATER_B = "debater_b"
    CONSULTANT = "consultant"
    OFFLINE_JUDGE = "offline_judge"


class RoundKind(StrEnum):
    JUDGE = "judge"
    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"


class MoveKind(StrEnum):
    SPEECH = "speech"
    JUDGMENT = "judgment"


SPEAKING_ROLES: Mapping[Protocol, tuple[Role, ...]] = {
    Protocol.DEBATE: (Role.DEBATER_A, Role.DEBATER_B),
    Protocol.CONSULTANCY: (Role.CONSULTANT,),
}
"""Who speaks in a speech round, in speaking order, for each protocol."""

LIVE_ROLES: Mapping[Protocol, tuple[Role, ...]] = {
    protocol: (Role.JUDGE, *speakers) for protocol, speakers in SPEAKING_ROLES.items()
}
"""The seats a live session of each protocol must have."""


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundSpec:
    """One step of a structure, with the limits that apply to the text written in it."""

    kind: RoundKind
    char_limit: int
    quote_limit: int = 0  # speech rounds only: passage characters a speech may quote

    @property
    def is_speech_round(self) -> bool:
        return self.kind is not RoundKind.JUDGE


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
    *, speech_chars: int = 750, speech_quote_chars: int = 250, judge_chars: int = 750
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
    *, speech_chars: int = 1500, speech_quote_chars: int = 500, judge_chars: int = 750
) -> Structure:
    """The paper's consultancy: prior, then consultant speech and judge turn, until the end."""
    judge = RoundSpec(RoundKind.JUDGE, judge_chars)
    return Structure(
        opening=(judge,),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, speech_chars, speech_quote_chars), judge),
    )


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
    end: bool = False  # judgments only: the judge chose to end the session


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
    moves: int = field(default=0, compare=False)

    @property
    def round(self) -> RoundSpec | None:
        return None if self.finished else self.structure.round_at(self.round_index)

    @property
    def speakers(self) -> tuple[Role, ...]:
        return SPEAKING_ROLES[self.protocol]

    @property
    def due(self) -> frozenset[Role]:
        """The seats that may move now; empty once finished."""
        spec = self.round
        if spec is None:
            return frozenset()
        if spec.kind is RoundKind.JUDGE:
            return frozenset({Role.JUDGE})
        pending = [role for role in self.speakers if role not in self.submitted]
        if spec.kind is RoundKind.SIMULTANEOUS:
            return frozenset(pending)
        return frozenset(pending[:1])

    @property
    def judge_may_end(self) -> bool:
        """The judge may end once it has heard at least one speech round, and must at the end."""
        return self.speech_rounds_completed > 0 or self.judge_must_end

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
        return replace(state, finished=True)
    return state


def legal_moves(state: State) -> list[LegalMove]:
    """Every move some seat may make now, with the judge's choice of continue and end."""
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
    return [LegalMove(role, MoveKind.SPEECH) for role in sorted(state.due)]


def check_move(state: State, move: Move) -> Rejection | None:
    """None when ``move`` is legal in ``state``; otherwise why not."""
    if state.finished:
        return Rejection(RejectionCode.SESSION_FINISHED, "This session is over; no more moves.")
    if move.role not in state.due:
        return Rejection(RejectionCode.NOT_YOUR_TURN, "It is not your turn.")
    expected = MoveKind.JUDGMENT if state.round.kind is RoundKind.JUDGE else MoveKind.SPEECH
    if move.kind is not expected:
        return Rejection(
            RejectionCode.WRONG_MOVE, f"This round expects a {expected.value}, not a {move.kind}."
        )
    if move.kind is MoveKind.JUDGMENT:
        if move.end and not state.judge_may_end:
            return Rejection(
                RejectionCode.CANNOT_END_YET,
                "You can end the session only after hearing at least one round of speeches.",
            )
        if not move.end and state.judge_must_end:
            return Rejection(
                RejectionCode.MUST_END, "This is the last round: your judgment must be final."
            )
    return None


def apply_move(state: State, move: Move) -> State | Rejection:
    """The state after ``move``, or the rejection if it is not legal."""
    rejection = check_move(state, move)
    if rejection is not None:
        return rejection
    submitted = state.submitted | {move.role}
    state = replace(state, submitted=submitted, moves=state.moves + 1)
    if move.kind is MoveKind.JUDGMENT:
        if move.end:
            return replace(state, finished=True)
        state = replace(state, judge_continues=state.judge_continues + 1)
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
    return replace(state, round_index=index, submitted=frozenset(), finished=finished)


# --------------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------------


def check_speech_limits(segments: Sequence[Segment], spec: RoundSpec) -> list[Rejection]:
    """Every limit a speech breaks: characters as rendered (quote text included), and passage
    characters quoted, each counted once however often it is quoted."""
    problems = []
    length = rendered_length(segments)
    if length > spec.char_limit:
        problems.append(
            Rejection(
                RejectionCode.OVER_CHAR_LIMIT,
                f"The speech has {length} characters; the limit is {spec.char_limit}.",
                limit=spec.char_limit,
                actual=length,
            )
        )
    quoted = quoted_char_count(segments)
    if quoted > spec.quote_limit:
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


def check_judge_text(text: str, spec: RoundSpec) -> Rejection | None:
    if len(text) > spec.char_limit:
        return Rejection(
            RejectionCode.OVER_CHAR_LIMIT,
            f"Your note has {len(text)} characters; the limit is {spec.char_limit}.",
            limit=spec.char_limit,
            actual=len(text),
        )
    return None


def check_probabilities(probabilities: Sequence[Any], answer_count: int) -> Rejection | None:
    """Probabilities must be one finite number in [0, 1] per answer, summing to 1."""
    if len(probabilities) != answer_count:
        return Rejection(
            RejectionCode.BAD_PROBABILITIES,
            f"Give one probability per answer ({answer_count}), not {len(probabilities)}.",
        )
    for value in probabilities:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
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
    return {
        "opening": [_spec_to_dict(s) for s in structure.opening],
        "repeating": [_spec_to_dict(s) for s in structure.repeating],
        "closing": None
        if structure.closing is None
        else {
            "max_repeat_cycles": structure.closing.max_repeat_cycles,
            "rounds": [_spec_to_dict(s) for s in structure.closing.rounds],
        },
    }


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
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return Rejection(RejectionCode.BAD_RULES, f"Invalid round structure: {error}")
    structure = Structure(opening, repeating, closing)
    problem = _structure_problem(structure)
    if problem:
        return Rejection(RejectionCode.BAD_RULES, f"Invalid round structure: {problem}")
    return structure


def _structure_problem(structure: Structure) -> str | None:
    rounds = [*structure.opening, *structure.repeating]
    if structure.closing:
        rounds += structure.closing.rounds
    if not rounds:
        return "it has no rounds"
    if structure.repeating and not any(s.kind is RoundKind.JUDGE for s in structure.repeating):
        return "the repeating list needs a judge round, or the session could never end"
    if structure.repeating and all(s.kind is RoundKind.JUDGE for s in structure.repeating):
        # A judge could continue forever without hearing anything new.
        return "the repeating list needs a speech round"
    length = structure.length()
    if length == 0:
        return "it has no rounds to play"
    if length is not None and structure.round_at(length - 1).kind is not RoundKind.JUDGE:
        return "a capped structure must end with a judge round"
    return None


def _spec_to_dict(spec: RoundSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": spec.kind.value, "char_limit": spec.char_limit}
    if spec.is_speech_round:
        data["quote_limit"] = spec.quote_limit
    return data


def _spec_from_dict(data: Mapping[str, Any]) -> RoundSpec:
    kind = RoundKind(data["kind"])
    char_limit = data["char_limit"]
    quote_limit = data.get("quote_limit", 0)
    for name, value in (("char_limit", char_limit), ("quote_limit", quote_limit)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    if kind is RoundKind.JUDGE:
        quote_limit = 0
    return RoundSpec(kind, char_limit, quote_limit)
