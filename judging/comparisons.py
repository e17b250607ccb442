"""Measures beside Table 1: position bias, position-swapped judgings, debater win rates and
debater ratings, and the paper's published Table 1 to compare a batch with. Pure functions over
judgings (`judging/metrics.py`) and session records (`debate/records.py`).

Definitions:

- an answer is *shown first* at position 0 of the session's answer order (`SessionRecord.answers`
  is as shown); a judging *prefers* an answer when its final judgment favours it
  (`debate.scoring.favours`), so a 50/50 judgment prefers none (counted as a tie);
- position bias: the share of judgings preferring the answer shown first among those preferring
  one, with a Wilson interval and an exact two-sided binomial test against 50%. Where the correct
  answer is shown first as often as second, an unbiased judge prefers the first half the time
  whatever its accuracy; where it is not, the share mixes bias and accuracy, so accuracy is also
  given by the position of the correct answer (first, second or later) with a two-proportion
  z-test between the two;
- position-swapped judgings: two judgings by one AI judge (by agent name), in one setting and
  one batch, of one question (story and question text) shown with the answers in opposite
  orders; judgings of one order are paired with those of the other in session order. Per pair,
  the swap-averaged P(correct) is the mean of the two judgings' P(correct), and it is correct
  when it favours the correct answer; the two *disagree* when they prefer different answers (a
  tie is a preference of its own). Where no such pair exists the summary is None, not zero;
- a debater or consultant (an *expert*) *wins* a judging when the judge's final judgment favours
  the expert's answer (`favours`); win rates are per setting and per expert (a human by
  username, an agent by its name), as honest and as dishonest, with Wilson intervals;
- ratings: the leaderboards' model (`judging.leaderboards.standings.fit_ratings`, a
  Bradley-Terry model in which a debate's honest side has a fitted advantage and the judge a
  skill of its own) fitted to *cross-play* only: finished debates with a live final judgment
  between two different debater agents. The winner is the debater whose answer the live judge
  favoured at the end (a 50/50 end counts for the dishonest side, as the judge was not correct).
  Uncertainty: the model refitted on debates drawn with replacement, a fixed seed.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from debate.records import OFFLINE_JUDGE, SessionRecord
from debate.scoring import favours, judge_correct
from judging.leaderboards.standings import RATING_MODEL, Participant, fit_ratings, participant
from judging.metrics import Judging, ProportionTest, two_proportion_test, wilson_interval

BOOTSTRAP_SAMPLES = 200
BOOTSTRAP_SEED = 20230915
# Elo points per unit of log-odds (a 400-point gap is odds of 10 to 1), around 1500.
ELO_SCALE = 400 / math.log(10)
ELO_BASE = 1500.0

# Table 1 of Michael et al. (2023), "Debate Helps Supervise Unreliable Experts"
# (arXiv:2311.08702), as printed: the values tests/judging/test_analysis.py checks the imported
# NYU sessions against (`analyze --included-in-paper --no-offline` reproduces them).
PAPER_SOURCE = "Michael et al. (2023), Debate Helps Supervise Unreliable Experts, Table 1"
PAPER_TABLE_1: dict[str, dict[str, float]] = {
    "human_debate": {
        "n": 154,
        "accuracy": 0.84,
        "rounds_mean": 2.7,
        "rounds_sd": 1.1,
        "quotes_per_round": 362,
        "chars_per_round": 1319,
        "bits_per_round": 0.09,
        "judge_score_mean": -0.89,
        "ece_final": 0.11,
    },
    "human_consultancy": {
        "n": 96,
        "accuracy": 0.74,
        "rounds_mean": 4.0,
        "rounds_sd": 2.4,
        "quotes_per_round": 402,
        "chars_per_round": 1004,
        "bits_per_round": 0.01,
        "judge_score_mean": -1.24,
        "ece_final": 0.17,
    },
    "ai_debate": {
        "n": 87,
        "accuracy": 0.78,
        "rounds_mean": 3.8,
        "rounds_sd": 2.6,
        "quotes_per_round": 127,
        "chars_per_round": 1188,
        "bits_per_round": 0.00,
        "judge_score_mean": -1.20,
        "ece_final": 0.16,
    },
    "ai_consultancy": {
        "n": 76,
        "accuracy": 0.80,
        "rounds_mean": 4.2,
        "rounds_sd": 3.8,
        "quotes_per_round": 169,
        "chars_per_round": 926,
        "bits_per_round": 0.01,
        "judge_score_mean": -1.16,
        "ece_final": 0.17,
    },
}


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n``, with its 95% Wilson interval."""

    k: int
    n: int

    @property
    def share(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def ci(self) -> tuple[float, float] | None:
        return wilson_interval(self.k, self.n) if self.n else None

    def as_dict(self) -> dict[str, Any]:
        ci = self.ci
        return {"k": self.k, "n": self.n, "share": self.share, "ci": list(ci) if ci else None}


# --------------------------------------------------------------------------------------------------
# Position bias
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionBias:
    setting: str
    prefers_first: Proportion  # of the judgings preferring an answer, those preferring the first
    ties: int  # judgings preferring none (50/50)
    first_p_value: float | None  # exact two-sided binomial test of prefers_first against 50%
    correct_first: Proportion  # accuracy when the correct answer was shown first
    correct_later: Proportion  # accuracy when it was shown second (or later)
    between: ProportionTest | None  # z-test of correct_first against correct_later

    @property
    def between_p(self) -> float | None:
        """The z-test's p-value; None without a test or where z is undefined (all right)."""
        return _finite(self.between.p_value) if self.between is not None else None

    def as_dict(self) -> dict[str, Any]:
        test = self.between
        return {
            "prefers_first": self.prefers_first.as_dict(),
            "ties": self.ties,
            "prefers_first_p": self.first_p_value,
            "prefers_first_test": "exact two-sided binomial test against 50% (scipy)",
            "accuracy_correct_first": self.correct_first.as_dict(),
            "accuracy_correct_later": self.correct_later.as_dict(),
            "between": None
            if test is None
            else {"z": _finite(test.z), "p": _finite(test.p_value), "test": Z_TEST},
        }


Z_TEST = "two-sided two-proportion z-test, pooled variance (statsmodels)"


def position_bias(setting: str, items: Sequence[Judging]) -> PositionBias:
    """How often the judgings of ``items`` prefer the answer shown first, and their accuracy by
    the shown position of the correct answer."""
    first = sum(1 for j in items if favours(j.final.probabilities, 0))
    preferring = sum(1 for j in items if _preferred(j) is not None)
    first_shown = [j for j in items if j.record.correct_position == 0]
    later_shown = [j for j in items if j.record.correct_position != 0]
    between = None
    if first_shown and later_shown:
        between = two_proportion_test("first", first_shown, "later", later_shown)
    return PositionBias(
        setting=setting,
        prefers_first=Proportion(first, preferring),
        ties=len(items) - preferring,
        first_p_value=_binomial_p(first, preferring) if preferring else None,
        correct_first=Proportion(sum(j.correct for j in first_shown), len(first_shown)),
        correct_later=Proportion(sum(j.correct for j in later_shown), len(later_shown)),
        between=between,
    )


def position_bias_table(groups: dict[str, list[Judging]]) -> dict[str, PositionBias]:
    return {key: position_bias(key, items) for key, items in groups.items() if items}


# --------------------------------------------------------------------------------------------------
# Position-swapped judgings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwapPair:
    one: Judging
    other: Judging  # the same question, judge and batch, the answers in the opposite order

    @property
    def p_correct(self) -> float:
        """The swap-averaged P(correct): the mean over the two orders."""
        return (self.one.p_correct + self.other.p_correct) / 2

    @property
    def correct(self) -> bool:
        return judge_correct((self.p_correct, 1 - self.p_correct), 0)

    @property
    def disagree(self) -> bool:
        return _preferred(self.one) != _preferred(self.other)


@dataclass(frozen=True)
class SwapSummary:
    setting: str
    pairs: int
    p_correct_mean: float  # mean over pairs of the swap-averaged P(correct)
    accuracy: Proportion  # swap-averaged judgments favouring the correct answer
    single_accuracy: Proportion  # the paired judgings one by one, for comparison
    disagreements: Proportion  # pairs whose two orders prefer different answers

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "p_correct_mean": self.p_correct_mean,
            "accuracy": self.accuracy.as_dict(),
            "single_order_accuracy": self.single_accuracy.as_dict(),
            "disagreement": self.disagreements.as_dict(),
        }


