"""Tests of the pure protocol core: round structures, the turn state machine, and limit checks."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from debate.protocol import (
    END_REASON_LABELS,
    LIVE_ROLES,
    SPEAKING_ROLES,
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
    check_global_quote_limit,
    check_judge_text,
    check_move,
    check_probabilities,
    check_speech_limits,
    consultancy_structure,
    debate_structure,
    default_structure,
    expected_move,
    initial_state,
    judgeless_debate_structure,
    legal_moves,
    live_roles,
    replay,
    structure_from_dict,
    structure_to_dict,
)
from debate.quotes import Quote, Text, quote_from_span, rendered_length

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Walks through the state machine cost more per example; fewer still cover every shape.
WALK_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=100)

A, B, J, C = Role.DEBATER_A, Role.DEBATER_B, Role.JUDGE, Role.CONSULTANT


def speech(role: Role) -> Move:
    return Move(role, MoveKind.SPEECH)


def judge(*, end: bool = False) -> Move:
    return Move(J, MoveKind.JUDGMENT, end=end)


def ok(result: State | Rejection) -> State:
    """The new state, failing the test if the move was rejected."""
    assert not isinstance(result, Rejection), f"move unexpectedly rejected: {result!r}"
    return result


def play(state: State, *moves: Move) -> State:
    for move in moves:
        state = ok(apply_move(state, move))
    return state


def rejection_code(result: object) -> RejectionCode:
    assert isinstance(result, Rejection), f"expected a Rejection, got {result!r}"
    return result.code


def every_move() -> list[Move]:
    return [Move(role, kind, end) for role in Role for kind in MoveKind for end in (False, True)]


# ==================================================================================================
# The paper's debate
# ==================================================================================================


class TestPaperDebate:
    def test_starts_with_a_judge_prior_that_cannot_end_the_session(self):
        state = initial_state(Protocol.DEBATE, debate_structure())

        assert state.due == {J}
        assert legal_moves(state) == [
            LegalMove(J, MoveKind.JUDGMENT, may_continue=True, may_end=False)
        ]
        assert rejection_code(check_move(state, judge(end=True))) is RejectionCode.CANNOT_END_YET
        assert rejection_code(apply_move(state, judge(end=True))) is RejectionCode.CANNOT_END_YET

    def test_debaters_cannot_speak_during_the_prior(self):
        state = initial_state(Protocol.DEBATE, debate_structure())

        for role in (A, B):
            assert rejection_code(check_move(state, speech(role))) is RejectionCode.NOT_YOUR_TURN

    def test_openings_are_simultaneous_so_both_debaters_are_due(self):
        state = play(initial_state(Protocol.DEBATE, debate_structure()), judge())

        assert state.round.kind is RoundKind.SIMULTANEOUS
        assert state.due == {A, B}
        assert {m.role for m in legal_moves(state)} == {A, B}
        assert all(m.kind is MoveKind.SPEECH for m in legal_moves(state))

    @pytest.mark.parametrize("first, second", [(A, B), (B, A)])
    def test_openings_may_come_in_either_order(self, first, second):
        state = play(initial_state(Protocol.DEBATE, debate_structure()), judge())

        after_first = play(state, speech(first))
        assert after_first.due == {second}
        assert after_first.round_index == 1
        assert rejection_code(check_move(after_first, speech(first))) is RejectionCode.NOT_YOUR_TURN

        after_both = play(after_first, speech(second))
        assert after_both.round.kind is RoundKind.JUDGE
        assert after_both.due == {J}
        assert after_both.speech_rounds_completed == 1

    def test_both_opening_orders_reach_the_same_state(self):
        start = play(initial_state(Protocol.DEBATE, debate_structure()), judge())

        assert play(start, speech(A), speech(B)) == play(start, speech(B), speech(A))

    def test_judge_may_end_after_the_openings(self):
        state = play(
            initial_state(Protocol.DEBATE, debate_structure()), judge(), speech(A), speech(B)
        )

        assert legal_moves(state) == [
            LegalMove(J, MoveKind.JUDGMENT, may_continue=True, may_end=True)
        ]
        finished = play(state, judge(end=True))
        assert finished.finished
        assert finished.due == frozenset()
        assert legal_moves(finished) == []
        assert finished.judge_continues == 1

    def test_later_rounds_are_sequential_a_then_b(self):
        state = play(
            initial_state(Protocol.DEBATE, debate_structure()),
            judge(),
            speech(A),
            speech(B),
            judge(),
        )

        assert state.round.kind is RoundKind.SEQUENTIAL
        assert state.due == {A}
        assert rejection_code(check_move(state, speech(B))) is RejectionCode.NOT_YOUR_TURN

        state = play(state, speech(A))
        assert state.due == {B}
        assert rejection_code(check_move(state, speech(A))) is RejectionCode.NOT_YOUR_TURN

        state = play(state, speech(B))
        assert state.due == {J}
        assert state.speech_rounds_completed == 2

    def test_sequential_rounds_and_judge_turns_repeat_until_the_judge_ends(self):
        state = play(
            initial_state(Protocol.DEBATE, debate_structure()),
            judge(),
            speech(B),
            speech(A),
            judge(),
        )
        for cycle in range(5):
            assert state.round.kind is RoundKind.SEQUENTIAL
            state = play(state, speech(A), speech(B))
            assert state.round.kind is RoundKind.JUDGE
            assert legal_moves(state)[0].may_continue
            if cycle < 4:
                state = play(state, judge())

        assert state.judge_continues == 6
        assert state.speech_rounds_completed == 6
        assert state.structure.length() is None

        finished = play(state, judge(end=True))
        assert finished.finished
        assert finished.judge_continues == 6  # ending is not a continue
        assert finished.moves == state.moves + 1

    def test_the_judge_cannot_speak_and_debaters_cannot_judge(self):
        prior = initial_state(Protocol.DEBATE, debate_structure())
        assert rejection_code(check_move(prior, speech(J))) is RejectionCode.WRONG_MOVE

        openings = play(prior, judge())
        assert (
            rejection_code(check_move(openings, Move(A, MoveKind.JUDGMENT)))
            is RejectionCode.WRONG_MOVE
        )
        assert rejection_code(apply_move(openings, judge())) is RejectionCode.NOT_YOUR_TURN

    def test_seats_outside_the_protocol_are_never_due(self):
        state = initial_state(Protocol.DEBATE, debate_structure())
        for moves in ([], [judge()], [speech(A), speech(B), judge()], [speech(A)]):
            state = play(state, *moves)
            for role in (C, Role.OFFLINE_JUDGE):
                for kind in MoveKind:
                    assert (
                        rejection_code(check_move(state, Move(role, kind)))
                        is RejectionCode.NOT_YOUR_TURN
                    )

    def test_turn_key_names_the_round_and_the_due_seats(self):
        state = play(initial_state(Protocol.DEBATE, debate_structure()), judge())

        assert state.turn_key == "1:debater_a+debater_b"
        assert play(state, speech(B)).turn_key == "1:debater_a"

    def test_paper_limits(self):
        structure = debate_structure()

        assert structure.opening[0] == RoundSpec(RoundKind.JUDGE, 750)
        assert structure.opening[1] == RoundSpec(RoundKind.SIMULTANEOUS, 750, 250)
        assert structure.repeating[0] == RoundSpec(RoundKind.SEQUENTIAL, 750, 250)
        assert default_structure(Protocol.DEBATE) == structure


# ==================================================================================================
# The paper's consultancy
# ==================================================================================================


class TestPaperConsultancy:
    def test_prior_then_consultant_then_judge_repeating(self):
        state = initial_state(Protocol.CONSULTANCY, consultancy_structure())
        assert state.due == {J}
        assert rejection_code(check_move(state, judge(end=True))) is RejectionCode.CANNOT_END_YET

        state = play(state, judge())
        for _ in range(3):
            assert state.round.kind is RoundKind.SEQUENTIAL
            assert state.due == {C}
            state = play(state, speech(C))
            assert state.due == {J}
            assert legal_moves(state) == [
                LegalMove(J, MoveKind.JUDGMENT, may_continue=True, may_end=True)
            ]
            state = play(state, judge())

        assert state.speech_rounds_completed == 3
        state = play(state, speech(C), judge(end=True))
        assert state.finished
        assert state.judge_continues == 4

    def test_debaters_have_no_seat_in_a_consultancy(self):
        state = play(initial_state(Protocol.CONSULTANCY, consultancy_structure()), judge())

        for role in (A, B):
            assert rejection_code(check_move(state, speech(role))) is RejectionCode.NOT_YOUR_TURN

    def test_consultant_cannot_judge(self):
        state = play(initial_state(Protocol.CONSULTANCY, consultancy_structure()), judge())

        assert (
            rejection_code(check_move(state, Move(C, MoveKind.JUDGMENT)))
            is RejectionCode.WRONG_MOVE
        )

    def test_paper_limits_and_seats(self):
        structure = consultancy_structure()

        assert structure.repeating[0] == RoundSpec(RoundKind.SEQUENTIAL, 1500, 500)
        assert structure.opening == (RoundSpec(RoundKind.JUDGE, 750),)
        assert default_structure(Protocol.CONSULTANCY) == structure
        assert SPEAKING_ROLES[Protocol.CONSULTANCY] == (C,)
        assert LIVE_ROLES[Protocol.CONSULTANCY] == (J, C)
        assert LIVE_ROLES[Protocol.DEBATE] == (J, A, B)


# ==================================================================================================
# Judgeless debates: debaters vote on ending (the NYU platform's NegotiateEndRound)
# ==================================================================================================


def vote(role: Role, *, end: bool) -> Move:
    return Move(role, MoveKind.VOTE, end=end)


class TestJudgelessDebate:
    def test_has_no_judge_seat_and_starts_with_simultaneous_openings(self):
        structure = judgeless_debate_structure()
        state = initial_state(Protocol.DEBATE, structure)

        assert not structure.has_judge
        assert live_roles(Protocol.DEBATE, structure) == (A, B)
        assert live_roles(Protocol.DEBATE, debate_structure()) == (J, A, B)
        assert state.round.kind is RoundKind.SIMULTANEOUS
        assert state.due == {A, B}
        assert rejection_code(check_move(state, judge())) is RejectionCode.NOT_YOUR_TURN

    def test_both_voting_to_end_ends_it_by_agreement(self):
        state = play(initial_state(Protocol.DEBATE, judgeless_debate_structure()), speech(A))
        state = play(state, speech(B))

        assert state.round.kind is RoundKind.NEGOTIATE_END
        assert state.due == {A, B}  # votes are cast without seeing the other's
        assert legal_moves(state) == [
            LegalMove(A, MoveKind.VOTE, may_continue=True, may_end=True),
            LegalMove(B, MoveKind.VOTE, may_continue=True, may_end=True),
        ]
        state = play(state, vote(B, end=True))
        assert not state.finished and state.due == {A}
        assert state.end_votes == {B}
        state = play(state, vote(A, end=True))

        assert state.finished and state.ended_by is EndReason.AGREEMENT
        assert state.speech_rounds_completed == 1
        assert rejection_code(check_move(state, vote(A, end=True))) is (
            RejectionCode.SESSION_FINISHED
        )

    def test_one_vote_to_go_on_continues_with_sequential_speeches_and_another_vote(self):
        state = play(
            initial_state(Protocol.DEBATE, judgeless_debate_structure()),
            speech(A),
            speech(B),
            vote(A, end=True),
            vote(B, end=False),
        )

        assert not state.finished and state.ended_by is None
        assert state.round.kind is RoundKind.SEQUENTIAL and state.due == {A}
        assert state.end_votes == frozenset()  # votes do not carry over to the next vote
        state = play(state, speech(A), speech(B), vote(A, end=False), vote(B, end=True))
        assert state.round.kind is RoundKind.SEQUENTIAL
        state = play(state, speech(A), speech(B), vote(A, end=True), vote(B, end=True))
        assert state.ended_by is EndReason.AGREEMENT and state.speech_rounds_completed == 3

    def test_a_vote_is_the_only_move_of_a_negotiate_round(self):
        state = play(initial_state(Protocol.DEBATE, judgeless_debate_structure()), speech(A))
        state = play(state, speech(B))

        assert rejection_code(check_move(state, speech(A))) is RejectionCode.WRONG_MOVE
        assert expected_move(state.round) is MoveKind.VOTE
        assert rejection_code(check_move(state, vote(C, end=True))) is RejectionCode.NOT_YOUR_TURN

    def test_a_consultant_alone_agrees(self):
        structure = Structure(
            opening=(),
            repeating=(
                RoundSpec(RoundKind.SEQUENTIAL, 1500, 500, assigned_only=True),
                RoundSpec(RoundKind.NEGOTIATE_END, None, None, assigned_only=True),
            ),
        )
        state = play(initial_state(Protocol.CONSULTANCY, structure), speech(C), vote(C, end=True))

        assert state.ended_by is EndReason.AGREEMENT
        assert live_roles(Protocol.CONSULTANCY, structure) == (C,)

    def test_a_capped_judgeless_structure_ends_when_its_rounds_run_out(self):
        # As NYU rules write it: fixed opening, repeating cycles capped by the closing.
        structure = ok_structure(
            {
                "opening": [{"kind": "simultaneous", "char_limit": 750, "quote_limit": 250}],
                "repeating": [
                    {"kind": "negotiate_end"},
                    {"kind": "sequential", "char_limit": 750, "quote_limit": 250},
                ],
                "closing": {
                    "max_repeat_cycles": 1,
                    "rounds": [{"kind": "sequential", "char_limit": 750, "quote_limit": None}],
                },
            }
        )
        state = play(
            initial_state(Protocol.DEBATE, structure),
            speech(A),
            speech(B),
            vote(A, end=False),
            vote(B, end=False),
            speech(A),
            speech(B),
            speech(A),
        )
        assert not state.finished and state.round.quote_limit is None
        state = play(state, speech(B))

        assert state.finished and state.ended_by is EndReason.RULES
        assert structure.length() == 4

    def test_the_judge_ending_says_so(self):
        state = finished_debate()

        assert state.ended_by is EndReason.JUDGE
        assert END_REASON_LABELS[state.ended_by] == "ended by the judge"

    def test_an_uncapped_structure_needs_a_way_to_end(self):
        result = structure_from_dict(
            {"opening": [], "repeating": [{"kind": "sequential", "char_limit": 10}]}
        )

        assert rejection_code(result) is RejectionCode.BAD_RULES
        assert "a vote on ending" in result.message
        votes_only = structure_from_dict(
            {"opening": [{"kind": "simultaneous", "char_limit": 9}], "repeating": [vote_dict()]}
        )
        assert "needs a speech round" in votes_only.message

    def test_judgeless_rules_round_trip_with_unlimited_limits_and_flags(self):
        structure = Structure(
            opening=(RoundSpec(RoundKind.SIMULTANEOUS, None, None, assigned_only=True),),
            repeating=(
                RoundSpec(RoundKind.SEQUENTIAL, 750, None),
                RoundSpec(RoundKind.NEGOTIATE_END, None, None, assigned_only=True),
            ),
            global_quote_limit=600,
        )
        data = structure_to_dict(structure)

        assert data["opening"] == [
            {"kind": "simultaneous", "char_limit": None, "quote_limit": None, "assigned_only": True}
        ]
        assert data["repeating"][1] == {"kind": "negotiate_end", "assigned_only": True}
        assert data["global_quote_limit"] == 600
        assert structure_from_dict(json.loads(json.dumps(data))) == structure


def vote_dict() -> dict:
    return {"kind": "negotiate_end"}


def ok_structure(data: dict) -> Structure:
    result = structure_from_dict(data)
    assert isinstance(result, Structure), result
    return result


# ==================================================================================================
# Unlimited limits and the session-wide quote cap
# ==================================================================================================


def test_a_limit_of_none_is_no_limit_and_zero_is_none_allowed():
    passage = "x" * 5000
    long_speech = [Text("y" * 3000), quote_from_span(passage, 0, 2000)]

    assert check_speech_limits(long_speech, RoundSpec(RoundKind.SEQUENTIAL, None, None)) == []
    codes = {
        p.code for p in check_speech_limits(long_speech, RoundSpec(RoundKind.SEQUENTIAL, 0, 0))
    }
    assert codes == {RejectionCode.OVER_CHAR_LIMIT, RejectionCode.OVER_QUOTE_LIMIT}
    assert check_judge_text("z" * 9000, RoundSpec(RoundKind.JUDGE, None)) is None


def test_the_global_quote_limit_counts_a_seats_quotes_over_the_session_once_each():
    passage = "abcdefghij" * 100
    structure = Structure(
        opening=(RoundSpec(RoundKind.SIMULTANEOUS, 750, 250),),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, 750, 250), RoundSpec(RoundKind.JUDGE, 750)),
        global_quote_limit=300,
    )
    earlier = [(0, 200)]
    overlapping = [quote_from_span(passage, 100, 300)]  # 100 new characters: 300 in all
    beyond = [quote_from_span(passage, 100, 301)]

    assert check_global_quote_limit(overlapping, earlier, structure) is None
    problem = check_global_quote_limit(beyond, earlier, structure)
    assert problem.code is RejectionCode.OVER_GLOBAL_QUOTE_LIMIT
    assert (problem.limit, problem.actual) == (300, 301)
    assert "whole session is 300" in problem.message
    assert check_global_quote_limit(beyond, earlier, debate_structure()) is None


# ==================================================================================================
# Finished sessions
# ==================================================================================================


def finished_debate() -> State:
    return play(
        initial_state(Protocol.DEBATE, debate_structure()),
        judge(),
        speech(A),
        speech(B),
        judge(end=True),
    )


@pytest.mark.parametrize("move", every_move(), ids=str)
def test_a_finished_session_rejects_every_move(move):
    state = finished_debate()

    assert rejection_code(check_move(state, move)) is RejectionCode.SESSION_FINISHED
    assert rejection_code(apply_move(state, move)) is RejectionCode.SESSION_FINISHED


def test_a_finished_session_has_no_round_and_no_one_due():
    state = finished_debate()

    assert state.round is None
    assert state.due == frozenset()
    assert legal_moves(state) == []


# ==================================================================================================
# Capped structures (with a Closing)
# ==================================================================================================

JUDGE_SPEC = RoundSpec(RoundKind.JUDGE, 100)
SIM_SPEC = RoundSpec(RoundKind.SIMULTANEOUS, 200, 50)
SEQ_SPEC = RoundSpec(RoundKind.SEQUENTIAL, 200, 50)
CLOSING_SPEC = RoundSpec(RoundKind.SEQUENTIAL, 300, 80)


def capped_debate(cycles: int = 2) -> Structure:
    return Structure(
        opening=(JUDGE_SPEC, SIM_SPEC, JUDGE_SPEC),
        repeating=(SEQ_SPEC, JUDGE_SPEC),
        closing=Closing(cycles, (CLOSING_SPEC, JUDGE_SPEC)),
    )


class TestCappedStructures:
    def test_length_and_rounds_of_a_capped_structure(self):
        structure = capped_debate(cycles=2)

        assert structure.length() == 3 + 2 * 2 + 2
        kinds = [structure.round_at(i) for i in range(9)]
        assert kinds == [
            JUDGE_SPEC,
            SIM_SPEC,
            JUDGE_SPEC,
            SEQ_SPEC,
            JUDGE_SPEC,
            SEQ_SPEC,
            JUDGE_SPEC,
            CLOSING_SPEC,
            JUDGE_SPEC,
        ]
        assert structure.round_at(9) is None
        assert structure.round_at(100) is None
        assert structure.round_at(-1) is None

    def test_judge_must_end_on_the_last_round(self):
        state = play(
            initial_state(Protocol.DEBATE, capped_debate(cycles=1)),
            judge(),
            speech(A),
            speech(B),
            judge(),
            speech(A),
            speech(B),
            judge(),
        )
        # closing speeches
        assert state.round == CLOSING_SPEC
        state = play(state, speech(A), speech(B))

        assert state.round_index == capped_debate(cycles=1).length() - 1
        assert state.judge_must_end
        assert legal_moves(state) == [
            LegalMove(J, MoveKind.JUDGMENT, may_continue=False, may_end=True)
        ]
        assert rejection_code(check_move(state, judge(end=False))) is RejectionCode.MUST_END
        assert rejection_code(apply_move(state, judge(end=False))) is RejectionCode.MUST_END

        finished = play(state, judge(end=True))
        assert finished.finished
        assert finished.round is None
        assert legal_moves(finished) == []
        for move in every_move():
            assert rejection_code(check_move(finished, move)) is RejectionCode.SESSION_FINISHED

    def test_judge_may_still_end_early_in_a_capped_structure(self):
        state = play(initial_state(Protocol.DEBATE, capped_debate()), judge(), speech(B), speech(A))

        assert not state.judge_must_end
        assert play(state, judge(end=True)).finished

    def test_zero_cycles_go_straight_to_the_closing(self):
        state = play(
            initial_state(Protocol.DEBATE, capped_debate(cycles=0)),
            judge(),
            speech(A),
            speech(B),
            judge(),
        )

        assert state.round == CLOSING_SPEC
        state = play(state, speech(A), speech(B))
        assert state.judge_must_end

    def test_fixed_structure_without_repeating_rounds(self):
        structure = Structure(opening=(JUDGE_SPEC, SEQ_SPEC, JUDGE_SPEC), repeating=())
        state = play(initial_state(Protocol.CONSULTANCY, structure), judge(), speech(C))

        assert structure.length() == 3
        assert rejection_code(check_move(state, judge())) is RejectionCode.MUST_END
        assert play(state, judge(end=True)).finished

    def test_structure_with_no_rounds_starts_finished(self):
        state = initial_state(Protocol.DEBATE, Structure(opening=(), repeating=()))

        assert state.finished
        assert legal_moves(state) == []
        assert rejection_code(check_move(state, judge())) is RejectionCode.SESSION_FINISHED


def test_judge_may_end_on_the_last_round_even_without_speeches():
    """A valid capped structure with no speech round must not deadlock: on its last round the
    judge must end, so it may, although it has heard no speech round."""
    structure = structure_from_dict({"opening": [{"kind": "judge", "char_limit": 10}]})
    assert isinstance(structure, Structure)
    state = initial_state(Protocol.DEBATE, structure)

    assert legal_moves(state) == [LegalMove(J, MoveKind.JUDGMENT, may_continue=False, may_end=True)]
    assert rejection_code(check_move(state, judge(end=False))) is RejectionCode.MUST_END
    assert play(state, judge(end=True)).finished


def test_judge_may_end_on_a_closing_judge_round_reached_without_speeches():
    structure = Structure(
        opening=(JUDGE_SPEC,),
        repeating=(SEQ_SPEC, JUDGE_SPEC),
        closing=Closing(0, (JUDGE_SPEC,)),
    )
    state = play(initial_state(Protocol.CONSULTANCY, structure), judge())

    assert state.speech_rounds_completed == 0
    assert state.judge_must_end
    assert play(state, judge(end=True)).finished


# ==================================================================================================
# Serialisation
# ==================================================================================================


@pytest.mark.parametrize(
    "structure",
    [debate_structure(), consultancy_structure(), capped_debate(), capped_debate(0)],
    ids=["debate", "consultancy", "capped", "capped-zero-cycles"],
)
def test_structure_round_trips_through_a_dict_and_json(structure):
    data = structure_to_dict(structure)

    assert structure_from_dict(data) == structure
    assert structure_from_dict(json.loads(json.dumps(data))) == structure


def test_structure_to_dict_shape():
    data = structure_to_dict(debate_structure(speech_chars=10, speech_quote_chars=3, judge_chars=7))

    assert data == {
        "opening": [
            {"kind": "judge", "char_limit": 7},
            {"kind": "simultaneous", "char_limit": 10, "quote_limit": 3},
            {"kind": "judge", "char_limit": 7},
        ],
        "repeating": [
            {"kind": "sequential", "char_limit": 10, "quote_limit": 3},
            {"kind": "judge", "char_limit": 7},
        ],
        "closing": None,
    }


def test_structure_from_dict_defaults_quote_limit_and_ignores_it_for_judge_rounds():
    structure = structure_from_dict(
        {
            "opening": [{"kind": "judge", "char_limit": 5, "quote_limit": 99}],
            "repeating": [
                {"kind": "sequential", "char_limit": 5},
                {"kind": "judge", "char_limit": 5},
            ],
        }
    )

    assert structure == Structure(
        opening=(RoundSpec(RoundKind.JUDGE, 5, 0),),
        repeating=(RoundSpec(RoundKind.SEQUENTIAL, 5, 0), RoundSpec(RoundKind.JUDGE, 5, 0)),
    )


SPEECH = {"kind": "sequential", "char_limit": 10, "quote_limit": 2}
JUDGE = {"kind": "judge", "char_limit": 10}

GARBAGE_STRUCTURES = {
    "none": None,
    "list": [],
    "string": "debate",
    "number": 5,
    "empty": {},
    "no rounds": {"opening": [], "repeating": [], "closing": None},
    "opening not a list": {"opening": 5},
    "opening a string": {"opening": "judge"},
    "round not a dict": {"opening": ["judge"]},
    "round a list": {"opening": [[1, 2]]},
    "unknown kind": {"opening": [{"kind": "speech", "char_limit": 5}]},
    "unhashable kind": {"opening": [{"kind": {}, "char_limit": 5}]},
    "missing kind": {"opening": [{"char_limit": 5}]},
    "missing char_limit": {"opening": [{"kind": "judge"}]},
    "negative char_limit": {"opening": [{"kind": "judge", "char_limit": -1}]},
    "float char_limit": {"opening": [{"kind": "judge", "char_limit": 5.0}]},
    "string char_limit": {"opening": [{"kind": "judge", "char_limit": "5"}]},
    "bool char_limit": {"opening": [{"kind": "judge", "char_limit": True}]},
    "nan char_limit": {"opening": [{"kind": "judge", "char_limit": math.nan}]},
    "negative quote_limit": {
        "opening": [{"kind": "sequential", "char_limit": 5, "quote_limit": -3}, JUDGE]
    },
    "bool quote_limit": {
        "opening": [{"kind": "sequential", "char_limit": 5, "quote_limit": False}, JUDGE]
    },
    "repeating without a judge round": {"opening": [JUDGE], "repeating": [SPEECH]},
    "repeating with only judge rounds": {"opening": [JUDGE], "repeating": [JUDGE, JUDGE]},
    "fixed structure ending with a speech": {"opening": [JUDGE, SPEECH]},
    "capped structure ending with a speech": {
        "opening": [JUDGE],
        "repeating": [SPEECH, JUDGE],
        "closing": {"max_repeat_cycles": 1, "rounds": [SPEECH]},
    },
    "closing not a dict": {"opening": [JUDGE], "closing": "soon"},
    "closing a list": {"opening": [JUDGE], "closing": [1]},
    "closing without cycles": {"opening": [JUDGE], "closing": {"rounds": [JUDGE]}},
    "closing without rounds": {"opening": [JUDGE], "closing": {"max_repeat_cycles": 1}},
    "closing rounds none": {
        "opening": [JUDGE],
        "closing": {"max_repeat_cycles": 1, "rounds": None},
    },
    "negative cycles": {"opening": [JUDGE], "closing": {"max_repeat_cycles": -1, "rounds": []}},
    "bool cycles": {"opening": [JUDGE], "closing": {"max_repeat_cycles": True, "rounds": []}},
    "float cycles": {"opening": [JUDGE], "closing": {"max_repeat_cycles": 1.5, "rounds": []}},
    "string cycles": {"opening": [JUDGE], "closing": {"max_repeat_cycles": "2", "rounds": []}},
}


@pytest.mark.parametrize("data", GARBAGE_STRUCTURES.values(), ids=GARBAGE_STRUCTURES.keys())
def test_structure_from_dict_rejects_garbage_without_raising(data):
    result = structure_from_dict(data)

    assert isinstance(result, Rejection)
    assert result.code is RejectionCode.BAD_RULES
    assert result.message.startswith("Invalid round structure")


ZERO_LENGTH_CAPPED = {
    "opening": [],
    "repeating": [SPEECH, JUDGE],
    "closing": {"max_repeat_cycles": 0, "rounds": []},
}


def test_structure_from_dict_rejects_a_capped_structure_of_length_zero():
    # The repeating list is valid but is played zero times and the closing is empty: no rounds.
    result = structure_from_dict(ZERO_LENGTH_CAPPED)

    assert isinstance(result, Rejection)
    assert result.code is RejectionCode.BAD_RULES


# ==================================================================================================
# Probabilities and judge text
# ==================================================================================================


@pytest.mark.parametrize(
    "probabilities, count",
    [
        ([0.5, 0.5], 2),
        ([1.0, 0.0], 2),
        ([1, 0], 2),
        ([0.0, 1.0], 2),
        ([0.2, 0.3, 0.5], 3),
        ([0.1] * 10, 10),
        ([0.5, 0.5 + 1e-7], 2),  # within the tolerance
        ((0.25, 0.75), 2),
    ],
)
def test_check_probabilities_accepts_good_distributions(probabilities, count):
    assert check_probabilities(probabilities, count) is None


@pytest.mark.parametrize(
    "probabilities, count",
    [
        pytest.param([1.0], 2, id="too few"),
        pytest.param([0.5, 0.25, 0.25], 2, id="too many"),
        pytest.param([], 2, id="empty"),
        pytest.param([-0.5, 1.5], 2, id="negative"),
        pytest.param([1.5, -0.5], 2, id="over one"),
        pytest.param([math.nan, 1.0], 2, id="nan"),
        pytest.param([math.inf, 0.0], 2, id="inf"),
        pytest.param([-math.inf, 1.0], 2, id="minus inf"),
        pytest.param(["0.5", "0.5"], 2, id="strings"),
        pytest.param([None, 1.0], 2, id="none"),
        pytest.param([True, False], 2, id="bools"),
        pytest.param([0.5, True], 2, id="one bool"),
        pytest.param([0.5 + 0j, 0.5], 2, id="complex"),
        pytest.param([0.5, 0.4], 2, id="sum below one"),
        pytest.param([0.6, 0.6], 2, id="sum above one"),
        pytest.param([0.0, 0.0], 2, id="all zero"),
        pytest.param([0.5, 0.5 + 1e-4], 2, id="sum off by more than the tolerance"),
    ],
)
def test_check_probabilities_rejects_bad_input(probabilities, count):
    result = check_probabilities(probabilities, count)

    assert isinstance(result, Rejection)
    assert result.code is RejectionCode.BAD_PROBABILITIES


@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6).filter(
        lambda ps: sum(ps) > 0
    )
)
@PROPERTY_SETTINGS
def test_check_probabilities_accepts_any_normalised_distribution(weights):
    total = sum(weights)
    probabilities = [w / total for w in weights]
    if not all(0.0 <= p <= 1.0 for p in probabilities):
        return  # float rounding can exceed 1 by an ulp; that is a fair rejection
    if abs(sum(probabilities) - 1.0) > 1e-6:
        return

    assert check_probabilities(probabilities, len(probabilities)) is None


def test_check_judge_text_counts_characters():
    spec = RoundSpec(RoundKind.JUDGE, 750)

    assert check_judge_text("", spec) is None
    assert check_judge_text("x" * 750, spec) is None
    result = check_judge_text("x" * 751, spec)
    assert isinstance(result, Rejection)
    assert result.code is RejectionCode.OVER_CHAR_LIMIT
    assert (result.limit, result.actual) == (750, 751)


# ==================================================================================================
# Speech limits (examples)
# ==================================================================================================

PASSAGE = "The quick brown fox jumps over the lazy dog."


def codes(rejections: list[Rejection]) -> set[RejectionCode]:
    return {r.code for r in rejections}


class TestSpeechLimits:
    def test_quote_text_counts_toward_the_char_limit(self):
        quote = ok_quote(4, 9)  # "quick"
        segments = [Text("ab"), quote]

        assert rendered_length(segments) == 7
        assert check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 7, 5)) == []
        [rejection] = check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 6, 5))
        assert rejection.code is RejectionCode.OVER_CHAR_LIMIT
        assert (rejection.limit, rejection.actual) == (6, 7)

    def test_overlapping_quotes_count_each_passage_character_once(self):
        first = ok_quote(0, 9)  # "The quick"
        second = ok_quote(4, 15)  # "quick brown"
        segments = [first, Text(" and "), second]
        # union is [0, 15): 15 characters; rendered is 9 + 5 + 11 = 25
        assert check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 25, 15)) == []

        [rejection] = check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 25, 14))
        assert rejection.code is RejectionCode.OVER_QUOTE_LIMIT
        assert (rejection.limit, rejection.actual) == (14, 15)

    def test_repeating_the_same_quote_costs_quote_budget_once_but_chars_twice(self):
        quote = ok_quote(10, 19)  # "brown fox"
        segments = [quote, Text(" "), quote]

        assert check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 19, 9)) == []
        assert codes(check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 18, 9))) == {
            RejectionCode.OVER_CHAR_LIMIT
        }

    def test_touching_quotes_are_counted_without_double_counting(self):
        segments = [ok_quote(0, 4), ok_quote(4, 9)]

        assert check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 9, 9)) == []
        assert codes(check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 9, 8))) == {
            RejectionCode.OVER_QUOTE_LIMIT
        }

    def test_unverified_quotes_count_as_text_only(self):
        segments = [Quote("a quote that is not in the story", verified=False)]
        length = len("a quote that is not in the story")

        assert check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, length, 0)) == []
        assert codes(
            check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, length - 1, 0))
        ) == {RejectionCode.OVER_CHAR_LIMIT}

    def test_both_limits_broken_gives_both_rejections(self):
        segments = [ok_quote(0, 19), Text("!!!")]

        rejections = check_speech_limits(segments, RoundSpec(RoundKind.SEQUENTIAL, 10, 5))
        assert codes(rejections) == {RejectionCode.OVER_CHAR_LIMIT, RejectionCode.OVER_QUOTE_LIMIT}
        by_code = {r.code: r for r in rejections}
        assert by_code[RejectionCode.OVER_CHAR_LIMIT].actual == 22
        assert by_code[RejectionCode.OVER_QUOTE_LIMIT].actual == 19

    def test_an_empty_speech_is_refused_unless_the_rules_allow_empty_speeches(self):
        spec = RoundSpec(RoundKind.SEQUENTIAL, 50, 0)
        for empty in ([], [Text("")], [Text("  \n\t ")]):
            (rejection,) = check_speech_limits(empty, spec)
            assert rejection.code is RejectionCode.EMPTY_SPEECH
            assert "Your speech is empty" in rejection.message
            assert check_speech_limits(empty, spec, allow_empty=True) == []  # within any limit
        assert check_speech_limits([ok_quote(0, 3)], RoundSpec(RoundKind.SEQUENTIAL, 9, 9)) == []

    def test_rules_that_allow_empty_speeches_say_so_and_round_trip(self):
        structure = Structure(
            opening=(RoundSpec(RoundKind.SEQUENTIAL, 9, 9), RoundSpec(RoundKind.JUDGE, 9)),
            repeating=(),
            allow_empty_speeches=True,
        )
        data = structure_to_dict(structure)
        assert data["allow_empty_speeches"] is True
        assert structure_from_dict(data) == structure
        assert "allow_empty_speeches" not in structure_to_dict(debate_structure())

    def test_paper_debate_limits(self):
        spec = debate_structure().repeating[0]
        long_passage = "word " * 200

        within = [quote_from_span(long_passage, 0, 250), Text("x" * 500)]
        assert check_speech_limits(within, spec) == []
        too_much_quote = [quote_from_span(long_passage, 0, 251), Text("x" * 499)]
        assert codes(check_speech_limits(too_much_quote, spec)) == {RejectionCode.OVER_QUOTE_LIMIT}
        too_long = [quote_from_span(long_passage, 0, 250), Text("x" * 501)]
        assert codes(check_speech_limits(too_long, spec)) == {RejectionCode.OVER_CHAR_LIMIT}


def ok_quote(start: int, end: int) -> Quote:
    quote = quote_from_span(PASSAGE, start, end)
    assert isinstance(quote, Quote)
    return quote


# ==================================================================================================
# Property-based tests: structures and walks through the state machine
# ==================================================================================================

KIND_NAMES = [kind.value for kind in RoundKind]


def spec_dicts(kind: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "kind": kind if kind is not None else st.sampled_from(KIND_NAMES),
            "char_limit": st.integers(0, 1000),
        },
        optional={"quote_limit": st.integers(0, 300)},
    )


# Raw dicts: often invalid, left for structure_from_dict to filter.
raw_structure_dicts = st.fixed_dictionaries(
    {
        "opening": st.lists(spec_dicts(), max_size=4),
        "repeating": st.lists(spec_dicts(), max_size=4),
        "closing": st.none()
        | st.fixed_dictionaries(
            {"max_repeat_cycles": st.integers(0, 3), "rounds": st.lists(spec_dicts(), max_size=3)}
        ),
    }
)


@st.composite
def shaped_structure_dicts(draw) -> dict:
    """Dicts built to be valid (so that filtering through structure_from_dict discards little):
    unbounded, capped with a Closing (with or without a repeating list), or fixed."""

    def spec(kind: str | None = None) -> dict:
        data = {
            "kind": kind or draw(st.sampled_from(KIND_NAMES)),
            "char_limit": draw(st.integers(0, 1000)),
        }
        if draw(st.booleans()):
            data["quote_limit"] = draw(st.integers(0, 300))
        return data

    def specs(max_size: int) -> list[dict]:
        return [spec() for _ in range(draw(st.integers(0, max_size)))]

    def repeating() -> list[dict]:
        speech_kind = draw(st.sampled_from(["simultaneous", "sequential"]))
        return draw(st.permutations([spec(speech_kind), spec("judge"), *specs(2)]))

    shape = draw(st.sampled_from(["unbounded", "capped", "capped without repeating", "fixed"]))
    if shape == "unbounded":
        return {"opening": specs(4), "repeating": repeating(), "closing": None}
    if shape == "fixed":
        return {"opening": [*specs(4), spec("judge")], "repeating": [], "closing": None}
    return {
        "opening": specs(4),
        "repeating": repeating() if shape == "capped" else [],
        "closing": {
            "max_repeat_cycles": draw(st.integers(0, 3)),
            "rounds": [*specs(2), spec("judge")],
        },
    }


def parsed(data: dict) -> Structure | None:
    result = structure_from_dict(data)
    return result if isinstance(result, Structure) else None


valid_structures = (
    st.one_of(shaped_structure_dicts(), shaped_structure_dicts(), raw_structure_dicts)
    .map(parsed)
    .filter(lambda s: s is not None)
)


protocols = st.sampled_from(list(Protocol))
choice_lists = st.lists(st.integers(0, 2**16), max_size=40)


def choose_move(state: State, choice: int) -> Move:
    """A legal move picked by ``choice``: which seat, and (for a judge) continue or end."""
    options = legal_moves(state)
    legal = options[choice % len(options)]
    if legal.kind is MoveKind.SPEECH:
        return Move(legal.role, legal.kind)
    if legal.kind is MoveKind.VOTE:
        return Move(legal.role, legal.kind, end=bool((choice // len(options)) % 2))
    ends = [end for end, allowed in ((False, legal.may_continue), (True, legal.may_end)) if allowed]
    assert ends, f"the judge has neither continue nor end in {state!r}"
    return Move(legal.role, legal.kind, end=ends[(choice // len(options)) % len(ends)])


def walk(
    protocol: Protocol, structure: Structure, choices: list[int], *, finish: bool = False
) -> tuple[list[State], list[Move]]:
    """Play legal moves chosen by ``choices``; with ``finish``, then end as soon as allowed."""
    state = initial_state(protocol, structure)
    states, history = [state], []
    choices = iter(choices)
    for _ in range(500):
        if state.finished:
            break
        choice = next(choices, None)
        if choice is None:
            if not finish:
                break
            options = legal_moves(state)
            first = options[0]
            move = Move(
                first.role,
                first.kind,
                end=first.kind is MoveKind.VOTE
                or (first.kind is MoveKind.JUDGMENT and first.may_end),
            )
        else:
            move = choose_move(state, choice)
        result = apply_move(state, move)
        assert not isinstance(result, Rejection), (
            f"legal move {move!r} rejected in {state!r}: {result!r}"
        )
        state = result
        states.append(state)
        history.append(move)
    if finish:
        assert state.finished, "forcing an end did not finish the session"
    return states, history


def assert_due_invariants(state: State) -> None:
    spec = state.round
    if state.finished:
        assert spec is None
        assert state.due == frozenset()
        assert legal_moves(state) == []
        return
    assert spec is not None
    assert state.due, "an unfinished session must have someone due"
    speakers = SPEAKING_ROLES[state.protocol]
    pending = [role for role in speakers if role not in state.submitted]
    if spec.kind is RoundKind.JUDGE:
        assert state.due == {J}
    elif spec.kind is RoundKind.SEQUENTIAL:
        assert len(state.due) == 1
        assert state.due == {pending[0]}  # the next speaker in seat order
    else:
        assert state.due == set(speakers) - state.submitted
        assert state.due == set(pending)
    assert {m.role for m in legal_moves(state)} == state.due
    assert len(legal_moves(state)) == len(state.due)


def assert_illegal_moves_rejected(state: State) -> None:
    if state.finished:
        return
    expected = expected_move(state.round)
    for role in Role:
        for kind in MoveKind:
            result = check_move(state, Move(role, kind))
            if role not in state.due:
                assert rejection_code(result) is RejectionCode.NOT_YOUR_TURN
            elif kind is not expected:
                assert rejection_code(result) is RejectionCode.WRONG_MOVE


@given(protocol=protocols, structure=valid_structures, choices=choice_lists)
@WALK_SETTINGS
def test_property_due_seats_follow_the_round_kind_in_every_reachable_state(
    protocol, structure, choices
):
    states, _ = walk(protocol, structure, choices)

    for state in states:
        assert_due_invariants(state)
        assert_illegal_moves_rejected(state)
        if not state.finished and state.round.kind is RoundKind.SEQUENTIAL:
            assert len(state.due) <= 1


@given(protocol=protocols, structure=valid_structures, choices=choice_lists)
@WALK_SETTINGS
def test_property_a_finished_session_rejects_every_move_for_every_role(
    protocol, structure, choices
):
    states, _ = walk(protocol, structure, choices, finish=True)
    final = states[-1]

    assert final.finished
    assert legal_moves(final) == []
    for move in every_move():
        assert rejection_code(check_move(final, move)) is RejectionCode.SESSION_FINISHED
        assert rejection_code(apply_move(final, move)) is RejectionCode.SESSION_FINISHED


@given(protocol=protocols, structure=valid_structures, choices=choice_lists, finish=st.booleans())
@WALK_SETTINGS
def test_property_replaying_the_history_rebuilds_the_state(protocol, structure, choices, finish):
    states, history = walk(protocol, structure, choices, finish=finish)

    for count, state in enumerate(states):
        replayed = replay(protocol, structure, history[:count])
        assert replayed == state
        assert replayed.moves == state.moves == count
    if states[-1].finished:
        # A history with a move after the end is illegal, and replay says so.
        result = replay(protocol, structure, [*history, judge(end=True)])
        assert rejection_code(result) is RejectionCode.SESSION_FINISHED


@given(protocol=protocols, structure=valid_structures, choices=choice_lists)
@WALK_SETTINGS
def test_property_counters_track_the_moves(protocol, structure, choices):
    states, history = walk(protocol, structure, choices, finish=True)

    judgments = [m for m in history if m.kind is MoveKind.JUDGMENT]
    assert states[-1].judge_continues == sum(1 for m in judgments if not m.end)
    assert sum(1 for m in judgments if m.end) <= 1
    for before, after in itertools.pairwise(states):
        assert after.round_index in (before.round_index, before.round_index + 1)
        assert after.speech_rounds_completed >= before.speech_rounds_completed
    # The judge never ends before a speech round has completed, unless on the last round.
    for state, move in zip(states[:-1], history, strict=True):
        if move.end and move.kind is MoveKind.JUDGMENT:
            assert state.speech_rounds_completed > 0 or state.judge_must_end
    # A session ends exactly once, and says how.
    final = states[-1]
    assert final.finished and final.ended_by is not None
    assert [s.ended_by for s in states[:-1]] == [None] * (len(states) - 1)
    if any(m.end for m in judgments):
        assert final.ended_by is EndReason.JUDGE
    elif final.ended_by is EndReason.AGREEMENT:
        last_votes = [m for m in history if m.kind is MoveKind.VOTE][-len(final.speakers) :]
        assert all(m.end for m in last_votes)


@given(structure=valid_structures)
@PROPERTY_SETTINGS
def test_property_structures_round_trip_through_dicts(structure):
    data = structure_to_dict(structure)

    assert structure_from_dict(data) == structure
    assert structure_from_dict(json.loads(json.dumps(data))) == structure
    assert structure_to_dict(structure_from_dict(data)) == data


def json_values() -> st.SearchStrategy:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-5, 5)
        | st.floats(allow_nan=True)
        | st.sampled_from(["judge", "sequential", "simultaneous", "x", ""])
    )
    keys = st.sampled_from(
        [
            "opening",
            "repeating",
            "closing",
            "kind",
            "char_limit",
            "quote_limit",
            "max_repeat_cycles",
            "rounds",
            "other",
        ]
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=20,
    )


@given(data=json_values() | raw_structure_dicts | shaped_structure_dicts())
@example(data=ZERO_LENGTH_CAPPED)
@PROPERTY_SETTINGS
def test_property_structure_from_dict_never_raises(data):
    result = structure_from_dict(data)

    assert isinstance(result, Structure | Rejection)
    if isinstance(result, Rejection):
        assert result.code is RejectionCode.BAD_RULES


@given(protocol=protocols, structure=valid_structures, choices=choice_lists)
@example(
    protocol=Protocol.DEBATE,
    structure=Structure(opening=(RoundSpec(RoundKind.JUDGE, 10),), repeating=()),
    choices=[],
)
@WALK_SETTINGS
def test_property_legal_moves_agree_with_check_move(protocol, structure, choices):
    """Every move legal_moves offers is accepted, and a judge's choice it withholds is refused."""
    state = initial_state(protocol, structure)
    for choice in [*choices, *([0] * 50)]:
        if state.finished:
            break
        for legal in legal_moves(state):
            if legal.kind is MoveKind.SPEECH:
                assert check_move(state, Move(legal.role, legal.kind)) is None
                continue
            continuing = check_move(state, Move(legal.role, legal.kind, end=False))
            ending = check_move(state, Move(legal.role, legal.kind, end=True))
            if legal.may_continue:
                assert continuing is None
            else:
                assert rejection_code(continuing) is RejectionCode.MUST_END
            if legal.may_end:
                assert ending is None
            else:
                assert rejection_code(ending) is RejectionCode.CANNOT_END_YET
        state = ok(apply_move(state, choose_move(state, choice)))


