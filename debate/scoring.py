"""Scoring rules for judges and debaters, as pure functions.

The paper scores a judge with a log score and a per-turn penalty,
``S_j = constant + coefficient * log_base(p_correct) - per_turn_penalty * t`` with base 2,
coefficient 1, constant 0 and penalty 0.05, where ``t`` is the number of times the judge chose to
continue. The spherical and quadratic (Brier) rules are offered for other designs; both are proper,
so a judge maximises its expected score by reporting what it believes.
A debater's score is ``log2`` of the judge's final probability on its answer.

A judgment *favours* an answer when it puts more than half its probability there, so a judge is
*correct* when it favours the correct answer (a 50/50 judgment is not), and an expert *wins* when
the judge favours its answer: `favours` and `judge_correct` are that rule, the one place it lives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class ScoringKind(StrEnum):
    LOG = "log"
    SPHERICAL = "spherical"
    QUADRATIC = "quadratic"


@dataclass(frozen=True)
class ScoringRule:
    kind: ScoringKind = ScoringKind.LOG
    log_base: float = 2.0
    coefficient: float = 1.0
    constant: float = 0.0
    per_turn_penalty: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringRule:
        """Build from stored parameters; unknown keys are an error, missing ones take defaults."""
        unknown = set(data) - {"kind", "log_base", "coefficient", "constant", "per_turn_penalty"}
        if unknown:
            raise ValueError(f"unknown scoring parameters: {', '.join(sorted(unknown))}")
        values = {**asdict(cls()), **data}
        rule = cls(
            kind=ScoringKind(values["kind"]),
            log_base=float(values["log_base"]),
            coefficient=float(values["coefficient"]),
            constant=float(values["constant"]),
            per_turn_penalty=float(values["per_turn_penalty"]),
        )
        numbers = (rule.log_base, rule.coefficient, rule.constant, rule.per_turn_penalty)
        if not all(math.isfinite(n) for n in numbers):
            raise ValueError("scoring parameters must be finite numbers")
        if rule.kind is ScoringKind.LOG and rule.log_base <= 1:
            raise ValueError("log_base must be greater than 1")
        if rule.coefficient <= 0:
            raise ValueError("coefficient must be positive, or the rule rewards wrong reports")
        return rule


PAPER_RULE = ScoringRule()


def favours(probabilities: Sequence[float], position: int) -> bool:
    """Whether the judgment puts more than half its probability on answer ``position``."""
    return probabilities[position] > 0.5


def judge_correct(probabilities: Sequence[float], correct_index: int) -> bool:
    """Whether the judgment favours the correct answer (a 50/50 judgment is not correct)."""
    return favours(probabilities, correct_index)


def judge_score(
    rule: ScoringRule, probabilities: Sequence[float], correct_index: int, continues: int
) -> float:
    """The judge's score if ``correct_index`` is the correct answer, after ``continues`` turns."""
    return _outcome_score(rule, probabilities, correct_index) - rule.per_turn_penalty * continues


def scores_by_outcome(
    rule: ScoringRule, probabilities: Sequence[float], continues: int
) -> list[float]:
    """The judge's score under each possible correct answer (what the judge's chart shows)."""
    return [judge_score(rule, probabilities, i, continues) for i in range(len(probabilities))]


def expected_score(rule: ScoringRule, probabilities: Sequence[float], continues: int) -> float:
    """The judge's expected score under its own probabilities (0 * -inf counts as 0)."""
    return sum(
        p * score
        for p, score in zip(
            probabilities, scores_by_outcome(rule, probabilities, continues), strict=True
        )
        if p > 0
    )


def debater_score(probabilities: Sequence[float], own_index: int, base: float = 2.0) -> float:
    """``log_base`` of the judge's final probability on the debater's answer."""
    return _log(probabilities[own_index], base)


def _outcome_score(rule: ScoringRule, probabilities: Sequence[float], correct: int) -> float:
    p = probabilities[correct]
    if rule.kind is ScoringKind.LOG:
        raw = _log(p, rule.log_base)
    elif rule.kind is ScoringKind.SPHERICAL:
        norm = math.sqrt(sum(q * q for q in probabilities))
        raw = p / norm if norm else 0.0
    else:
        raw = 2 * p - sum(q * q for q in probabilities)
    return rule.constant + rule.coefficient * raw


def _log(p: float, base: float) -> float:
    return math.log(p, base) if p > 0 else -math.inf
