"""Position bias, position-swapped judgings, expert win rates and debater ratings on sessions
written by hand, each figure checked against arithmetic done here."""

from __future__ import annotations

from dataclasses import replace

import pytest

from debate.records import SessionRecord
from judging import comparisons, metrics
from tests.judging.records import session


def judged(records: list[SessionRecord]) -> list[metrics.Judging]:
    return metrics.judgings(records)


def with_judge(record: SessionRecord, name: str = "judge-bot", *, ai: bool = True, **fields):
    seats = tuple(
        replace(s, is_ai=ai, holder=name) if s.role == "judge" else s for s in record.seats
    )
    return replace(record, seats=seats, **fields)


def with_debaters(record: SessionRecord, a: str, b: str, *, ai: bool = True) -> SessionRecord:
    names = {"debater_a": a, "debater_b": b}
    seats = tuple(
        replace(s, holder=names[s.role], is_ai=ai) if s.role in names else s for s in record.seats
    )
    return replace(record, seats=seats)


# --------------------------------------------------------------------------------------------------
# Position bias
# --------------------------------------------------------------------------------------------------


def test_position_bias_counts_preferences_for_the_first_shown_answer_and_accuracy_by_position():
    from scipy.stats import binomtest

    records = [
        session(judgments=[0.5, 0.9]),  # correct first, prefers first: right
        session(judgments=[0.5, 0.8]),  # correct first, prefers first: right
        session(judgments=[0.5, 0.3]),  # correct first, prefers second: wrong
        session(judgments=[0.5, 0.7], correct_position=1),  # prefers first: wrong
        session(judgments=[0.5, 0.5], correct_position=1),  # a tie prefers none: wrong
    ]
    bias = comparisons.position_bias("human_debate", judged(records))
    assert (bias.prefers_first.k, bias.prefers_first.n, bias.ties) == (3, 4, 1)
    assert bias.prefers_first.share == 0.75
    assert bias.prefers_first.ci == metrics.wilson_interval(3, 4)
    assert bias.first_p_value == pytest.approx(binomtest(3, 4, 0.5).pvalue)
    assert (bias.correct_first.k, bias.correct_first.n) == (2, 3)
    assert (bias.correct_later.k, bias.correct_later.n) == (0, 2)
    assert bias.between is not None and bias.between.p_value < 1
    expected = metrics.two_proportion_test(
        "first", judged(records[:3]), "later", judged(records[3:])
    )
    assert (bias.between.z, bias.between.p_value) == (expected.z, expected.p_value)


def test_position_bias_without_both_positions_has_no_test_and_all_right_is_no_number():
    only_first = comparisons.position_bias("s", judged([session(judgments=[0.5, 0.9])]))
    assert only_first.between is None and only_first.correct_later.share is None
    assert only_first.as_dict()["accuracy_correct_later"] == {
        "k": 0,
        "n": 0,
        "share": None,
        "ci": None,
    }
    all_right = comparisons.position_bias(
        "s",
        judged([session(judgments=[0.5, 0.9]), session(judgments=[0.5, 0.1], correct_position=1)]),
    )
    assert all_right.as_dict()["between"]["p"] is None  # z is undefined, not NaN in the JSON
    ties = comparisons.position_bias("s", judged([session(judgments=[0.5, 0.5])]))
    assert ties.first_p_value is None and ties.ties == 1


def test_position_bias_is_per_group_of_the_analysis():
    records = [
        session(judgments=[0.5, 0.9]),
        session(judgments=[0.5, 0.9], protocol="consultancy", honest=True),
    ]
    table = comparisons.position_bias_table(metrics.by_setting(judged(records)))
    assert set(table) == {"human_debate", "human_consultancy"}


# --------------------------------------------------------------------------------------------------
# Position-swapped judgings
# --------------------------------------------------------------------------------------------------


def swapped(p_first_order: float, p_second_order: float, **fields) -> list[SessionRecord]:
    """One question judged by one AI judge in both orders: ``p_*`` are P(correct answer)."""
    first = session(judgments=[0.5, p_first_order])  # answers x, y; x correct
    second = session(judgments=[0.5, 1 - p_second_order], correct_position=1)
    return [
        with_judge(first, batch="b1", **fields),
        with_judge(second, batch="b1", answers=("y", "x"), **fields),
    ]


