"""The analysis: does debate help a judge find the truth? Pure functions over session records
(`debate/records.py`), one definition per figure of the paper's Table 1, Figures 3-5 and Table 2.

The unit is a *judging*: one judge's judgments of one finished session. A session gives one live
judging (its live judge) and one per offline judge; offline judgings form settings of their own
(`human_debate_offline`, ...). Definitions:

- correct: the final probability on the correct answer is above 0.5 (a tie is wrong);
- rounds: speech rounds the judge heard before the final judgment;
- chars per round: speech characters (quotes included) over all rounds of the setting, pooled;
- quotes per round: *new* quoted characters, pooled likewise; a character is new unless an
  earlier round of the session revealed it (two speeches of one round do not see each other);
- bits per round: the sum over judgings of log2(p_final / p_first) on the correct answer, over
  the setting's total rounds;
- judge score S_j: the session's scoring rule (the paper's log2(p) - 0.05 t, t = continues);
- ECE: the authors' arithmetic (AnalyzeResults.scala, Michael et al.): confidence is
  max(p, 1 - p) of the stored probability p of the correct answer; its bin floor(10 x confidence)
  on the stored double, no tolerance (1.0 in the last); a final judgment of exactly 50/50 counts
  as half correct (it stays wrong for accuracy); per bin |mean confidence - share correct|,
  weighted by the bin's share of judgments.

For a session on a tokenised story (the NYU imports) characters are counted as the authors
counted them: a quote is the platform's rendering of its token slice, and the new part of a
quote is found on token spans (earlier quotes cut out, what is left of one speech merged) and
each new piece rendered on its own (`nyu_new_quoted_chars`).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from debate import protocol
from debate.quotes import merge_spans
from debate.records import (
    JUDGE,
    JudgmentRecord,
    RoundRecord,
    SeatRecord,
    SessionRecord,
    verified_spans,
    verified_token_spans,
)
from debate.scoring import ScoringRule, judge_correct, judge_score

SETTINGS = ("human_debate", "human_consultancy", "ai_debate", "ai_consultancy")
# Open consultancy and open debate (the expert chose the answer it argues: debate/records.py).
OPEN_SETTINGS = (
    "human_open_debate",
    "human_open_consultancy",
    "ai_open_debate",
    "ai_open_consultancy",
)
# The judge-only baselines (Khan et al. 2024): no speeches; the oracle judge reads the story.
BASELINE_SETTINGS = ("human_blind_judge", "ai_blind_judge", "human_oracle_judge", "ai_oracle_judge")
# Every setting a judging can fall in: the live ones, their offline judgings (stepped or timed),
# and offline judgings of judgeless debates.
ALL_SETTINGS = tuple(
    key
    for base in (*SETTINGS, *OPEN_SETTINGS, *BASELINE_SETTINGS)
    for key in (
        base,
        f"{base}_offline",
        f"{base}_offline_timed",
        *(
            (f"{base}_judgeless_offline", f"{base}_judgeless_offline_timed")
            if "debate" in base
            else ()
        ),
    )
)
_SETTING_WORDS = {
    "human_debate": "Human debate",
    "human_consultancy": "Human consultancy",
    "ai_debate": "AI debate",
    "ai_consultancy": "AI consultancy",
    "human_open_debate": "Human open debate",
    "human_open_consultancy": "Human open consultancy",
    "ai_open_debate": "AI open debate",
    "ai_open_consultancy": "AI open consultancy",
    "human_blind_judge": "Human judge, no speeches (blind)",
    "ai_blind_judge": "AI judge, no speeches (blind)",
    "human_oracle_judge": "Human judge reading the story (oracle)",
    "ai_oracle_judge": "AI judge reading the story (oracle)",
}
_SUFFIX_WORDS = (
    ("_judgeless_offline_timed", "judgeless, judged offline at once (timed)"),
    ("_judgeless_offline", "judgeless, judged offline round by round"),
    ("_judgeless", "judgeless (no live judge)"),
    ("_offline_timed", "judged offline at once (timed)"),
    ("_offline", "judged offline round by round"),
)


def setting_label(key: str) -> str:
    """A setting's key in words: "human_debate_offline" -> "Human debate, judged offline round
    by round"; a split's part (after " · ") is kept as it is."""
    base, dot, rest = key.partition(" · ")
    for suffix, words in _SUFFIX_WORDS:
        if base.endswith(suffix) and base[: -len(suffix)] in _SETTING_WORDS:
            label = f"{_SETTING_WORDS[base[: -len(suffix)]]}, {words}"
            break
    else:
        label = _SETTING_WORDS.get(base, base)
    return f"{label}{dot}{rest}"