def swap_pairs(items: Iterable[Judging]) -> dict[str, list[SwapPair]]:
    """Per setting, the position-swapped pairs of AI judgings (see the module docstring)."""
    orders: dict[tuple[Any, ...], dict[tuple[str, ...], list[Judging]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for item in items:
        if not item.judge.is_ai or len(item.record.answers) < 2:
            continue
        record = item.record
        key = (
            item.setting,
            record.batch,
            record.passage_id,
            record.question,
            item.judge.holder,
        )
        orders[key][record.answers].append(item)
    found: dict[str, list[SwapPair]] = defaultdict(list)
    for key, by_order in orders.items():
        for order, shown in by_order.items():
            reverse = order[::-1]
            if not order < reverse or reverse not in by_order:
                continue  # each pair of orders once
            one = sorted(shown, key=lambda j: j.record.id)
            other = sorted(by_order[reverse], key=lambda j: j.record.id)
            found[key[0]] += [SwapPair(a, b) for a, b in zip(one, other, strict=False)]
    return dict(found)


def swap_summaries(items: Iterable[Judging]) -> dict[str, SwapSummary] | None:
    """Per setting, the swap aggregate and the disagreement rate; None when no pair exists."""
    pairs = swap_pairs(items)
    if not pairs:
        return None
    return {
        setting: SwapSummary(
            setting=setting,
            pairs=len(found),
            p_correct_mean=statistics.fmean(p.p_correct for p in found),
            accuracy=Proportion(sum(p.correct for p in found), len(found)),
            single_accuracy=Proportion(
                sum(p.one.correct + p.other.correct for p in found), 2 * len(found)
            ),
            disagreements=Proportion(sum(p.disagree for p in found), len(found)),
        )
        for setting, found in sorted(pairs.items())
    }


# --------------------------------------------------------------------------------------------------
# Debater win rates
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinRate:
    setting: str
    expert: Participant
    honest: Proportion  # judgings won as the honest expert
    dishonest: Proportion  # judgings won as a dishonest expert

    @property
    def overall(self) -> Proportion:
        return Proportion(self.honest.k + self.dishonest.k, self.honest.n + self.dishonest.n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "expert": self.expert.name,
            "is_ai": self.expert.is_ai,
            "honest": self.honest.as_dict(),
            "dishonest": self.dishonest.as_dict(),
            "overall": self.overall.as_dict(),
        }


def win_rates(groups: dict[str, list[Judging]]) -> list[WinRate]:
    """Per setting (in the order of ``groups``) and expert, the judgings it won as honest and as
    dishonest; most judged first."""
    rows: list[WinRate] = []
    for setting, items in groups.items():
        tally: dict[tuple[bool, str], list[int]] = {}
        for item in items:
            for seat in item.record.experts:
                position = seat.answer_position
                if position is None or seat.honest is None:
                    continue
                counts = tally.setdefault(participant(seat).key, [0, 0, 0, 0])
                won = favours(item.final.probabilities, position)
                offset = 0 if seat.honest else 2
                counts[offset] += won
                counts[offset + 1] += 1
        found = [
            WinRate(
                setting, Participant(name, is_ai), Proportion(c[0], c[1]), Proportion(c[2], c[3])
            )
            for (is_ai, name), c in tally.items()
        ]
        rows += sorted(
            found, key=lambda w: (-w.overall.n, w.expert.name.casefold(), w.expert.is_ai)
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Debater ratings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebaterRating:
    debater: Participant
    debates: int
    wins: int
    rating: float  # log-odds
    sd: float | None  # over the bootstrap fits
    ci: tuple[float, float] | None  # the bootstrap's 2.5 and 97.5 percentiles

    @property
    def elo(self) -> float:
        return ELO_BASE + ELO_SCALE * self.rating

    def as_dict(self) -> dict[str, Any]:
        return {
            "debater": self.debater.name,
            "is_ai": self.debater.is_ai,
            "debates": self.debates,
            "wins": self.wins,
            "rating": self.rating,
            "elo": self.elo,
            "sd": self.sd,
            "ci": list(self.ci) if self.ci else None,
        }


@dataclass(frozen=True)
class Ratings:
    debates: int
    samples: int
    seed: int
    ratings: tuple[DebaterRating, ...]  # best first
    model: str = RATING_MODEL

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": "cross-play debates between two different debater agents, live judge only",
            "uncertainty": f"bootstrap over debates, {self.samples} samples, seed {self.seed}",
            "debates": self.debates,
            "ratings": [r.as_dict() for r in self.ratings],
        }


def cross_play_debates(records: Iterable[SessionRecord]) -> list[SessionRecord]:
    """Finished debates whose live judge ended them, between two different debater agents (each
    arguing a shown answer, one honest), without their offline judgings."""
    found = []
    for record in records:
        final = record.final_judgment
        if record.status != "finished" or record.protocol != "debate" or final is None:
            continue
        experts = record.experts
        if len(experts) != 2 or not all(s.is_ai for s in experts):
            continue
        if experts[0].holder == experts[1].holder:
            continue
        if any(s.answer_position is None or s.honest is None for s in experts):
            continue
        seats = tuple(s for s in record.seats if s.role != OFFLINE_JUDGE)
        found.append(replace(record, seats=seats))
    return found


def debater_ratings(
    records: Iterable[SessionRecord],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Ratings | None:
    """Ratings of debater agents from their cross-play; None with fewer than two agents."""
    debates = cross_play_debates(records)
    tally: dict[tuple[bool, str], list[int]] = defaultdict(lambda: [0, 0])
    for record in debates:
        final = record.final_judgment
        assert final is not None  # cross_play_debates keeps only those
        for seat in record.experts:
            position = seat.answer_position
            assert position is not None
            counts = tally[participant(seat).key]
            counts[0] += favours(final.probabilities, position)
            counts[1] += 1
    if len(tally) < 2:
        return None
    _, point = fit_ratings(debates)
    draws: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    rng = random.Random(seed)
    for _ in range(samples):
        _, fitted = fit_ratings(rng.choices(debates, k=len(debates)))
        for key, value in fitted.items():
            draws[key].append(value)
    ratings = []
    for key, (wins, n) in tally.items():
        values = draws.get(key, [])
        is_ai, name = key
        ratings.append(
            DebaterRating(
                debater=Participant(name, is_ai),
                debates=n,
                wins=wins,
                rating=point.get(key, 0.0),
                sd=statistics.stdev(values) if len(values) > 1 else None,
                ci=_percentiles(values) if len(values) > 1 else None,
            )
        )
    ratings.sort(key=lambda r: (-r.rating, r.debater.name.casefold()))
    return Ratings(debates=len(debates), samples=samples, seed=seed, ratings=tuple(ratings))


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _preferred(item: Judging) -> str | None:
    """The answer (as text) the final judgment favours; None for none (a tie)."""
    probabilities = item.final.probabilities
    answers = item.record.answers
    return next(
        (
            answers[i]
            for i in range(min(len(probabilities), len(answers)))
            if favours(probabilities, i)
        ),
        None,
    )


def _binomial_p(k: int, n: int) -> float:
    from scipy.stats import binomtest

    return float(binomtest(k, n, 0.5).pvalue)


def _percentiles(values: Sequence[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=40, method="inclusive")
    return (cuts[0], cuts[-1])


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
