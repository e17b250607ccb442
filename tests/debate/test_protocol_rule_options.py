"""The protocol's options on the judge's rounds (issue 16): a minimum of speech rounds before the
judge may end, one more round after a large swing in its probabilities, and the blind and oracle
judges' baselines (a judge round and nothing else; the judge reading the story). Pure: no
database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debate.protocol import (
    Closing,
    EndReason,
    LegalMove,
    Move,
    MoveKind,
    Protocol,
    Rejection,
    RejectionCode,
    Role,
    RoundKind,
    RoundSpec,
    State,
    Structure,
    apply_move,
    check_move,
    consultancy_structure,
    debate_structure,
    initial_state,
    judge_only_structure,
    legal_moves,
    live_roles,
    replay,
    structure_from_dict,
    structure_to_dict,
)

A, B, J, C = Role.DEBATER_A, Role.DEBATER_B, Role.JUDGE, Role.CONSULTANT
DEBATE = Protocol.DEBATE


def judged(p_a: float | None = None, *, end: bool = False) -> Move:
    probabilities = None if p_a is None else (p_a, 1 - p_a)
    return Move(J, MoveKind.JUDGMENT, end=end, probabilities=probabilities)


def speech(role: Role) -> Move:
    return Move(role, MoveKind.SPEECH)


def ok(result: State | Rejection) -> State:
    assert not isinstance(result, Rejection), f"move unexpectedly rejected: {result!r}"
    return result


def play(state: State, *moves: Move) -> State:
    for move in moves:
        state = ok(apply_move(state, move))
    return state


def refused(state: State, move: Move) -> Rejection:
    result = check_move(state, move)
    assert isinstance(result, Rejection), f"{move!r} was allowed in {state!r}"
    assert isinstance(apply_move(state, move), Rejection)
    return result


def debate(**options) -> Structure:
    return replace(debate_structure(), **options)


def judge_may(state: State) -> LegalMove:
    (legal,) = legal_moves(state)
    assert legal.role is J
    return legal


# ==================================================================================================
# Minimum speech rounds before the judge may end
# ==================================================================================================


def test_the_paper_default_is_one_speech_round_and_is_not_written_in_the_rules():
    assert debate_structure().min_speech_rounds_before_end == 1
    assert "min_speech_rounds_before_end" not in structure_to_dict(debate_structure())
    state = play(initial_state(DEBATE, debate_structure()), judged(0.5), speech(A), speech(B))
    assert judge_may(state).may_end


def test_with_a_minimum_of_two_the_judge_may_end_only_after_the_second_speech_round():
    state = play(initial_state(DEBATE, debate(min_speech_rounds_before_end=2)), judged(0.5))
    state = play(state, speech(A), speech(B))  # the openings: one speech round heard

    assert judge_may(state) == LegalMove(J, MoveKind.JUDGMENT, may_continue=True, may_end=False)
    assert state.speech_rounds_to_end == 1
    rejection = refused(state, judged(0.7, end=True))
    assert rejection.code is RejectionCode.CANNOT_END_YET
    assert rejection.message == (
        "You can end the session only after hearing at least 2 rounds of speeches; 1 more to go."
    )
    assert (rejection.limit, rejection.actual) == (2, 1)

    state = play(state, judged(0.6), speech(A), speech(B))
    assert state.speech_rounds_to_end == 0
    assert judge_may(state).may_end
    final = play(state, judged(0.8, end=True))
    assert final.finished and final.ended_by is EndReason.JUDGE


def test_the_prior_is_refused_as_an_end_with_how_many_rounds_remain():
    state = initial_state(DEBATE, debate(min_speech_rounds_before_end=3))
    rejection = refused(state, judged(0.5, end=True))
    assert "at least 3 rounds of speeches; 3 more to go" in rejection.message
    default = refused(initial_state(DEBATE, debate_structure()), judged(0.5, end=True))
    assert default.message == (
        "You can end the session only after hearing at least one round of speeches; 1 more to go."
    )


def test_a_minimum_of_zero_lets_the_judge_end_with_its_prior():
    state = initial_state(Protocol.CONSULTANCY, replace(consultancy_structure(), **_zero()))
    assert judge_may(state).may_end
    assert play(state, Move(J, MoveKind.JUDGMENT, end=True)).finished


def _zero() -> dict:
    return {"min_speech_rounds_before_end": 0}


def test_the_judge_must_still_end_on_a_capped_structures_last_round_below_the_minimum():
    judge = RoundSpec(RoundKind.JUDGE, 750)
    capped = Structure(
        opening=(judge, RoundSpec(RoundKind.SIMULTANEOUS, 750, 250), judge),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, 750, 250), judge),
        closing=Closing(max_repeat_cycles=1, rounds=()),
        min_speech_rounds_before_end=5,
    )
    state = play(initial_state(DEBATE, capped), judged(0.5), speech(A), speech(B), judged(0.5))
    state = play(state, speech(A), speech(B))  # two speech rounds heard: the last judge round
    assert state.judge_must_end
    assert judge_may(state) == LegalMove(J, MoveKind.JUDGMENT, may_continue=False, may_end=True)
    assert refused(state, judged(0.5)).code is RejectionCode.MUST_END
    assert play(state, judged(0.9, end=True)).ended_by is EndReason.JUDGE


# ==================================================================================================
# One more round after a large swing
# ==================================================================================================


def swing_debate(limit: float = 0.2, **options) -> State:
    """A debate under the swing rule, at the judge's turn after the openings; prior 50/50."""
    structure = debate(end_blocked_after_swing=limit, **options)
    return play(initial_state(DEBATE, structure), judged(0.5), speech(A), speech(B))