CONFIDENT = 0.95
ECE_BINS = 10


@dataclass(frozen=True)
class Judging:
    """One judge's judgments of one finished session."""

    record: SessionRecord
    judge: SeatRecord
    judgments: tuple[JudgmentRecord, ...]  # in round order; the last is final

    # The facts below are read by every figure of every setting: computed once per judging.

    @cached_property
    def live(self) -> bool:
        return self.judge.role == JUDGE

    @cached_property
    def setting(self) -> str:
        """The record's setting (human/ai x debate/consultancy), `_judgeless` for sessions with
        no live judge, then `_offline` for an offline judging (`_offline_timed` when timed)."""
        base = (
            self.record.setting
            if self.record.has_live_judge
            else f"{self.record.setting}_judgeless"
        )
        if self.live:
            return base
        return f"{base}_offline_timed" if self.judge.judging_mode == "timed" else f"{base}_offline"

    @property
    def final(self) -> JudgmentRecord:
        return self.judgments[-1]

    @cached_property
    def p_correct(self) -> float:
        return self.final.probabilities[self.record.correct_position]

    @cached_property
    def correct(self) -> bool:
        return judge_correct(self.final.probabilities, self.record.correct_position)

    @cached_property
    def confidence(self) -> float:
        """max(p, 1 - p) of the final probability on the correct answer, as the authors compute
        it (1 - 0.4000000000000001 is 0.5999999999999999, a bin below 0.6)."""
        return confidence_of(self.p_correct)

    @cached_property
    def calibration_correct(self) -> float:
        """1 right, 0 wrong, 0.5 for an exact tie (calibration only; accuracy counts a tie
        wrong)."""
        return calibration_correct(self.p_correct)

    @cached_property
    def continues(self) -> int:
        return sum(1 for j in self.judgments if not j.end)

    @cached_property
    def rounds(self) -> list[RoundRecord]:
        """The speech rounds heard before the final judgment (a judgment is stored against a
        judge round after what it heard, or, offline without a live judge, against the last
        speech round read)."""
        last = self.final_round_index
        return [r for r in self.record.speech_rounds if r.index <= last]

    @cached_property
    def final_round_index(self) -> int:
        final = self.final
        for r in reversed(self.record.rounds):  # it is one round's, usually among the last
            if any(j is final for j in r.judgments):
                return r.index
        return len(self.record.rounds)

    @cached_property
    def score(self) -> float:
        rule = _scoring_rule(self.record.rules_name, self.record.scoring)
        return judge_score(
            rule, self.final.probabilities, self.record.correct_position, self.continues
        )

    @cached_property
    def honest_expert(self) -> bool | None:
        """In a consultancy: whether the consultant argued the correct answer."""
        experts = self.record.experts
        return experts[0].honest if len(experts) == 1 else None


@dataclass(frozen=True)
class SettingMetrics:
    setting: str
    n: int
    correct: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    rounds_mean: float | None
    rounds_sd: float | None
    quotes_per_round: float | None
    chars_per_round: float | None
    char_limit_per_round: float | None
    bits_per_round: float | None
    judge_score_mean: float | None
    ece_final: float | None
    accuracy_honest: float | None
    n_honest: int
    correct_honest: int
    accuracy_dishonest: float | None
    n_dishonest: int
    correct_dishonest: int
    accuracy_confident: float | None
    n_confident: int
    passage_revealed: float | None
    quotes_repeated: float | None
    judgments: tuple[tuple[float, bool], ...] = field(default=(), repr=False)
    # Open rules: judgings whose expert chose its answer, how often it chose the correct one,
    # and the judge's accuracy when it did and when it did not (None elsewhere).
    n_chose: int = 0
    chose_correct: int = 0
    chose_correct_share: float | None = None
    accuracy_chose_correct: float | None = None
    correct_chose_correct: int = 0
    accuracy_chose_incorrect: float | None = None
    n_chose_incorrect: int = 0
    correct_chose_incorrect: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("judgments", "setting")}
        data["accuracy_ci"] = list(self.accuracy_ci) if self.accuracy_ci else None
        return data