# ==================================================================================================
# Property-based tests: speech limits
# ==================================================================================================


@st.composite
def passages_and_segments(draw):
    passage = draw(st.text(min_size=1, max_size=120))
    segment = st.one_of(
        st.text(max_size=40).map(Text),
        st.integers(0, len(passage) - 1).flatmap(
            lambda start: st.integers(start + 1, len(passage)).map(
                lambda end: quote_from_span(passage, start, end)
            )
        ),
        st.text(max_size=40).map(lambda t: Quote(t, verified=False)),
    )
    return passage, draw(st.lists(segment, max_size=8))


@given(
    passage_and_segments=passages_and_segments(),
    char_limit=st.integers(0, 300),
    quote_limit=st.integers(0, 150),
    kind=st.sampled_from([RoundKind.SEQUENTIAL, RoundKind.SIMULTANEOUS]),
)
@PROPERTY_SETTINGS
def test_property_speech_limits_are_exact(passage_and_segments, char_limit, quote_limit, kind):
    passage, segments = passage_and_segments
    spec = RoundSpec(kind, char_limit, quote_limit)
    rendered = sum(len(segment.text) for segment in segments)
    covered: set[int] = set()
    for segment in segments:
        if isinstance(segment, Quote) and segment.verified:
            assert segment.text == passage[segment.start : segment.end]
            covered.update(range(segment.start, segment.end))
    quoted = len(covered)

    rejections = check_speech_limits(segments, spec)
    by_code = {r.code: r for r in rejections}
    assert len(by_code) == len(rejections)  # at most one rejection per limit

    if not rejections:
        assert rendered <= char_limit
        assert quoted <= quote_limit
    if rendered > char_limit:
        rejection = by_code[RejectionCode.OVER_CHAR_LIMIT]
        assert (rejection.limit, rejection.actual) == (char_limit, rendered)
    else:
        assert RejectionCode.OVER_CHAR_LIMIT not in by_code
    if quoted > quote_limit:
        rejection = by_code[RejectionCode.OVER_QUOTE_LIMIT]
        assert (rejection.limit, rejection.actual) == (quote_limit, quoted)
    else:
        assert RejectionCode.OVER_QUOTE_LIMIT not in by_code