def test_the_swing_rule_is_off_by_default():
    assert debate_structure().end_blocked_after_swing is None
    state = play(initial_state(DEBATE, debate_structure()), judged(0.5), speech(A), speech(B))
    assert play(state, judged(0.99, end=True)).finished


def test_ending_with_a_judgment_that_moved_more_than_the_limit_is_refused_and_says_by_how_much():
    state = swing_debate(0.2)
    assert state.judge_probabilities == (0.5, 0.5)
    assert judge_may(state).may_end  # the view cannot know the next probabilities

    rejection = refused(state, judged(0.8, end=True))
    assert rejection.code is RejectionCode.CANNOT_END_YET
    assert rejection.message == (
        "Your probability on A moved by 30 points since your last judgment, more than the 20 the "
        "rules allow when ending: continue and hear one more round of speeches, then you may end."
    )
    assert play(state, judged(0.7, end=True)).finished  # exactly the limit: allowed
    assert play(state, judged(0.35, end=True)).finished


def test_after_continuing_with_a_swing_the_judge_may_end_once_it_has_heard_one_more_round():
    state = play(swing_debate(0.2), judged(0.9))  # continued with a swing of 40 points
    assert state.judge_probabilities == pytest.approx((0.9, 0.1))
    assert state.speech_rounds_owed == 2
    state = play(state, speech(A), speech(B))
    assert judge_may(state).may_end
    assert play(state, judged(0.85, end=True)).finished  # compared with 90%, not the prior


def test_a_judge_round_straight_after_a_swing_may_not_end_without_a_speech_round_between():
    judge = RoundSpec(RoundKind.JUDGE, 750)
    speeches = RoundSpec(RoundKind.SIMULTANEOUS, 750, 250)
    structure = Structure(
        opening=(judge, speeches, judge, judge),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, 750, 250), judge),
        end_blocked_after_swing=0.1,
    )
    state = play(initial_state(DEBATE, structure), judged(0.5), speech(A), speech(B))
    state = play(state, judged(0.8))  # a swing, then another judge round at once
    assert not judge_may(state).may_end and judge_may(state).may_continue
    assert state.speech_rounds_to_end == 1
    rejection = refused(state, judged(0.8, end=True))
    assert rejection.message == (
        "Your last judgment moved by more than the rules allow when ending: hear one more round "
        "of speeches, then you may end."
    )
    state = play(state, judged(0.8), speech(A), speech(B))
    assert play(state, judged(0.85, end=True)).finished