# --------------------------------------------------------------------------------------------------
# Judgings and settings
# --------------------------------------------------------------------------------------------------


def judgings(records: Iterable[SessionRecord], *, offline: bool = True) -> list[Judging]:
    """Every finished judging: each finished session's live judge, and each offline judge who
    gave a final judgment."""
    found = []
    for record in records:
        judges = [s for s in record.seats if s.role == JUDGE]
        if offline:
            judges += record.offline_seats
        for judge in judges:
            own = record.judgments_of(judge.seat_id)
            kind = "live" if judge.role == JUDGE else "offline"
            own = [j for j in own if j.kind == kind]
            if own and own[-1].end and own[-1].probabilities:
                found.append(Judging(record, judge, tuple(own)))
    return found


SPLITS: dict[str, Callable[[Judging], str]] = {
    "agent": lambda j: "+".join(sorted({s.holder for s in j.record.experts if s.is_ai})) or "human",
    "judge": lambda j: j.judge.holder,
    "protocol": lambda j: j.record.rules_name,
    "batch": lambda j: j.record.batch or "-",
}


def by_setting(items: Iterable[Judging], split: str | None = None) -> dict[str, list[Judging]]:
    """Judgings grouped by setting (and by agent, judge, rules or batch when asked), the paper's
    four settings first."""
    groups: dict[str, list[Judging]] = defaultdict(list)
    for item in items:
        key = item.setting if split is None else f"{item.setting} · {SPLITS[split](item)}"
        groups[key].append(item)
    order = {s: i for i, s in enumerate(SETTINGS)}
    return dict(
        sorted(groups.items(), key=lambda kv: (order.get(kv[0].split(" · ")[0], 99), kv[0]))
    )


def setting_metrics(setting: str, items: Sequence[Judging]) -> SettingMetrics:
    n = len(items)
    correct = sum(1 for j in items if j.correct)
    rounds = [len(j.rounds) for j in items]
    total_rounds = sum(rounds)
    chars = quotes = quoted_total = 0
    limits: list[int] = []
    structures: dict[str, protocol.Structure | None] = {}
    revealed_shares: list[float] = []
    for item in items:
        # The story characters revealed by earlier rounds, merged (each speech's new characters
        # are counted against the rounds before its own, not against its own round).
        revealed: list[tuple[int, int]] = []
        revealed_length = 0
        tokens = item.record.passage_tokens
        covered: list[tuple[int, int]] = []  # token spans, for a tokenised story
        for r in item.rounds:
            by_tokens = tokens is not None and _all_tokenised(r)
            this_round: list[tuple[int, int]] = []
            for speech in r.speeches:
                chars += speech.char_count
                spans = verified_spans(speech.quotes) if speech.quotes else None
                if not spans:
                    continue
                # Most speeches quote once: one span is its own merge.
                pieces = (
                    (spans if spans[0][1] > spans[0][0] else [])
                    if len(spans) == 1
                    else merge_spans(spans)
                )
                quoted = sum(end - start for start, end in pieces)
                quoted_total += quoted
                if not by_tokens:
                    quotes += quoted - _overlap(pieces, revealed)
                this_round += spans
            if by_tokens and tokens is not None:
                new, covered = nyu_new_quoted_chars(
                    [verified_token_spans(sp.quotes) for sp in r.speeches],
                    covered,
                    tokens,
                )
                quotes += new
            if this_round:
                revealed = merge_spans([*revealed, *this_round])
                revealed_length = sum(end - start for start, end in revealed)
            limits.append(_round_char_limit(item.record, r, structures))
        if item.record.passage_length:
            revealed_shares.append(revealed_length / item.record.passage_length)
    bits = sum(
        math.log2(j.p_correct / j.judgments[0].probabilities[j.record.correct_position])
        for j in items
        if j.p_correct > 0 and j.judgments[0].probabilities[j.record.correct_position] > 0
    )
    chose_right = [j for j in items if j.record.chose_correct is True]
    chose_wrong = [j for j in items if j.record.chose_correct is False]
    chose = len(chose_right) + len(chose_wrong)
    honest = [j for j in items if j.honest_expert is True]
    dishonest = [j for j in items if j.honest_expert is False]
    confident = [j for j in items if j.confidence >= CONFIDENT]
    scores = [s for s in (j.score for j in items) if math.isfinite(s)]
    return SettingMetrics(
        setting=setting,
        n=n,
        correct=correct,
        accuracy=correct / n if n else None,
        accuracy_ci=wilson_interval(correct, n) if n else None,
        rounds_mean=statistics.mean(rounds) if rounds else None,
        rounds_sd=statistics.stdev(rounds) if len(rounds) > 1 else None,
        quotes_per_round=quotes / total_rounds if total_rounds else None,
        chars_per_round=chars / total_rounds if total_rounds else None,
        char_limit_per_round=statistics.mean(limits) if limits else None,
        bits_per_round=bits / total_rounds if total_rounds else None,
        judge_score_mean=statistics.mean(scores) if scores else None,
        ece_final=ece([(j.confidence, j.calibration_correct) for j in items]) if n else None,
        accuracy_honest=_share(honest),
        n_honest=len(honest),
        correct_honest=sum(1 for j in honest if j.correct),
        accuracy_dishonest=_share(dishonest),
        n_dishonest=len(dishonest),
        correct_dishonest=sum(1 for j in dishonest if j.correct),
        accuracy_confident=_share(confident),
        n_confident=len(confident),
        passage_revealed=statistics.mean(revealed_shares) if revealed_shares else None,
        quotes_repeated=1 - quotes / quoted_total if quoted_total else None,
        judgments=tuple((j.p_correct, j.correct) for j in items),
        n_chose=chose,
        chose_correct=len(chose_right),
        chose_correct_share=len(chose_right) / chose if chose else None,
        accuracy_chose_correct=_share(chose_right),
        correct_chose_correct=sum(1 for j in chose_right if j.correct),
        accuracy_chose_incorrect=_share(chose_wrong),
        n_chose_incorrect=len(chose_wrong),
        correct_chose_incorrect=sum(1 for j in chose_wrong if j.correct),
    )