# --------------------------------------------------------------------------------------------------
# Open consultancy and open debate: the expert's choice of the answer it argues
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chosen, chooser", [(Protocol.CONSULTANCY, Role.CONSULTANT), (Protocol.DEBATE, Role.DEBATER_A)]
)
def test_under_open_rules_the_expert_chooses_before_round_one_and_only_once(chosen, chooser):
    from debate.protocol import choosers, open_structure

    structure = open_structure(chosen)
    state = initial_state(chosen, structure)
    assert choosers(chosen) == (chooser,)
    assert state.choice_pending and state.due == frozenset({chooser})
    assert state.round is None and state.round_key == "choice"
    assert legal_moves(state) == [LegalMove(chooser, MoveKind.CHOICE)]
    # Nothing else is played before the choice: not the judge's prior, not a speech.
    judged = check_move(state, Move(Role.JUDGE, MoveKind.JUDGMENT))
    assert judged is not None and judged.code is RejectionCode.NOT_YOUR_TURN
    spoken = check_move(state, Move(chooser, MoveKind.SPEECH))
    assert spoken is not None and spoken.code is RejectionCode.WRONG_MOVE
    if chosen is Protocol.DEBATE:  # debater B argues the other answer: it does not choose
        other = check_move(state, Move(Role.DEBATER_B, MoveKind.CHOICE))
        assert other is not None and other.code is RejectionCode.NOT_YOUR_TURN

    after = apply_move(state, Move(chooser, MoveKind.CHOICE))
    assert isinstance(after, State)
    assert after.chosen and not after.choice_pending and after.round_index == 0
    assert after.round == structure.round_at(0) and after.due == frozenset({Role.JUDGE})
    assert after.round_key == "0"
    twice = check_move(after, Move(chooser, MoveKind.CHOICE))
    assert twice is not None and twice.code is RejectionCode.NOT_YOUR_TURN
    # On its own turn later in the session, a second choice is refused.
    later = apply_move(after, Move(Role.JUDGE, MoveKind.JUDGMENT))
    assert isinstance(later, State) and later.round_index == 1 and chooser in later.due
    again = check_move(later, Move(chooser, MoveKind.CHOICE))
    assert again is not None and again.code is RejectionCode.WRONG_MOVE
    assert "chosen already" in again.message


