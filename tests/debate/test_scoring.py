"""Tests of the scoring rules for judges and debaters (pure, no Django)."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debate.scoring import (
    PAPER_RULE,
    ScoringKind,
    ScoringRule,
    debater_score,
    expected_score,
    judge_score,
    scores_by_outcome,
)

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

LOG2_08 = -0.32192809488736235  # log2(0.8) = 2 - log2(5)
LOG2_02 = -2.321928094887362  # log2(0.2) = -log2(5)


# ==================================================================================================
# The paper's rule
# ==================================================================================================


class TestPaperRule:
    def test_parameters(self):
        paper = ScoringRule(
            kind=ScoringKind.LOG,
            log_base=2.0,
            coefficient=1.0,
            constant=0.0,
            per_turn_penalty=0.05,
        )
        assert paper == PAPER_RULE
        assert ScoringRule() == PAPER_RULE

    @pytest.mark.parametrize(
        "probabilities, correct, continues, expected",
        [
            ([0.8, 0.2], 0, 2, LOG2_08 - 0.1),  # log2(0.8) - 0.05 * 2 = -0.4219...
            ([0.8, 0.2], 1, 2, LOG2_02 - 0.1),  # log2(0.2) - 0.05 * 2 = -2.4219...
            ([0.5, 0.5], 0, 0, -1.0),
            ([0.25, 0.75], 0, 3, -2.15),  # -2 - 0.15
            ([1.0, 0.0], 0, 10, -0.5),  # log2(1) = 0
            ([0.125, 0.875], 0, 1, -3.05),
        ],
    )
    def test_judge_score(self, probabilities, correct, continues, expected):
        assert judge_score(PAPER_RULE, probabilities, correct, continues) == pytest.approx(
            expected, abs=1e-12
        )

    def test_hand_computed_value(self):
        assert judge_score(PAPER_RULE, [0.8, 0.2], 0, 2) == pytest.approx(-0.42192809488736235)

    @pytest.mark.parametrize("continues", [0, 1, 7])
    def test_zero_probability_on_the_correct_answer_scores_minus_infinity(self, continues):
        assert judge_score(PAPER_RULE, [0.0, 1.0], 0, continues) == -math.inf

    def test_each_continue_costs_the_penalty(self):
        scores = [judge_score(PAPER_RULE, [0.6, 0.4], 0, t) for t in range(5)]

        for before, after in itertools.pairwise(scores):
            assert before - after == pytest.approx(0.05)

    def test_scores_by_outcome(self):
        assert scores_by_outcome(PAPER_RULE, [0.8, 0.2], 2) == pytest.approx(
            [LOG2_08 - 0.1, LOG2_02 - 0.1]
        )
        assert scores_by_outcome(PAPER_RULE, [1.0, 0.0], 0) == [0.0, -math.inf]

    def test_expected_score_is_minus_the_entropy_in_bits_minus_penalty(self):
        # 0.8 * log2(0.8) + 0.2 * log2(0.2) = -0.7219...
        assert expected_score(PAPER_RULE, [0.8, 0.2], 0) == pytest.approx(-0.7219280948873623)
        assert expected_score(PAPER_RULE, [0.5, 0.5], 3) == pytest.approx(-1.15)
        assert expected_score(PAPER_RULE, [0.25, 0.25, 0.5], 0) == pytest.approx(-1.5)

    def test_expected_score_counts_zero_times_minus_infinity_as_zero(self):
        assert expected_score(PAPER_RULE, [1.0, 0.0], 0) == 0.0
        assert expected_score(PAPER_RULE, [0.0, 1.0], 4) == pytest.approx(-0.2)
        assert not math.isnan(expected_score(PAPER_RULE, [0.0, 0.5, 0.5], 0))


class TestOtherRules:
    def test_log_rule_with_other_parameters(self):
        rule = ScoringRule(
            kind=ScoringKind.LOG,
            log_base=math.e,
            coefficient=2.0,
            constant=1.0,
            per_turn_penalty=0.1,
        )
        # 1 + 2 * ln(0.5) - 0.1 * 3
        assert judge_score(rule, [0.5, 0.5], 1, 3) == pytest.approx(-0.6862943611198906)

    def test_log_base_ten(self):
        rule = ScoringRule(log_base=10, per_turn_penalty=0)

        assert judge_score(rule, [0.01, 0.99], 0, 5) == pytest.approx(-2.0)

    @pytest.mark.parametrize(
        "probabilities, correct, expected",
        [
            ([0.75, 0.25], 0, 3 / math.sqrt(10)),  # 0.75 / sqrt(0.625)
            ([0.75, 0.25], 1, 1 / math.sqrt(10)),  # 0.25 / sqrt(0.625)
            ([0.5, 0.5, 0.0], 0, math.sqrt(0.5)),  # 0.5 / sqrt(0.5)
            ([0.5, 0.5, 0.0], 2, 0.0),
            ([1.0, 0.0], 0, 1.0),
            ([0.0, 0.0], 0, 0.0),  # a zero vector scores 0 instead of dividing by zero
        ],
    )
    def test_spherical(self, probabilities, correct, expected):
        rule = ScoringRule(kind=ScoringKind.SPHERICAL, per_turn_penalty=0.0)

        assert judge_score(rule, probabilities, correct, 9) == pytest.approx(expected, abs=1e-12)

    @pytest.mark.parametrize(
        "probabilities, correct, expected",
        [
            ([0.75, 0.25], 0, 0.875),  # 2 * 0.75 - (0.5625 + 0.0625)
            ([0.75, 0.25], 1, -0.125),  # 2 * 0.25 - 0.625
            ([1.0, 0.0], 0, 1.0),
            ([1.0, 0.0], 1, -1.0),
            ([1 / 3, 1 / 3, 1 / 3], 2, 1 / 3),  # 2/3 - 1/3
        ],
    )
    def test_quadratic(self, probabilities, correct, expected):
        rule = ScoringRule(kind=ScoringKind.QUADRATIC, per_turn_penalty=0.0)

        assert judge_score(rule, probabilities, correct, 4) == pytest.approx(expected, abs=1e-12)

    def test_constant_coefficient_and_penalty_apply_to_every_kind(self):
        quadratic = ScoringRule(
            kind=ScoringKind.QUADRATIC, coefficient=2.0, constant=10.0, per_turn_penalty=0.5
        )
        spherical = ScoringRule(
            kind=ScoringKind.SPHERICAL, coefficient=-1.0, constant=1.0, per_turn_penalty=0.25
        )

        assert judge_score(quadratic, [0.75, 0.25], 0, 2) == pytest.approx(10 + 1.75 - 1.0)
        assert judge_score(spherical, [0.75, 0.25], 1, 4) == pytest.approx(
            1 - 1 / math.sqrt(10) - 1.0
        )

    def test_neither_spherical_nor_quadratic_gives_minus_infinity(self):
        for kind in (ScoringKind.SPHERICAL, ScoringKind.QUADRATIC):
            rule = ScoringRule(kind=kind)
            assert math.isfinite(judge_score(rule, [0.0, 1.0], 0, 0))


# ==================================================================================================
# Debater score
# ==================================================================================================


class TestDebaterScore:
    def test_log2_of_the_final_probability_on_own_answer(self):
        assert debater_score([0.8, 0.2], 0) == pytest.approx(LOG2_08)
        assert debater_score([0.8, 0.2], 1) == pytest.approx(LOG2_02)
        assert debater_score([0.5, 0.5], 1) == pytest.approx(-1.0)
        assert debater_score([1.0, 0.0], 0) == 0.0

    def test_zero_probability_is_minus_infinity(self):
        assert debater_score([1.0, 0.0], 1) == -math.inf

    def test_other_base(self):
        assert debater_score([0.001, 0.999], 0, base=10) == pytest.approx(-3.0)

    def test_no_turn_penalty(self):
        assert debater_score([0.8, 0.2], 0) == pytest.approx(
            judge_score(PAPER_RULE, [0.8, 0.2], 0, 0)
        )


# ==================================================================================================
# Serialisation
# ==================================================================================================


class TestRuleSerialisation:
    def test_to_dict(self):
        assert PAPER_RULE.to_dict() == {
            "kind": "log",
            "log_base": 2.0,
            "coefficient": 1.0,
            "constant": 0.0,
            "per_turn_penalty": 0.05,
        }

    @pytest.mark.parametrize(
        "rule",
        [
            PAPER_RULE,
            ScoringRule(kind=ScoringKind.SPHERICAL, coefficient=3.0, per_turn_penalty=0.0),
            ScoringRule(kind=ScoringKind.QUADRATIC, constant=-2.5, per_turn_penalty=0.1),
            ScoringRule(log_base=math.e, coefficient=0.5),
        ],
    )
    def test_round_trip(self, rule):
        assert ScoringRule.from_dict(rule.to_dict()) == rule
        assert ScoringRule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule

    def test_missing_keys_take_defaults(self):
        assert ScoringRule.from_dict({}) == PAPER_RULE
        assert ScoringRule.from_dict({"kind": "quadratic"}) == ScoringRule(
            kind=ScoringKind.QUADRATIC
        )
        assert ScoringRule.from_dict({"per_turn_penalty": 0}) == ScoringRule(per_turn_penalty=0.0)

    def test_numbers_are_converted_to_floats(self):
        rule = ScoringRule.from_dict({"log_base": 10, "coefficient": "2"})

        assert rule.log_base == 10.0 and isinstance(rule.log_base, float)
        assert rule.coefficient == 2.0 and isinstance(rule.coefficient, float)

    def test_unknown_keys_are_rejected(self):
        with pytest.raises(ValueError, match="unknown scoring parameters: bonus, extra"):
            ScoringRule.from_dict({"extra": 1, "bonus": 2, "kind": "log"})

    @pytest.mark.parametrize("base", [0, 0.0, -2, -0.5, 0.5, 1, 1.0, "1"])
    def test_bad_log_base_is_rejected(self, base):
        with pytest.raises(ValueError, match="log_base"):
            ScoringRule.from_dict({"kind": "log", "log_base": base})

    @pytest.mark.parametrize("coefficient", [0, -1.0])
    def test_a_coefficient_that_rewards_wrong_reports_is_rejected(self, coefficient):
        with pytest.raises(ValueError, match="coefficient must be positive"):
            ScoringRule.from_dict({"kind": "spherical", "coefficient": coefficient})

    @pytest.mark.parametrize("kind", ["log", "spherical", "quadratic"])
    @pytest.mark.parametrize("key", ["log_base", "coefficient", "constant", "per_turn_penalty"])
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf"])
    def test_non_finite_parameters_are_rejected(self, kind, key, value):
        # A NaN log base used to pass the `base <= 0 or base == 1` check and make every score NaN.
        with pytest.raises(ValueError, match="finite"):
            ScoringRule.from_dict({"kind": kind, key: value})

    def test_log_base_is_not_checked_for_other_kinds(self):
        rule = ScoringRule.from_dict({"kind": "spherical", "log_base": 1})

        assert rule.kind is ScoringKind.SPHERICAL

    @pytest.mark.parametrize(
        "data",
        [{"kind": "brier"}, {"kind": ""}, {"log_base": "two"}, {"coefficient": None}],
    )
    def test_bad_values_are_rejected(self, data):
        with pytest.raises((ValueError, TypeError)):
            ScoringRule.from_dict(data)


# ==================================================================================================
# Properties
# ==================================================================================================


@st.composite
def distributions(draw, size: int):
    weights = draw(st.lists(st.integers(0, 1000), min_size=size, max_size=size))
    if sum(weights) == 0:
        weights[draw(st.integers(0, size - 1))] = 1
    total = sum(weights)
    return [w / total for w in weights]


@st.composite
def true_and_reported(draw):
    size = draw(st.integers(2, 5))
    return draw(distributions(size)), draw(distributions(size))


proper_rules = st.builds(
    ScoringRule,
    kind=st.sampled_from(list(ScoringKind)),
    log_base=st.sampled_from([2.0, math.e, 10.0, 3.5]),
    coefficient=st.floats(0.1, 10),
    constant=st.floats(-100, 100),
    per_turn_penalty=st.floats(0, 1),
)


def expected_under(rule: ScoringRule, truth: list[float], report: list[float], t: int) -> float:
    """The expected score of ``report`` when the answer is drawn from ``truth``."""
    return sum(q * judge_score(rule, report, i, t) for i, q in enumerate(truth) if q > 0)


@given(true_and_reported(), proper_rules, st.integers(0, 10))
@PROPERTY_SETTINGS
def test_property_truthful_report_maximises_expected_score(pair, rule, continues):
    truth, report = pair

    truthful = expected_under(rule, truth, truth, continues)
    other = expected_under(rule, truth, report, continues)

    assert math.isfinite(truthful)
    assert other <= truthful + 1e-9 * max(1.0, abs(truthful))


@given(st.integers(2, 5).flatmap(distributions), proper_rules, st.integers(0, 10))
@PROPERTY_SETTINGS
def test_property_expected_score_is_the_truthful_expectation(probabilities, rule, continues):
    assert expected_score(rule, probabilities, continues) == pytest.approx(
        expected_under(rule, probabilities, probabilities, continues)
    )


@given(st.integers(2, 5).flatmap(distributions), st.integers(0, 20))
@PROPERTY_SETTINGS
def test_property_paper_judge_score_matches_the_formula(probabilities, continues):
    for i, p in enumerate(probabilities):
        expected = math.log2(p) - 0.05 * continues if p > 0 else -math.inf
        assert judge_score(PAPER_RULE, probabilities, i, continues) == pytest.approx(expected)
        assert debater_score(probabilities, i) == pytest.approx(
            math.log2(p) if p > 0 else -math.inf
        )
    assert scores_by_outcome(PAPER_RULE, probabilities, continues) == [
        judge_score(PAPER_RULE, probabilities, i, continues) for i in range(len(probabilities))
    ]


@given(
    st.builds(
        ScoringRule,
        kind=st.sampled_from(list(ScoringKind)),
        log_base=st.floats(1.001, 100),
        coefficient=st.floats(1e-6, 1e6),
        constant=st.floats(-1e6, 1e6),
        per_turn_penalty=st.floats(-10, 10),
    )
)
@PROPERTY_SETTINGS
def test_property_rules_round_trip_through_dicts(rule):
    data = rule.to_dict()

    assert set(data) == {"kind", "log_base", "coefficient", "constant", "per_turn_penalty"}
    assert ScoringRule.from_dict(data) == rule
    assert ScoringRule.from_dict(json.loads(json.dumps(data))) == rule