def test_the_last_round_of_a_capped_structure_ends_whatever_the_swing():
    capped = debate(end_blocked_after_swing=0.1, closing=Closing(max_repeat_cycles=0, rounds=()))
    state = play(initial_state(DEBATE, capped), judged(0.5), speech(A), speech(B))
    assert state.judge_must_end
    assert play(state, judged(0.99, end=True)).finished


def test_a_judgment_without_probabilities_is_not_checked_for_a_swing():
    state = swing_debate(0.2)
    assert play(state, judged(None, end=True)).finished
    after = play(state, judged(None))
    assert after.judge_probabilities is None
    after = play(after, speech(A), speech(B))
    assert play(after, judged(0.99, end=True)).finished  # nothing known to compare with


def test_a_swing_on_any_answer_counts_with_three_answers():
    state = play(
        initial_state(Protocol.CONSULTANCY, replace(consultancy_structure(), **_swing(0.25))),
        Move(J, MoveKind.JUDGMENT, probabilities=(0.4, 0.3, 0.3)),
        speech(C),
    )
    moved = Move(J, MoveKind.JUDGMENT, end=True, probabilities=(0.35, 0.0, 0.65))
    assert "on C moved by 35 points" in refused(state, moved).message


def _swing(limit: float) -> dict:
    return {"end_blocked_after_swing": limit}


# ==================================================================================================
# Replay of a stored history
# ==================================================================================================


def test_replaying_a_stored_history_rebuilds_the_state_with_the_judges_probabilities():
    structure = debate(min_speech_rounds_before_end=2, end_blocked_after_swing=0.2)
    history = [
        judged(0.5),
        speech(A),
        speech(B),
        judged(0.9),  # a swing: one more round owed
        speech(A),
        speech(B),
        judged(0.8),
        speech(A),
        speech(B),
        judged(0.75, end=True),
    ]
    states = [initial_state(DEBATE, structure)]
    for move in history:
        states.append(ok(apply_move(states[-1], move)))
    for count, state in enumerate(states):
        assert replay(DEBATE, structure, history[:count]) == state
    assert states[-1].finished and states[-1].judge_continues == 3


def test_a_stored_history_that_ends_against_the_rules_is_an_illegal_history():
    structure = debate(min_speech_rounds_before_end=2, end_blocked_after_swing=0.2)
    early = [judged(0.5), speech(A), speech(B), judged(0.6, end=True)]
    assert replay(DEBATE, structure, early).code is RejectionCode.CANNOT_END_YET
    swung = [judged(0.5), speech(A), speech(B), judged(0.5), speech(A), speech(B)]
    assert replay(DEBATE, structure, [*swung, judged(0.95, end=True)]).code is (
        RejectionCode.CANNOT_END_YET
    )
    assert replay(DEBATE, structure, [*swung, judged(0.65, end=True)]).finished


def test_an_old_history_without_probabilities_replays_under_the_papers_rules():
    old = [judged(), speech(A), speech(B), judged(), speech(A), speech(B), judged(end=True)]
    state = replay(DEBATE, debate_structure(), old)
    assert isinstance(state, State) and state.finished
    assert state.judge_probabilities is None


# ==================================================================================================
# The blind and oracle judges' baselines
# ==================================================================================================


@pytest.mark.parametrize("reads_passage", [False, True])
def test_a_judge_round_alone_makes_the_first_judgment_final(reads_passage):
    structure = judge_only_structure(reads_passage=reads_passage)
    assert structure.judge_reads_passage is reads_passage
    assert structure.length() == 1 and not structure.has_speeches and structure.has_judge
    for chosen in Protocol:
        assert live_roles(chosen, structure) == (J,)
        state = initial_state(chosen, structure)
        assert state.due == {J}
        assert judge_may(state) == LegalMove(J, MoveKind.JUDGMENT, may_continue=False, may_end=True)
        assert refused(state, judged(0.5)).code is RejectionCode.MUST_END
        final = play(state, judged(0.7, end=True))
        assert final.finished and final.ended_by is EndReason.JUDGE
        assert final.judge_continues == 0 and final.speech_rounds_completed == 0
        assert refused(final, judged(0.5, end=True)).code is RejectionCode.SESSION_FINISHED