def test_a_choice_is_refused_under_rules_that_assign_the_answers():
    state = initial_state(Protocol.CONSULTANCY, consultancy_structure())
    assert not state.choice_pending and state.round_key == "0"
    state = apply_move(state, Move(Role.JUDGE, MoveKind.JUDGMENT))
    assert isinstance(state, State)
    refused = check_move(state, Move(Role.CONSULTANT, MoveKind.CHOICE))
    assert refused is not None and refused.code is RejectionCode.WRONG_MOVE


def test_an_open_history_replays_with_its_choice_and_not_without_it():
    from debate.protocol import open_structure

    structure = open_structure(Protocol.CONSULTANCY)
    moves = [
        Move(Role.CONSULTANT, MoveKind.CHOICE),
        Move(Role.JUDGE, MoveKind.JUDGMENT),
        Move(Role.CONSULTANT, MoveKind.SPEECH),
        Move(Role.JUDGE, MoveKind.JUDGMENT, end=True),
    ]
    state = replay(Protocol.CONSULTANCY, structure, moves)
    assert isinstance(state, State) and state.finished and state.ended_by is EndReason.JUDGE
    assert isinstance(replay(Protocol.CONSULTANCY, structure, moves[1:]), Rejection)
    # Rules without the option replay as before: the same history minus the choice.
    old = replay(Protocol.CONSULTANCY, consultancy_structure(), moves[1:])
    assert isinstance(old, State) and old.finished


def test_open_choice_is_stored_in_the_rules_only_when_set():
    from debate.protocol import judge_only_structure, open_structure

    assert "open_choice" not in structure_to_dict(consultancy_structure())
    data = structure_to_dict(open_structure(Protocol.DEBATE))
    assert data["open_choice"] is True
    assert structure_from_dict(json.loads(json.dumps(data))) == open_structure(Protocol.DEBATE)
    bad = structure_from_dict({**data, "open_choice": "yes"})
    assert isinstance(bad, Rejection) and "open_choice must be true or false" in bad.message
    judge_only = structure_to_dict(judge_only_structure())
    refused = structure_from_dict({**judge_only, "open_choice": True})
    assert isinstance(refused, Rejection) and "open_choice needs speech rounds" in refused.message
