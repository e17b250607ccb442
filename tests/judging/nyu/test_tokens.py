"""Stories as token lists, rendered as the NYU platform renders them (jjm's Text.render): the
spacing around quotation marks, brackets and clitics, "--" as a dash, a quote's slice rendered on
its own; and spans converted between tokens and our characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from judging.nyu.tokens import char_span, render_passage, render_text, token_span, tokenize
from tests.judging.nyu.files import SPAN_CHOSE, TEXT, TOKENS


def test_the_story_renders_as_readable_text_with_paragraphs():
    text, spans = render_passage(TOKENS)

    assert text == TEXT
    assert all(
        text[s:e] in (t, '"', "(", ")", "\n") for t, (s, e) in zip(TOKENS, spans, strict=True)
    )


def test_rendering_follows_the_platform_quotes_dashes_and_brackets():
    tokens = [
        "``",
        "Wait",
        "--",
        "he",
        "said",
        "-LRB-",
        "twice",
        "-RRB-",
        ",",
        "''",
        "and",
        "left",
        ".",
        "'",
        "Tis",
        "true",
        ".",
    ]
    assert render_text(tokens) == '"Wait-he said (twice)," and left.\' Tis true.'
    # Line breaks are words to the platform (a space each side); our passage makes them breaks.
    assert render_text(["Hi", ".", "\n", "\n", "Yes"]) == "Hi. \n \n Yes"
    assert render_passage(["Hi", ".", "\n", "\n", "Yes"])[0] == "Hi.\n\nYes"
    assert render_text(["a", "%pw", "b", "and\\/or"]) == "a b and/or"


def test_a_slice_renders_afresh_so_a_closing_mark_without_its_opener_gets_a_space():
    tokens = ["``", "The", "ferry", "carries", "people", ",", "''", "she", "said", "."]
    whole, spans = render_passage(tokens)
    start, end = char_span(spans, 1, 7)

    assert whole[start:end] == 'The ferry carries people,"'
    assert render_text(tokens[1:7]) == 'The ferry carries people, "'  # what the platform showed


def test_a_token_span_becomes_the_characters_it_covers_and_one_past_the_end_is_clamped():
    text, spans = render_passage(TOKENS)

    assert text[slice(*char_span(spans, *SPAN_CHOSE))] == "he chose Marta's count"
    start, end = char_span(spans, 41, 10_000)
    assert text[start:end] == "he chose Marta's count."
    assert char_span(spans, 3, 3)[0] == char_span(spans, 3, 3)[1]


@given(st.integers(0, len(TOKENS) - 1), st.integers(1, 8))
def test_character_and_token_spans_convert_back_exactly(begin, width):
    _, spans = render_passage(TOKENS)
    end = min(begin + width, len(TOKENS))

    assert token_span(spans, *char_span(spans, begin, end)) == (begin, end)


def test_a_selection_that_cuts_a_token_takes_the_whole_token():
    text, spans = render_passage(TOKENS)
    start = text.index("ships") + 2

    assert token_span(spans, start, start + 1) == (4, 5)


def test_our_own_text_tokenises_with_spans_that_point_at_each_token():
    text = "It's 7 o'clock, Marta said.\n\nNo."
    tokens, spans = tokenize(text)

    assert tokens[:4] == ["It's", "7", "o'clock", ","] and "\n" in tokens
    assert all(text[s:e] == t for t, (s, e) in zip(tokens, spans, strict=True))