def test_the_paper_rules_still_seat_the_speakers():
    assert live_roles(DEBATE, debate_structure()) == (J, A, B)
    assert live_roles(Protocol.CONSULTANCY, consultancy_structure()) == (J, C)


# ==================================================================================================
# The rules' JSON
# ==================================================================================================


def test_the_options_are_written_to_and_read_from_the_rules_json():
    structure = debate(
        min_speech_rounds_before_end=2, end_blocked_after_swing=0.25, judge_reads_passage=True
    )
    data = structure_to_dict(structure)
    assert data["min_speech_rounds_before_end"] == 2
    assert data["end_blocked_after_swing"] == 0.25
    assert data["judge_reads_passage"] is True
    assert structure_from_dict(data) == structure
    blind = structure_to_dict(judge_only_structure())
    assert blind == {
        "opening": [{"kind": "judge", "char_limit": 750}],
        "repeating": [],
        "closing": None,
    }
    assert structure_from_dict(blind) == judge_only_structure()


def test_rules_written_before_the_options_read_back_with_the_papers_behaviour():
    stored = structure_to_dict(debate_structure())
    assert not {"min_speech_rounds_before_end", "end_blocked_after_swing"} & set(stored)
    parsed = structure_from_dict(stored)
    assert isinstance(parsed, Structure)
    assert parsed.min_speech_rounds_before_end == 1
    assert parsed.end_blocked_after_swing is None and parsed.judge_reads_passage is False


@pytest.mark.parametrize(
    "option, value, says",
    [
        ("min_speech_rounds_before_end", -1, "min_speech_rounds_before_end must be"),
        ("min_speech_rounds_before_end", 1.5, "min_speech_rounds_before_end must be"),
        ("min_speech_rounds_before_end", None, "not null"),
        ("end_blocked_after_swing", 0, "between 0 and 1"),
        ("end_blocked_after_swing", 1.0, "between 0 and 1"),
        ("end_blocked_after_swing", "0.2", "between 0 and 1"),
        ("end_blocked_after_swing", True, "between 0 and 1"),
        ("judge_reads_passage", "yes", "judge_reads_passage must be true or false"),
    ],
)
def test_bad_option_values_are_refused_with_the_reason(option, value, says):
    data = {**structure_to_dict(debate_structure()), option: value}
    rejection = structure_from_dict(data)
    assert isinstance(rejection, Rejection) and rejection.code is RejectionCode.BAD_RULES
    assert says in rejection.message


# ==================================================================================================
# Property: whatever the options, legal play keeps them and replays
# ==================================================================================================


@given(
    minimum=st.integers(0, 4),
    limit=st.one_of(st.none(), st.sampled_from([0.05, 0.2, 0.5])),
    steps=st.lists(st.tuples(st.integers(1, 99), st.booleans()), min_size=1, max_size=12),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_the_judge_ends_only_when_the_options_allow_and_replay_agrees(
    minimum, limit, steps
):
    structure = debate(min_speech_rounds_before_end=minimum, end_blocked_after_swing=limit)
    state = initial_state(DEBATE, structure)
    history: list[Move] = []
    for percent, wants_end in steps:
        if state.finished:
            break
        (legal, *others) = legal_moves(state)
        if legal.kind is MoveKind.SPEECH:
            moves = [Move(legal.role, MoveKind.SPEECH)] + [Move(o.role, o.kind) for o in others]
        else:
            moves = [judged(percent / 100, end=wants_end)]
        for move in moves:
            result = apply_move(state, move)
            if isinstance(result, Rejection):
                assert move.end and result.code is RejectionCode.CANNOT_END_YET
                before = state.judge_probabilities
                swing = before is not None and abs(before[0] - percent / 100) > (limit or 1)
                assert state.speech_rounds_completed < minimum or swing or not legal.may_end
                move = replace(move, end=False)
                result = ok(apply_move(state, move))
            if move.end:
                assert state.speech_rounds_completed >= minimum
            history.append(move)
            state = result
            assert replay(DEBATE, structure, history) == state
