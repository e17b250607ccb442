"""The NYU debate-file format, read without a database: story text from tokens, spans, survey
answers, and the reasons a file is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from judging.nyu_format import (
    NyuFormatError,
    char_span,
    parse_debate,
    render_tokens,
    structure_from_rules,
    survey_answers,
    token_span,
    tokenize,
)
from tests.judging.nyu_files import RULES, SPAN_CHOSE, TEXT, TOKENS, human_debate, variant


def test_tokens_render_as_readable_text_with_brackets_quotes_clitics_and_paragraphs():
    text, spans = render_tokens(TOKENS)
    assert text == TEXT
    assert all(
        text[s:e] in (t, '"', "(", ")", "\n") for t, (s, e) in zip(TOKENS, spans, strict=True)
    )


def test_a_token_span_becomes_the_characters_it_covers_and_one_past_the_end_is_clamped():
    text, spans = render_tokens(TOKENS)
    assert text[slice(*char_span(spans, *SPAN_CHOSE))] == "he chose Marta's count"
    start, end = char_span(spans, 41, 10_000)
    assert text[start:end] == "he chose Marta's count."
    assert char_span(spans, 3, 3)[0] == char_span(spans, 3, 3)[1]


@given(st.integers(0, len(TOKENS) - 1), st.integers(1, 8))
def test_character_and_token_spans_convert_back_exactly(begin, width):
    _, spans = render_tokens(TOKENS)
    end = min(begin + width, len(TOKENS))
    assert token_span(spans, *char_span(spans, begin, end)) == (begin, end)


def test_our_own_text_tokenises_with_spans_that_point_at_each_token():
    text = "It's 7 o'clock, Marta said.\n\nNo."
    tokens, spans = tokenize(text)
    assert tokens[:4] == ["It's", "7", "o'clock", ","] and "\n" in tokens
    assert all(text[s:e] == t for t, (s, e) in zip(tokens, spans, strict=True))


def test_survey_answers_are_kept_on_our_scale_and_identity_guesses_are_dropped():
    kept = survey_answers(
        {
            "judge reasoning": 0,
            "clarity": {"first": 4, "second": 0},
            "reason for outcome": "B quoted well",
            "identity guesses": {"Debater A": "a real name"},
        }
    )
    assert kept == {
        "judge reasoning": 1,
        "clarity": {"debater_a": 5, "debater_b": 1},
        "reason for outcome": "B quoted well",
    }


def test_the_rules_become_our_round_structure():
    assert structure_from_rules(RULES) == {
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


def test_a_whole_debate_parses_with_offline_judgments_surveys_and_notes():
    debate = parse_debate(human_debate(), "keeper-0")
    assert debate.is_debate and debate.ended
    assert [r.kind for r in debate.rounds] == [
        "judge",
        "simultaneous",
        "judge",
        "sequential",
        "judge",
    ]
    sequential = debate.rounds[3].speeches
    assert [s.debater for s in sequential] == [0, 1]  # in the order they were given
    assert [len(o.judgments) for o in debate.offline] == [3]
    assert debate.feedback["Jo Juniper"][0] == "Judge"
    assert debate.scratchpads == {"Debater A": "quote the decision"}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"hello": "world"}, "not a debate file"),
        ([1, 2, 3], "not a debate file"),
        (
            variant(human_debate(), lambda d: d["rounds"].append({"Interlude": {}})),
            "unknown round type 'Interlude'",
        ),
        (
            variant(
                human_debate(),
                lambda d: d["setup"]["rules"]["repeatingStructure"].append({"Break": {}}),
            ),
            "unknown round type 'Break' in the rules",
        ),
        (
            variant(
                human_debate(),
                lambda d: d["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]["content"].append(
                    {"Quote": {"span": [900, 910]}}
                ),
            ),
            "outside the story",
        ),
        (variant(human_debate(), lambda d: d["setup"].pop("question")), "malformed debate"),
        (variant(human_debate(), lambda d: d["setup"].update(answers=["x"])), "two answers"),
    ],
)
def test_files_that_are_not_debates_we_can_hold_are_refused_with_the_reason(broken, message):
    with pytest.raises(NyuFormatError, match=message):
        parse_debate(broken, "broken")
