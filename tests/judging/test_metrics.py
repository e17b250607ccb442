"""The analysis metrics on sessions written by hand: every figure checked against arithmetic done
here, and the invariants checked on many generated cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from judging import metrics
from tests.judging.records import session


def table(*records, **kwargs):
    return metrics.analysis_table(list(records), **kwargs)


def test_accuracy_counts_above_half_on_the_correct_answer_and_a_tie_is_wrong():
    t = table(
        session(judgments=[0.5, 0.9]),
        session(judgments=[0.5, 0.5]),
        session(judgments=[0.5, 0.2]),
        session(judgments=[0.5, 0.2], correct_position=1),
    )["human_debate"]
    assert t.n == 4 and t.accuracy == 0.5
    low, high = t.accuracy_ci
    assert low < 0.5 < high


def test_the_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in ((130, 154), (0, 10), (10, 10), (3, 7)):
        expected = proportion_confint(k, n, method="wilson")
        assert metrics.wilson_interval(k, n) == pytest.approx(expected, abs=1e-9)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_wilson_interval_holds_the_observed_share(counts):
    k, n = counts
    low, high = metrics.wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1


def test_rounds_characters_and_new_quotes_are_pooled_over_the_setting():
    # Round 1 quotes 0-100; round 2 quotes 50-150 (50 new) and 200-220 (20 new).
    first = session(judgments=[0.5, 0.6, 0.8], speeches=[[(0, 100)], [(50, 150), (200, 220)]])
    # One round, quoting 0-40 twice within the speech (40 new, counted once).
    second = session(judgments=[0.5, 0.7], speeches=[[(0, 40), (10, 30)]])
    t = table(first, second)["human_debate"]
    assert (t.rounds_mean, t.rounds_sd) == (1.5, pytest.approx(math.sqrt(0.5)))
    assert t.chars_per_round == (2 * 500 * 3) / 3  # two speeches of 500 per round
    assert t.quotes_per_round == pytest.approx((100 + 70 + 40) / 3)
    assert t.quotes_repeated == pytest.approx(1 - 210 / (100 + 120 + 40))
    assert t.char_limit_per_round == 1500
    assert t.passage_revealed == pytest.approx((170 / 10_000 + 40 / 10_000) / 2)


def test_quotes_in_the_same_round_are_new_for_both_debaters():
    record = session(judgments=[0.5, 0.9], speeches=[[(0, 100)]])
    both = record.rounds[1]
    # Give debater B the same quote in the same (simultaneous) round.
    from dataclasses import replace

    speeches = (both.speeches[0], replace(both.speeches[1], quotes=both.speeches[0].quotes))
    record = replace(
        record, rounds=(record.rounds[0], replace(both, speeches=speeches), *record.rounds[2:])
    )
    assert table(record)["human_debate"].quotes_per_round == 200


def test_bits_per_round_and_the_judge_score():
    a = session(judgments=[0.5, 0.8, 0.9])  # log2(.9/.5) over 2 rounds, 2 continues
    b = session(judgments=[0.4, 0.2])  # log2(.2/.4) over 1 round, 1 continue
    t = table(a, b)["human_debate"]
    assert t.bits_per_round == pytest.approx((math.log2(0.9 / 0.5) + math.log2(0.5)) / 3)
    expected = ((math.log2(0.9) - 0.1) + (math.log2(0.2) - 0.05)) / 2
    assert t.judge_score_mean == pytest.approx(expected)


def test_ece_by_hand():
    pairs = [(0.9, True), (0.9, True), (0.9, False), (0.6, True), (1.0, True)]
    # bins: [0.9, 1.0] holds 0.9 x3 and 1.0 (mean .925, 3/4 right); [0.6, 0.7) holds .6 (right).
    expected = 4 / 5 * abs(0.925 - 0.75) + 1 / 5 * abs(0.6 - 1)
    assert metrics.ece(pairs) == pytest.approx(expected)
    assert metrics.ece([(0.7, True)] * 7 + [(0.7, False)] * 3) == pytest.approx(0)


@given(st.lists(st.tuples(st.floats(0.5, 1.0), st.booleans()), min_size=1, max_size=60))
def test_ece_lies_between_zero_and_one_and_bins_cover_every_judgment(pairs):
    assert 0 <= metrics.ece(pairs) <= 1
    curve = metrics.calibration_curve(pairs)
    assert sum(b.n for b in curve) == len(pairs)
    assert all(b.low <= b.mean_confidence <= b.high + 1e-9 for b in curve)


def test_consultancies_split_by_the_consultants_honesty_and_ai_settings_are_their_own():
    t = table(
        session(protocol="consultancy", honest=True, judgments=[0.5, 0.9]),
        session(protocol="consultancy", honest=True, judgments=[0.5, 0.3]),
        session(protocol="consultancy", honest=False, judgments=[0.5, 0.8]),
        session(protocol="consultancy", honest=False, judgments=[0.5, 0.8], ai=True),
    )
    human = t["human_consultancy"]
    assert (human.accuracy_honest, human.n_honest) == (0.5, 2)
    assert (human.accuracy_dishonest, human.n_dishonest) == (1.0, 1)
    assert t["ai_consultancy"].n == 1


def test_offline_judges_form_a_setting_of_their_own():
    record = session(judgments=[0.5, 0.6, 0.9], offline={"olive": [0.5, 0.3]})
    t = table(record)
    assert t["human_debate_offline"].n == 1 and t["human_debate_offline"].accuracy == 0
    assert t["human_debate_offline"].rounds_mean == 1  # it judged after the first round
    assert "human_debate_offline" not in table(record, offline=False)


def test_settings_split_by_judge_and_accuracy_per_judge():
    records = [
        session(judgments=[0.5, 0.9], judge="ann"),
        session(judgments=[0.5, 0.1], judge="ann"),
        session(judgments=[0.5, 0.9], judge="bob"),
    ]
    assert set(table(*records, split="judge")) == {"human_debate · ann", "human_debate · bob"}
    per_judge = metrics.per_judge_accuracy(metrics.judgings(records))
    assert [(a.judge, a.n, a.accuracy) for a in per_judge] == [("ann", 2, 0.5), ("bob", 1, 1.0)]


def test_confident_judgments_are_counted_apart():
    t = table(session(judgments=[0.5, 0.97]), session(judgments=[0.5, 0.03]))["human_debate"]
    assert (t.n_confident, t.accuracy_confident) == (2, 0.5)


def test_error_categories_are_shares_of_the_incorrect_sessions():
    items = metrics.judgings(
        [
            session(judgments=[0.5, 0.1], tags=("lack of clash",)),
            session(judgments=[0.5, 0.2], tags=("lack of clash", "bad question")),
            session(judgments=[0.5, 0.3]),
            session(judgments=[0.5, 0.9], tags=("bad question",)),  # right: not counted
        ]
    )
    shares = metrics.error_category_shares(items, ["lack of clash", "bad question"])
    assert shares == {"human_debate": {"lack of clash": (2, 3), "bad question": (1, 3)}}


def test_two_settings_are_compared_with_a_two_proportion_test():
    right = [session(judgments=[0.5, 0.9]) for _ in range(40)]
    wrong = [session(judgments=[0.5, 0.1], protocol="consultancy", honest=True) for _ in range(40)]
    groups = metrics.by_setting(metrics.judgings(right + wrong))
    test = metrics.two_proportion_test(
        "human_debate", groups["human_debate"], "human_consultancy", groups["human_consultancy"]
    )
    assert test.p_value < 1e-6 and test.z > 0


def test_the_mixed_model_fits_a_judge_random_effect_when_there_is_enough_data():
    records = [
        session(judgments=[0.5, 0.9 if i % 3 else 0.2], judge=f"j{i % 4}") for i in range(24)
    ] + [
        session(
            judgments=[0.5, 0.9 if i % 2 else 0.2],
            judge=f"j{i % 4}",
            protocol="consultancy",
            honest=True,
        )
        for i in range(24)
    ]
    model = metrics.mixed_effects_logit(metrics.judgings(records))
    assert "judge" in model.description and "Intercept" in model.coefficients
    assert any("human_debate" in name for name in model.coefficients)
    assert metrics.mixed_effects_logit(metrics.judgings(records[:3])) is None
