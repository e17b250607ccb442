"""The leaderboards and a participant's history on sessions written by hand: every figure
checked against arithmetic done here, the filters, AI agents kept apart and marked, -inf scores
reported and ranked, sessions not over left out, and the rating model's direction."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from debate.records import SessionRecord
from judging.leaderboards.standings import (
    LeaderboardFilters,
    Standing,
    fit_ratings,
    judge_standings,
    leaderboards,
    participant_history,
)
from tests.judging.records import session

L2 = math.log2


def example() -> list[SessionRecord]:
    """Four finished sessions (the correct answer is shown first; debater A argues it):

    s1 debate, judge ann: 50% -> 80%, one continue; offline judge cat says 90% at once
    s2 debate, judge ann: 50% -> 50% -> 25%, two continues
    s3 debate, judge bob: 50% -> 100%, one continue (B gets log2 0 = -inf)
    s4 consultancy, judge bob, AI consultant C arguing the wrong answer: 50% -> 50% (a tie)
    """
    return [
        session(judgments=[0.5, 0.8], judge="ann", offline={"cat": [0.9]}),
        session(judgments=[0.5, 0.5, 0.25], judge="ann"),
        session(judgments=[0.5, 1.0], judge="bob"),
        session(judgments=[0.5, 0.5], judge="bob", protocol="consultancy", honest=False, ai=True),
    ]


def rows(table: tuple[Standing, ...]) -> list[tuple]:
    return [(s.rank, s.name, s.is_ai, s.n, s.wins) for s in table]


def at(record: SessionRecord, day: date) -> SessionRecord:
    return replace(record, created_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


def test_judges_are_ranked_by_average_judge_score_live_and_offline_counted_apart():
    boards = leaderboards(example())
    assert boards.sessions == 4
    assert rows(boards.judges) == [(1, "cat", False, 1, 1), (2, "bob", False, 2, 1),
                                   (3, "ann", False, 2, 1)]  # fmt: skip
    cat, bob, ann = boards.judges
    assert cat.score_mean == pytest.approx(L2(0.9))  # no continue
    assert bob.score_mean == pytest.approx(((L2(1.0) - 0.05) + (L2(0.5) - 0.05)) / 2)  # -0.55
    assert ann.score_mean == pytest.approx(((L2(0.8) - 0.05) + (L2(0.25) - 0.10)) / 2)
    assert (ann.n_live, ann.n_offline, cat.n_live, cat.n_offline) == (2, 0, 0, 1)
    assert bob.win_rate == 0.5  # 100% right, and a 50% tie is wrong
    assert all(s.n_infinite == 0 and s.rating is None for s in boards.judges)


def test_experts_are_ranked_by_log2_of_the_live_judges_final_probability_on_their_answer():
    boards = leaderboards(example())
    (a,) = boards.honest
    assert (a.name, a.n, a.wins, a.n_honest, a.n_dishonest) == ("A", 3, 2, 3, 0)
    assert a.score_mean == pytest.approx((L2(0.8) + L2(0.25) + L2(1.0)) / 3)
    assert rows(boards.dishonest) == [(1, "C", True, 1, 0), (2, "B", False, 3, 1)]
    c, b = boards.dishonest
    assert c.score_mean == pytest.approx(-1.0) and c.win_rate == 0  # 50% is not a win
    # B's -inf (the judge said 0% on B's answer in s3) is counted, not averaged.
    assert (b.n_infinite, b.wins) == (1, 1)
    assert b.score_mean == pytest.approx((L2(0.2) + L2(0.75)) / 2)
    # All experts: B's true average is -inf, so B is last whatever its finite mean.
    assert rows(boards.debaters) == [(1, "A", False, 3, 2), (2, "C", True, 1, 0),
                                     (3, "B", False, 3, 1)]  # fmt: skip


def test_minus_infinity_ranks_below_any_finite_average_and_a_smaller_share_of_it_ranks_higher():
    records = [
        session(judgments=[0.5, 0.01], judge="poor"),  # about -6.7, finite
        session(judgments=[0.5, 0.0], judge="once"),  # -inf once in four
        *(session(judgments=[0.5, 0.9], judge="once") for _ in range(3)),
        session(judgments=[0.5, 0.0], judge="half"),  # -inf once in two
        session(judgments=[0.5, 0.99], judge="half"),
    ]
    board = judge_standings(records)
    assert [s.name for s in board] == ["poor", "once", "half"]
    once, half = board[1], board[2]
    assert (once.n, once.n_infinite, half.n_infinite) == (4, 1, 1)
    assert once.score_mean == pytest.approx(L2(0.9) - 0.05)
    assert math.isfinite(half.score_mean)


def test_sessions_not_finished_and_judgings_without_a_final_judgment_are_left_out():
    running = replace(session(judgments=[0.5, 0.9], judge="dan"), status="in_progress")
    unended = session(judgments=[0.5, 0.9], judge="eve", offline={"fay": [0.7]})
    unended = replace(
        unended,
        rounds=tuple(
            replace(r, judgments=tuple(replace(j, end=False) for j in r.judgments))
            for r in unended.rounds
        ),
    )
    boards = leaderboards([running, unended, *example()])
    names = {s.name for s in boards.judges}
    assert names == {"ann", "bob", "cat"}
    assert boards.sessions == 5  # the finished session without a final judgment is still one
    assert sum(s.n for s in boards.debaters) == 7  # its debaters are not scored


def test_filters_by_protocol_and_by_day():
    records = example()
    records = [at(r, date(2026, 3, 1 + i)) for i, r in enumerate(records)]  # 1st .. 4th March
    consultancy = leaderboards(records, LeaderboardFilters(protocol="consultancy"))
    assert consultancy.sessions == 1 and rows(consultancy.judges) == [(1, "bob", False, 1, 0)]
    assert consultancy.honest == () and rows(consultancy.dishonest) == [(1, "C", True, 1, 0)]
    debate = leaderboards(records, LeaderboardFilters(protocol="debate"))
    assert debate.sessions == 3 and {s.name for s in debate.debaters} == {"A", "B"}
    window = leaderboards(
        records, LeaderboardFilters(since=date(2026, 3, 2), until=date(2026, 3, 3))
    )
    assert window.sessions == 2  # s2 and s3, days inclusive
    assert {(s.name, s.n) for s in window.judges} == {("ann", 1), ("bob", 1)}
    assert leaderboards(records, LeaderboardFilters(since=date(2026, 3, 5))).judges == ()
    with pytest.raises(ValueError):
        LeaderboardFilters(protocol="chess")


def test_days_are_read_in_the_time_zone_asked_for():
    late = replace(
        session(judgments=[0.5, 0.9]), created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    )
    tokyo = timezone(timedelta(hours=9))  # 08:30 on 2 March there
    assert leaderboards([late], LeaderboardFilters(since=date(2026, 3, 2))).sessions == 0
    assert leaderboards([late], LeaderboardFilters(since=date(2026, 3, 2), tz=tokyo)).sessions == 1


def test_an_ai_agent_and_a_person_of_one_name_are_two_lines_and_the_agent_is_marked():
    records = [
        session(judgments=[0.5, 0.9], protocol="consultancy", honest=True, ai=True),
        session(judgments=[0.5, 0.8], protocol="consultancy", honest=True, ai=False),
    ]
    (first, second) = leaderboards(records).honest
    assert (first.name, first.is_ai, first.n) == ("C", True, 1)
    assert (second.name, second.is_ai, second.n) == ("C", False, 1)


def test_ratings_reward_the_judge_who_finds_the_truth_and_the_expert_who_persuades():
    records = []
    for _ in range(6):
        records.append(session(judgments=[0.5, 0.9], judge="sharp"))
        records.append(session(judgments=[0.5, 0.3], judge="dull"))
    judges, experts = fit_ratings(records)
    assert judges[(False, "sharp")] > 0 > judges[(False, "dull")]
    assert judges[(False, "sharp")] == pytest.approx(-judges[(False, "dull")], abs=1e-4)
    rated = leaderboards(records, ratings=True)
    assert rated.rated and all(s.rating is not None for s in rated.judges + rated.debaters)
    # Consultants with one judge: the honest one who is believed, the dishonest one who is not.
    consultancies = [
        *(session(judgments=[0.5, 0.9], protocol="consultancy", honest=True) for _ in range(3)),
        *(session(judgments=[0.5, 0.9], protocol="consultancy", honest=False) for _ in range(3)),
    ]
    consultancies = [
        replace(
            r, seats=tuple(replace(s, holder="liar") if s.honest is False else s for s in r.seats)
        )
        for r in consultancies
    ]
    _, experts = fit_ratings(consultancies)
    assert experts[(False, "liar")] < 0
    assert fit_ratings([]) == ({}, {})


# --------------------------------------------------------------------------------------------------
# A participant's history
# --------------------------------------------------------------------------------------------------


def test_history_scores_each_seat_and_totals_them():
    # In the hand-built records the judge is user 1 and debater A and human consultants user 2.
    records = example()
    judge = participant_history(records, user_id=1)
    assert [(e.role, e.over, e.won) for e in judge.entries] == [("judge", True, True),
        ("judge", True, False), ("judge", True, True), ("judge", True, False)]  # fmt: skip
    assert judge.entries[0].score == pytest.approx(L2(0.8) - 0.05)
    assert judge.entries[0].p_own == pytest.approx(0.8)
    total = judge.as_judge
    assert (total.n, total.wins, total.n_live, total.n_offline) == (4, 2, 4, 0)
    expected = [L2(0.8) - 0.05, L2(0.25) - 0.10, -0.05, -1.05]
    assert total.score_mean == pytest.approx(sum(expected) / 4)
    assert judge.as_honest is None and judge.as_expert is None
    debater = participant_history(records, user_id=2)  # the AI consultant is not user 2's seat
    assert [e.role for e in debater.entries] == ["debater_a"] * 3
    assert all(e.honest is True for e in debater.entries)
    assert debater.as_honest.n == 3 and debater.as_honest.wins == 2
    assert debater.as_dishonest is None and debater.as_expert.n == 3
    loser = participant_history(records, user_id=3)  # debater B, once at -inf
    assert (loser.as_dishonest.n_infinite, loser.as_dishonest.n) == (1, 3)
    assert [label for label, _ in loser.totals] == ["dishonest expert", "expert, all"]


def test_history_of_a_session_not_over_for_the_seat_says_only_its_state():
    running = replace(session(judgments=[0.5, 0.9]), status="in_progress", finished_at=None)
    pending = session(judgments=[0.5, 0.9], offline={"me": [0.7]})
    pending = replace(
        pending,
        seats=tuple(
            replace(s, user_id=42) if s.role == "offline_judge" else s for s in pending.seats
        ),
        rounds=tuple(  # the offline judge has begun but not given a final judgment
            replace(
                r, judgments=tuple(replace(j, end=j.kind == "live" and j.end) for j in r.judgments)
            )
            for r in pending.rounds
        ),
    )
    (entry,) = participant_history([running], user_id=1).entries
    assert (entry.over, entry.state, entry.role) == (False, "in progress", "judge")
    assert (entry.won, entry.p_own, entry.score, entry.honest, entry.question) == (
        None, None, None, None, "")  # fmt: skip
    (debater,) = participant_history([running], user_id=3).entries
    assert debater.honest is None and debater.score is None
    (offline,) = participant_history([pending], user_id=42).entries
    assert (offline.role, offline.over, offline.state) == ("offline_judge", False, "in progress")
    assert offline.won is None and offline.question == ""
    assert participant_history([running], user_id=1).totals == []
    done = session(judgments=[0.5, 0.9], offline={"me": [0.7]})
    done = replace(
        done,
        seats=tuple(replace(s, user_id=42) if s.role == "offline_judge" else s for s in done.seats),
    )
    history = participant_history([done], user_id=42)
    (offline,) = history.entries
    assert (offline.over, offline.won, offline.score) == (True, True, pytest.approx(L2(0.7)))
    assert (history.as_judge.n_live, history.as_judge.n_offline) == (0, 1)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["debate", "consultancy"]),
            st.sampled_from(["ann", "bob", "cat"]),
            st.sampled_from([0.0, 0.1, 0.5, 0.7, 1.0]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_every_finished_judging_and_expert_is_counted_once_and_ranks_run_from_one(cases):
    records = [
        session(judgments=[0.5, p], judge=name, protocol=protocol, honest=honest, ai=honest)
        for protocol, name, p, honest in cases
    ]
    boards = leaderboards(records, ratings=True)
    assert sum(s.n for s in boards.judges) == len(records)
    assert sum(s.n for s in boards.debaters) == sum(len(r.experts) for r in records)
    assert sum(s.n for s in boards.honest + boards.dishonest) == sum(s.n for s in boards.debaters)
    for table in (boards.judges, boards.honest, boards.dishonest, boards.debaters):
        assert [s.rank for s in table] == list(range(1, len(table) + 1))
        assert [s.sort_key for s in table] == sorted(s.sort_key for s in table)
        for s in table:
            assert s.n_infinite <= s.n and 0 <= s.wins <= s.n
            assert (s.score_mean is None) == (s.n_infinite == s.n)
            assert s.rating is not None and math.isfinite(s.rating)