def test_a_judgment_in_both_orders_gives_the_swap_aggregate_and_the_disagreement():
    agree = swapped(0.9, 0.7)
    disagree = swapped(0.8, 0.4)  # prefers x in one order, y in the other
    summaries = comparisons.swap_summaries(judged([*agree, *disagree]))
    assert summaries is not None
    (summary,) = summaries.values()
    assert summary.setting == "human_debate" and summary.pairs == 2
    assert summary.p_correct_mean == pytest.approx(((0.9 + 0.7) / 2 + (0.8 + 0.4) / 2) / 2)
    assert (summary.accuracy.k, summary.accuracy.n) == (2, 2)  # 0.8 and 0.6 on the correct one
    assert (summary.single_accuracy.k, summary.single_accuracy.n) == (3, 4)
    assert (summary.disagreements.k, summary.disagreements.n) == (1, 2)
    assert summary.disagreements.ci == metrics.wilson_interval(1, 2)
    assert summary.as_dict()["disagreement"]["share"] == 0.5


def test_a_tie_in_one_order_disagrees_and_an_averaged_tie_is_wrong():
    (summary,) = comparisons.swap_summaries(judged(swapped(0.5, 0.5))).values()
    assert summary.disagreements.k == 0  # a tie both times: the same (no) preference
    (summary,) = comparisons.swap_summaries(judged(swapped(0.7, 0.3))).values()
    assert summary.p_correct_mean == pytest.approx(0.5)
    assert summary.accuracy.k == 0 and summary.disagreements.k == 1


def test_no_pair_is_reported_as_none_not_zero():
    one, other = swapped(0.9, 0.7)
    cases = [
        [one],  # one order only
        [one, replace(other, batch="b2")],  # another batch
        [one, with_judge(other, "another-bot")],  # another judge
        [one, with_judge(other, "judge-bot", ai=False)],  # a human judge
        [one, replace(other, question="Another question?")],
        [one, replace(one, id=one.id + 1000)],  # the same order twice
    ]
    for records in cases:
        assert comparisons.swap_summaries(judged(records)) is None
    assert comparisons.swap_summaries([]) is None


def test_judgings_of_one_order_pair_with_the_other_in_session_order():
    one, other = swapped(0.9, 0.7)
    extra = replace(one, id=one.id + 1000)  # a third judging, with nobody to pair
    pairs = comparisons.swap_pairs(judged([extra, other, one]))
    (found,) = pairs.values()
    assert len(found) == 1 and {found[0].one.record.id, found[0].other.record.id} == {
        one.id,
        other.id,
    }


# --------------------------------------------------------------------------------------------------
# Win rates
# --------------------------------------------------------------------------------------------------


def test_experts_win_when_the_judge_favours_their_answer_as_honest_and_as_dishonest():
    records = [
        with_debaters(session(judgments=[0.5, 0.9]), "alpha", "beta"),  # alpha honest, wins
        with_debaters(session(judgments=[0.5, 0.2]), "alpha", "beta"),  # beta dishonest, wins
        with_debaters(session(judgments=[0.5, 0.5]), "beta", "alpha"),  # a tie: nobody wins
        with_debaters(session(judgments=[0.5, 0.4], correct_position=1), "beta", "alpha"),
    ]
    rates = {w.expert.name: w for w in comparisons.win_rates(metrics.by_setting(judged(records)))}
    alpha, beta = rates["alpha"], rates["beta"]
    assert alpha.setting == "ai_debate" and alpha.expert.is_ai
    # alpha: honest in 1, 2 (won 1) and in 4 as debater_b at position 1 (won: 0.6 on it);
    # dishonest in 3 (tie, lost).
    assert (alpha.honest.k, alpha.honest.n) == (2, 3)
    assert (alpha.dishonest.k, alpha.dishonest.n) == (0, 1)
    assert (beta.honest.k, beta.honest.n) == (0, 1)
    assert (beta.dishonest.k, beta.dishonest.n) == (1, 3)
    assert alpha.honest.ci == metrics.wilson_interval(2, 3)
    assert alpha.as_dict()["overall"]["n"] == 4


def test_a_consultants_win_rate_and_humans_and_agents_of_one_name_apart():
    honest = session(judgments=[0.5, 0.8], protocol="consultancy", honest=True)
    dishonest = session(judgments=[0.5, 0.8], protocol="consultancy", honest=False)
    ai = session(judgments=[0.5, 0.3], protocol="consultancy", honest=False, ai=True)
    rates = comparisons.win_rates(metrics.by_setting(judged([honest, dishonest, ai])))
    assert [(w.setting, w.expert.name, w.expert.is_ai) for w in rates] == [
        ("human_consultancy", "C", False),
        ("ai_consultancy", "C", True),
    ]
    human = rates[0]
    assert (human.honest.k, human.honest.n, human.dishonest.k, human.dishonest.n) == (1, 1, 0, 1)
    assert (rates[1].dishonest.k, rates[1].dishonest.n) == (1, 1)


