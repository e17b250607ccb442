"""NYU terms in ours and back: rules (judgeless, capped, unlimited, assigned debaters only),
scoring functions, survey answers (whose "first" is whose), and times to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime

from debate import protocol
from judging.nyu import mapping
from judging.nyu.schema import Rules
from tests.judging.nyu.files import JUDGELESS_RULES, RULES


def test_the_papers_rules_become_our_round_structure():
    assert mapping.structure_from_rules(Rules.model_validate(RULES)) == {
        "opening": [
            {"kind": "judge", "char_limit": 750},
            {"kind": "simultaneous", "char_limit": 750, "quote_limit": 250},
            {"kind": "judge", "char_limit": 750},
        ],
        "repeating": [
            {"kind": "sequential", "char_limit": 750, "quote_limit": 250},
            {"kind": "judge", "char_limit": 750},
        ],
        "closing": None,
    }


def test_judgeless_capped_rules_keep_every_option_and_play_in_the_protocol():
    structure = mapping.structure_from_rules(Rules.model_validate(JUDGELESS_RULES))

    assert structure["opening"][0]["quote_limit"] is None  # unlimited, never 0
    assert structure["repeating"][1] == {"kind": "negotiate_end"}
    assert structure["closing"]["max_repeat_cycles"] == 3
    assert structure["closing"]["rounds"][0]["char_limit"] is None  # charLimit 0: no limit
    assert structure["global_quote_limit"] == 900
    parsed = protocol.structure_from_dict(structure)
    assert isinstance(parsed, protocol.Structure) and not parsed.has_judge


def test_rules_written_back_are_the_rules_read():
    for rules in (RULES, JUDGELESS_RULES):
        parsed = Rules.model_validate(rules)
        structure = mapping.structure_from_rules(parsed)
        scoring = mapping.scoring_from_rules(parsed.scoringFunction)
        written = mapping.rules_from_structure(structure, scoring)
        assert Rules.model_validate(written) == parsed
    assert mapping.rules_from_structure(
        mapping.structure_from_rules(Rules.model_validate(RULES)), {}
    ) == {**RULES}


def test_assigned_debaters_only_is_kept_for_consultancies():
    rules = {
        **RULES,
        "repeatingStructure": [
            {
                "SequentialSpeechesRound": {
                    "charLimit": 1500,
                    "quoteLimit": 500,
                    "assignedDebatersOnly": True,
                }
            },
            {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}},
        ],
    }
    structure = mapping.structure_from_rules(Rules.model_validate(rules))

    assert structure["repeating"][0]["assigned_only"] is True
    written = mapping.rules_from_structure(structure, {})
    assert written["repeatingStructure"][0]["SequentialSpeechesRound"]["assignedDebatersOnly"]


def test_survey_answers_keep_whose_rating_is_whose_and_drop_identity_guesses():
    stored = {
        "judge reasoning": 0,
        "clarity": {"first": 4, "second": 0},
        "reason for outcome": "B quoted well",
        "identity guesses": {"Debater A": "a real name"},
    }
    as_judge = mapping.survey_answers(stored, own_role=None)
    as_b = mapping.survey_answers(stored, own_role="debater_b")  # first = themselves

    assert as_judge == {
        "judge reasoning": 1,
        "clarity": {"debater_a": 5, "debater_b": 1},
        "reason for outcome": "B quoted well",
    }
    assert as_b["clarity"] == {"debater_b": 5, "debater_a": 1}
    expected = {k: v for k, v in stored.items() if k != "identity guesses"}
    assert mapping.nyu_survey_answers(as_b, own_role="debater_b") == expected
    assert mapping.nyu_survey_answers(as_judge, own_role=None) == expected


def test_times_convert_to_the_millisecond_and_minus_one_is_unknown():
    moment = mapping.time_of(1_676_043_107_408)

    assert moment == datetime(2023, 2, 10, 15, 31, 47, 408000, tzinfo=UTC)
    assert mapping.ms_of(moment) == 1_676_043_107_408
    assert mapping.time_of(-1) is None and mapping.ms_of(None) is None