def analysis_table(
    records: Iterable[SessionRecord], *, split: str | None = None, offline: bool = True
) -> dict[str, SettingMetrics]:
    """Table 1 (and the Figure 4 split) per setting."""
    return {
        key: setting_metrics(key, items)
        for key, items in by_setting(judgings(records, offline=offline), split).items()
    }


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default), as statsmodels computes it."""
    if n <= 0:
        raise ValueError("n must be positive")
    from scipy.stats import norm
    from statsmodels.stats.proportion import proportion_confint  # imported when first needed

    alpha = 2 * (1 - norm.cdf(z))
    low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
    # At 0 and n successes the bound is exactly 0 or 1; rounding must not move it inside.
    return (0.0 if successes == 0 else float(low), 1.0 if successes == n else float(high))


def confidence_of(p_correct: float) -> float:
    return max(p_correct, 1 - p_correct)


def calibration_correct(p_correct: float) -> float:
    return 1.0 if p_correct > 0.5 else 0.0 if p_correct < 0.5 else 0.5


def ece(pairs: Sequence[tuple[float, float]], bins: int = ECE_BINS) -> float:
    """Expected calibration error of (confidence, correctness) pairs (correctness 1, 0, or 0.5
    for a tie)."""
    if not pairs:
        raise ValueError("no judgments")
    return sum(
        len(members) / len(pairs) * abs(_mean_confidence(members) - _share_correct(members))
        for members in _bins(pairs, bins).values()
    )


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


def calibration_curve(
    pairs: Sequence[tuple[float, float]], bins: int = ECE_BINS
) -> list[CalibrationBin]:
    """Per non-empty bin: mean confidence against the share correct (the paper's Figure 5)."""
    return [
        CalibrationBin(
            low=index / bins,
            high=(index + 1) / bins,
            n=len(members),
            mean_confidence=_mean_confidence(members),
            accuracy=_share_correct(members),
        )
        for index, members in sorted(_bins(pairs, bins).items())
    ]


def all_turn_pairs(items: Iterable[Judging]) -> list[tuple[float, float]]:
    """(confidence, correctness) of every judgment at every turn, for calibration curves."""
    pairs = []
    for item in items:
        correct = item.record.correct_position
        for judgment in item.judgments:
            p = judgment.probabilities[correct]
            pairs.append((confidence_of(p), calibration_correct(p)))
    return pairs


def nyu_new_quoted_chars(
    speeches: Sequence[Sequence[tuple[int, int]]],
    covered: Sequence[tuple[int, int]],
    tokens: Sequence[str],
) -> tuple[int, list[tuple[int, int]]]:
    """One round's new quoted characters as the authors count them, and the token spans covered
    after it. Each speech's quote spans, with every span covered by an earlier round cut out, are
    merged where they overlap (within that speech only: two speeches of a round quoting the same
    new span count it twice); each piece counts the length of its own rendering (pieces are
    rendered apart, so the space between two pieces is not counted)."""
    from judging.nyu.tokens import render_text

    new: list[tuple[int, int]] = []
    for spans in speeches:
        pieces: list[tuple[int, int]] = []
        for span in spans:
            parts = [span]
            for other in covered:
                parts = [piece for part in parts for piece in _span_minus(part, other)]
            pieces += parts
        new += _merge_overlapping(pieces)
    amount = sum(len(render_text(tokens[begin:end])) for begin, end in new)
    return amount, _merge_overlapping([*covered, *new])


@dataclass(frozen=True)
class ProportionTest:
    a: str
    b: str
    z: float
    p_value: float
    n_a: int = 0
    correct_a: int = 0
    n_b: int = 0
    correct_b: int = 0


def two_proportion_test(
    a: str, items_a: Sequence[Judging], b: str, items_b: Sequence[Judging]
) -> ProportionTest:
    """Two-sided z-test that two settings' accuracies differ (statsmodels)."""
    from statsmodels.stats.proportion import proportions_ztest

    counts = [sum(j.correct for j in items_a), sum(j.correct for j in items_b)]
    sizes = (len(items_a), counts[0], len(items_b), counts[1])
    if sum(counts) in (0, len(items_a) + len(items_b)):
        return ProportionTest(a, b, math.nan, math.nan, *sizes)  # all right or all wrong
    z, p = proportions_ztest(counts, [len(items_a), len(items_b)])
    return ProportionTest(a, b, float(z), float(p), *sizes)


@dataclass(frozen=True)
class MixedModel:
    """A logit of correctness on setting, with a random intercept per judge."""

    description: str
    coefficients: dict[str, tuple[float, float]]  # name -> (posterior mean, posterior sd)
    judge_sd: float


def mixed_effects_logit(items: Sequence[Judging]) -> MixedModel | None:
    """statsmodels' BinomialBayesMixedGLM, fitted by variational Bayes: correct ~ setting, with
    judge as a random effect. None when there are too few settings or judges to fit it."""
    settings = sorted({j.setting for j in items})
    judges = sorted({j.judge.holder for j in items})
    if len(settings) < 2 or len(judges) < 2 or len(items) < 10:
        return None
    import numpy as np
    import pandas as pd
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    frame = pd.DataFrame(
        {
            "correct": [int(j.correct) for j in items],
            "setting": pd.Categorical([j.setting for j in items], categories=settings),
            "judge": [j.judge.holder for j in items],
        }
    )
    model = BinomialBayesMixedGLM.from_formula(
        "correct ~ C(setting)", {"judge": "0 + C(judge)"}, frame
    )
    fit = model.fit_vb()
    names = model.exog_names
    means = np.asarray(fit.fe_mean)
    sds = np.asarray(fit.fe_sd)
    return MixedModel(
        description=(
            "Bayesian mixed logit (statsmodels BinomialBayesMixedGLM, variational Bayes): "
            f"correct ~ setting, random intercept per judge; baseline {settings[0]}."
        ),
        coefficients={
            name: (float(m), float(s)) for name, m, s in zip(names, means, sds, strict=True)
        },
        judge_sd=float(np.exp(np.asarray(fit.vcp_mean))[0]),
    )


# --------------------------------------------------------------------------------------------------
# Per judge and per error category
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeAccuracy:
    judge: str
    is_ai: bool
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n


def per_judge_accuracy(items: Iterable[Judging]) -> list[JudgeAccuracy]:
    tally: dict[tuple[str, bool], list[bool]] = defaultdict(list)
    for item in items:
        tally[(item.judge.holder, item.judge.is_ai)].append(item.correct)
    return sorted(
        (JudgeAccuracy(name, ai, len(v), sum(v)) for (name, ai), v in tally.items()),
        key=lambda a: (-a.n, a.judge),
    )


def error_category_shares(
    items: Iterable[Judging], categories: Sequence[str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """Per setting, per category: (incorrect judgings tagged with it, incorrect judgings), as
    Table 2. Tags belong to sessions, so only live judgings count."""
    incorrect: dict[str, list[Judging]] = defaultdict(list)
    for item in items:
        if item.live and not item.correct:
            incorrect[item.setting].append(item)
    return {
        setting: {
            name: (sum(1 for j in wrong if name in j.record.error_tags), len(wrong))
            for name in categories
        }
        for setting, wrong in incorrect.items()
    }


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _bins(pairs: Sequence[tuple[float, float]], bins: int) -> dict[int, list[tuple[float, float]]]:
    grouped: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for confidence, correct in pairs:
        # floor on the stored double, as the authors' code: no tolerance, so a 0.7 stored as
        # 0.69999... falls in the bin below, as it did in the paper's figures.
        index = min(math.floor(confidence * bins), bins - 1)
        grouped[max(index, 0)].append((confidence, correct))
    return grouped


def _span_minus(span: tuple[int, int], other: tuple[int, int]) -> list[tuple[int, int]]:
    """What is left of ``span`` with ``other`` cut out: none, one or two pieces."""
    (begin, end), (other_begin, other_end) = span, other
    if begin >= other_end or end <= other_begin:
        return [span]
    if begin < other_begin and end > other_end:
        return [(begin, other_begin), (other_end, end)]
    if begin < other_begin:
        return [(begin, other_begin)]
    if end > other_end:
        return [(other_end, end)]
    return []


def _merge_overlapping(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans merged where they overlap (strictly: touching spans stay apart), as the authors'
    fold does, merging each span with the first kept span it overlaps."""
    kept: list[tuple[int, int]] = []
    for begin, end in spans:
        for i, (b, e) in enumerate(kept):
            if begin < e and b < end:
                kept[i] = (min(b, begin), max(e, end))
                break
        else:
            if (begin, end) not in kept:
                kept.append((begin, end))
    return kept


def _overlap(spans: Sequence[tuple[int, int]], others: Sequence[tuple[int, int]]) -> int:
    """Characters two sets of sorted, disjoint spans (`merge_spans`) have in common: one pass
    over both, so a speech's new characters cost its spans plus the session's revealed ones."""
    common = i = j = 0
    while i < len(spans) and j < len(others):
        (start, end), (other_start, other_end) = spans[i], others[j]
        common += max(0, min(end, other_end) - max(start, other_start))
        if end < other_end:
            i += 1
        else:
            j += 1
    return common


def _all_tokenised(round_: RoundRecord) -> bool:
    return all(q.tokens is not None for sp in round_.speeches for q in sp.quotes if q.verified)


def _mean_confidence(members: Sequence[tuple[float, float]]) -> float:
    return sum(c for c, _ in members) / len(members)


def _share_correct(members: Sequence[tuple[float, float]]) -> float:
    return sum(float(ok) for _, ok in members) / len(members)


def _share(items: Sequence[Judging]) -> float | None:
    return sum(1 for j in items if j.correct) / len(items) if items else None


def _scoring_rule(rules_name: str, scoring: dict[str, Any] | None) -> ScoringRule:
    try:  # a rule's settings are plain values: their items make the key, without JSON
        key = tuple(sorted((scoring or {}).items()))
        return _scoring_by_items(rules_name, key)
    except TypeError:  # something unhashable: its JSON is the key
        return _parsed_scoring(rules_name, json.dumps(scoring or {}, sort_keys=True))


@lru_cache(maxsize=256)
def _scoring_by_items(rules_name: str, items: tuple[tuple[str, Any], ...]) -> ScoringRule:
    return ScoringRule.from_dict(dict(items))


@lru_cache(maxsize=256)
def _parsed_scoring(rules_name: str, scoring_json: str) -> ScoringRule:
    return ScoringRule.from_dict(json.loads(scoring_json))


def _round_char_limit(record: SessionRecord, r: RoundRecord, structures: dict[str, Any]) -> int:
    """The characters a round allowed: its limit for each expert of the session. (Rules are
    parsed once per name and analysis, in ``structures``.)"""
    if record.rules_name not in structures:
        parsed = protocol.structure_from_dict(record.structure or {})
        structures[record.rules_name] = None if isinstance(parsed, protocol.Rejection) else parsed
    structure = structures[record.rules_name]
    spec = structure.round_at(r.index) if structure else None
    return (spec.char_limit if spec else 0) * len(record.experts)