# --------------------------------------------------------------------------------------------------
# Ratings
# --------------------------------------------------------------------------------------------------


def cross_play(a: str, b: str, a_wins: bool, *, a_honest: bool = True) -> SessionRecord:
    """A debate between agents ``a`` (debater A) and ``b``, won by ``a`` or not."""
    correct = 0 if a_honest else 1
    p_a = 0.9 if a_wins else 0.1
    return with_debaters(session(judgments=[0.5, p_a], correct_position=correct), a, b, ai=True)


def league() -> list[SessionRecord]:
    games = []
    for honest in (True, False):
        games += [cross_play("alpha", "beta", True, a_honest=honest) for _ in range(4)]
        games += [cross_play("beta", "gamma", True, a_honest=honest) for _ in range(3)]
        games += [cross_play("gamma", "beta", True, a_honest=honest)]
        games += [cross_play("alpha", "gamma", True, a_honest=honest) for _ in range(2)]
    return games


def test_ratings_of_debater_agents_from_cross_play_with_bootstrap_intervals():
    ratings = comparisons.debater_ratings(league(), samples=50)
    assert ratings is not None and ratings.debates == 20 and ratings.samples == 50
    names = [r.debater.name for r in ratings.ratings]
    assert names == ["alpha", "beta", "gamma"]
    alpha = ratings.ratings[0]
    assert (alpha.wins, alpha.debates) == (12, 12)
    assert alpha.ci is not None and alpha.ci[0] <= alpha.rating <= alpha.ci[1]
    assert alpha.sd is not None and alpha.sd > 0
    assert alpha.elo == pytest.approx(1500 + alpha.rating * 400 / 2.302585092994046)
    # The point estimates are the leaderboards' model fitted to the same debates.
    from judging.leaderboards.standings import fit_ratings

    _, experts = fit_ratings(comparisons.cross_play_debates(league()))
    assert alpha.rating == experts[(True, "alpha")]
    # A fixed seed: the same intervals every time.
    again = comparisons.debater_ratings(league(), samples=50)
    assert again is not None and again.ratings == ratings.ratings
    data = ratings.as_dict()
    assert data["ratings"][0]["debater"] == "alpha" and "seed" in data["uncertainty"]


def test_only_cross_play_between_two_agents_is_rated():
    self_play = cross_play("alpha", "alpha", True)
    humans = with_debaters(session(judgments=[0.5, 0.9]), "ann", "bob", ai=False)
    consultancy = session(judgments=[0.5, 0.9], protocol="consultancy", honest=True, ai=True)
    assert comparisons.cross_play_debates([self_play, humans, consultancy]) == []
    assert comparisons.debater_ratings([self_play, humans, consultancy]) is None
    # Offline judgings of a cross-play debate are left out: the live judge decides.
    judged_offline = with_debaters(
        session(judgments=[0.5, 0.9], offline={"late": [0.5, 0.1]}), "alpha", "beta"
    )
    (kept,) = comparisons.cross_play_debates([judged_offline])
    assert kept.offline_seats == []


# --------------------------------------------------------------------------------------------------
# The paper's Table 1
# --------------------------------------------------------------------------------------------------


def test_the_published_table_is_the_one_the_nyu_import_reproduces():
    from tests.judging.test_analysis import PAPER

    assert set(comparisons.PAPER_TABLE_1) == set(PAPER)
    for setting, (n, acc, mean, sd, quotes, chars, bits, score, ece) in PAPER.items():
        row = comparisons.PAPER_TABLE_1[setting]
        assert row["n"] == n and f"{row['accuracy']:.0%}" == acc
        assert (f"{row['rounds_mean']:.1f}", f"{row['rounds_sd']:.1f}") == (mean, sd)
        assert (f"{row['quotes_per_round']:.0f}", f"{row['chars_per_round']:.0f}") == (
            quotes,
            chars,
        )
        assert f"{row['bits_per_round']:.2f}" == bits
        assert (f"{row['judge_score_mean']:.2f}", f"{row['ece_final']:.2f}") == (score, ece)
