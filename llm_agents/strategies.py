"""Agent strategies: how an agent plays its seat, set on the agent (`Agent.strategy`, JSON) and
validated here. Every strategy plays through the ordinary AI turn (llm_agents/services.py): it
only changes which provider calls the turn makes and how their replies become the move.

    {"kind": "plain"}                                   one call, as always (the default)
    {"kind": "best_of_n", "n": 4, "preference_model": "gpt-judge"}   debaters and consultants
    {"kind": "critique_refine", "critic_model": null}   debaters and consultants
    {"kind": "majority_vote", "k": 5}                   judges
    {"kind": "logprob_judge"}                           judges
    {"kind": "position_swap"}                           judges

A model named by a strategy (`preference_model`, `critic_model`) is an agent's name or a
`provider:model` spec; unset, the agent's own model. A strategy for the other kind of seat (a
judge's strategy on a debater's seat, a speaker's on a judge's, or any on a vote) plays plain.

The command line's short form is `kind` or `kind:number` (`best_of_n:4`, `majority_vote:3`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Plain(_Strategy):
    kind: Literal["plain"] = "plain"


class BestOfN(_Strategy):
    """N candidate speeches, each fitted to the rules, each scored by a preference judge (P that
    the judge, seeing what the real judge sees plus the candidate, picks the speaker's answer);
    the best is sent."""

    kind: Literal["best_of_n"] = "best_of_n"
    n: int = Field(default=4, ge=2, le=16)
    preference_model: str | None = Field(default=None, min_length=1, max_length=200)


class CritiqueRefine(_Strategy):
    """A draft, a critic's critique of it (the critic reads the story and the draft), and a
    refinement; a refinement the rules would refuse falls back to the draft."""

    kind: Literal["critique_refine"] = "critique_refine"
    critic_model: str | None = Field(default=None, min_length=1, max_length=200)


class MajorityVote(_Strategy):
    """k samples of the judge's reply: probabilities averaged, the decision by majority (a tie
    continues)."""

    kind: Literal["majority_vote"] = "majority_vote"
    k: int = Field(default=5, ge=2, le=15)


class LogprobJudge(_Strategy):
    """The judge's reply as usual (its decision and note), then a one-letter answer whose top
    log-probabilities give the probabilities; the reply's own probabilities when the provider
    returns none."""

    kind: Literal["logprob_judge"] = "logprob_judge"


class PositionSwap(_Strategy):
    """The judge asked twice, the second time with the answers' order (and the debaters' labels)
    swapped; the probabilities recorded are the average, mapped back."""

    kind: Literal["position_swap"] = "position_swap"


Strategy = Annotated[
    Plain | BestOfN | CritiqueRefine | MajorityVote | LogprobJudge | PositionSwap,
    Field(discriminator="kind"),
]
SPEAKER_KINDS = frozenset({"best_of_n", "critique_refine"})
JUDGE_KINDS = frozenset({"majority_vote", "logprob_judge", "position_swap"})
_COUNTED = {"best_of_n": "n", "majority_vote": "k"}  # the short form's number

_adapter: TypeAdapter[Strategy] = TypeAdapter(Strategy)


def strategy_default() -> dict[str, Any]:
    return {"kind": "plain"}


class StrategyInvalid(ValueError):
    """A strategy's settings that do not validate, with a message saying what to fix."""


def strategy_parse(value: Any) -> Strategy:
    """The strategy that JSON settings (a dict, or None/{} for plain) describe."""
    if value in (None, {}, ""):
        return Plain()
    try:
        return _adapter.validate_python(value)
    except ValidationError as error:
        raise StrategyInvalid(_explained(error)) from None


def strategy_from_cli(text: str) -> Strategy:
    """A command line's strategy: JSON (`{"kind": "best_of_n", "n": 4}`) or the short form
    `kind[:number]`."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise StrategyInvalid(f"Not valid JSON ({error}): {text!r}.") from None
        return strategy_parse(value)
    kind, sep, number = text.partition(":")
    short: dict[str, Any] = {"kind": kind}
    if sep:
        if kind not in _COUNTED:
            raise StrategyInvalid(f"The strategy {kind!r} takes no number (got {text!r}).")
        if not number.isdigit():
            raise StrategyInvalid(f"Write the number as digits, e.g. {kind}:4 (got {text!r}).")
        short[_COUNTED[kind]] = int(number)
    return strategy_parse(short)


def strategy_label(strategy: Strategy) -> str:
    """A short name for it, e.g. `best_of_n:4` (agents' names, the call log)."""
    counted = _COUNTED.get(strategy.kind)
    label = f"{strategy.kind}:{getattr(strategy, counted)}" if counted else strategy.kind
    other = getattr(strategy, "preference_model", None) or getattr(strategy, "critic_model", None)
    return f"{label}@{other}" if other else label


def strategy_check_seat(strategy: Strategy, seat_kind: Literal["speaker", "judge"]) -> None:
    """Raise StrategyInvalid when ``strategy`` is not one for that kind of seat."""
    allowed = SPEAKER_KINDS if seat_kind == "speaker" else JUDGE_KINDS
    if strategy.kind != "plain" and strategy.kind not in allowed:
        shown = ", ".join(sorted(allowed | {"plain"}))
        raise StrategyInvalid(
            f"{strategy.kind!r} is not a strategy for a {seat_kind}'s seat: use one of {shown}."
        )


def _explained(error: ValidationError) -> str:
    kinds = "plain, best_of_n, critique_refine, majority_vote, logprob_judge, position_swap"
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(p) for p in problem["loc"][1:] or problem["loc"])
        if problem["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            parts.append(f'Give "kind" as one of {kinds}.')
        else:
            parts.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    return "Invalid strategy: " + " ".join(parts)
