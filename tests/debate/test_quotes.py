"""Tests of quote finding, certification, markup and counting (pure, no Django)."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debate.quotes import (
    Quote,
    QuoteProblem,
    QuoteRequest,
    Text,
    certify,
    certify_markup,
    find_quote,
    merge_spans,
    new_quoted_chars,
    parse_markup,
    quote_from_span,
    quote_from_text,
    quoted_char_count,
    rendered_length,
    span_union_length,
    to_markup,
)

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

PASSAGE = "The quick brown fox jumps over the lazy dog. Hello, world!  It's me."


def normalised(text: str) -> str:
    """The comparison the finder promises: letters and digits only, case ignored."""
    return "".join((c.lower() if len(c.lower()) == 1 else c) for c in text if c.isalnum())


# ==================================================================================================
# Finding quotes
# ==================================================================================================


class TestFindQuote:
    def test_exact_match(self):
        assert find_quote(PASSAGE, "brown fox") == (10, 19)
        assert PASSAGE[10:19] == "brown fox"

    def test_exact_match_returns_the_first_occurrence(self):
        assert find_quote("the cat and the dog", "the") == (0, 3)

    def test_exact_match_is_preferred_to_an_earlier_normalised_match(self):
        # "The" at 0 matches only when case is ignored; "the" at 4 matches exactly.
        assert find_quote("The the", "the") == (4, 7)

    def test_surrounding_whitespace_of_the_quote_is_ignored(self):
        assert find_quote(PASSAGE, "  quick brown \n") == (4, 15)

    def test_normalised_match_ignores_case_whitespace_and_punctuation(self):
        span = find_quote(PASSAGE, "hello world its me")

        assert span is not None
        start, end = span
        assert PASSAGE[start:end] == "Hello, world!  It's me"

    def test_normalised_match_in_the_issue_example(self):
        passage = "Hello, world!  It's me."

        assert find_quote(passage, "hello world its me") == (0, 22)

    @pytest.mark.parametrize(
        "quote, expected",
        [
            ("THE QUICK BROWN", "The quick brown"),
            ("quick   brown\nfox", "quick brown fox"),
            ("lazy dog Hello", "lazy dog. Hello"),
            ("it s me", "It's me"),
            ("jumps-over", "jumps over"),
            ("thequickbrown", "The quick brown"),
        ],
    )
    def test_normalised_match_returns_the_passage_text(self, quote, expected):
        start, end = find_quote(PASSAGE, quote)

        assert PASSAGE[start:end] == expected

    def test_tokenised_text_is_found(self):
        passage = "He said: don't go there."

        start, end = find_quote(passage, "do n't go there .")
        assert passage[start:end] == "don't go there"

    @pytest.mark.parametrize(
        "quote",
        ["", "   ", "\n\t", "a purple elephant", "?!?", "quick fox", "brown quick"],
    )
    def test_not_found(self, quote):
        assert find_quote(PASSAGE, quote) is None

    def test_punctuation_found_exactly_is_found(self):
        assert find_quote(PASSAGE, "!  ") == (57, 58)


class TestQuoteFromText:
    def test_verified_quote_text_is_the_passage_slice(self):
        quote = quote_from_text(PASSAGE, "HELLO WORLD")

        assert quote == Quote(text="Hello, world", start=45, end=57, verified=True)
        assert quote.text == PASSAGE[quote.start : quote.end]
        assert quote.span == (45, 57)

    def test_exact_quote(self):
        assert quote_from_text(PASSAGE, "lazy dog") == Quote("lazy dog", 35, 43, True)

    def test_not_found_is_kept_unverified_with_its_text(self):
        quote = quote_from_text(PASSAGE, "The slow green turtle")

        assert quote == Quote(text="The slow green turtle", start=None, end=None, verified=False)
        assert quote.span is None


class TestQuoteFromSpan:
    def test_selection_inside_the_passage(self):
        assert quote_from_span(PASSAGE, 4, 9) == Quote("quick", 4, 9, True)
        assert quote_from_span(PASSAGE, 0, len(PASSAGE)) == Quote(PASSAGE, 0, len(PASSAGE), True)

    @pytest.mark.parametrize(
        "start, end",
        [(-1, 3), (0, len(PASSAGE) + 1), (5, 5), (9, 4), (len(PASSAGE), len(PASSAGE) + 2)],
    )
    def test_selection_outside_the_passage_is_a_problem(self, start, end):
        result = quote_from_span(PASSAGE, start, end)

        assert isinstance(result, QuoteProblem)
        assert str(result) == result.message
        assert str(len(PASSAGE)) in result.message

    def test_empty_passage_has_no_valid_span(self):
        assert isinstance(quote_from_span("", 0, 0), QuoteProblem)
        assert isinstance(quote_from_span("", 0, 1), QuoteProblem)


# ==================================================================================================
# Markup and certification
# ==================================================================================================


class TestParseMarkup:
    def test_plain_text(self):
        assert parse_markup("no quotes here") == [Text("no quotes here")]

    def test_empty(self):
        assert parse_markup("") == []

    def test_find_form(self):
        assert parse_markup("As it says, <quote>brown fox</quote>, so.") == [
            Text("As it says, "),
            QuoteRequest("brown fox"),
            Text(", so."),
        ]

    def test_span_form(self):
        assert parse_markup('<quote start="10" end="19">brown fox</quote>') == [
            QuoteRequest("brown fox", start=10, end=19)
        ]

    def test_both_forms_in_one_speech(self):
        markup = 'A <quote>quick</quote> and <quote start="35" end="43">lazy</quote>.'

        assert parse_markup(markup) == [
            Text("A "),
            QuoteRequest("quick"),
            Text(" and "),
            QuoteRequest("lazy", start=35, end=43),
            Text("."),
        ]

    def test_tags_are_case_insensitive_and_quotes_may_span_lines(self):
        assert parse_markup("<QUOTE>a\nb</Quote>") == [QuoteRequest("a\nb")]

    def test_adjacent_quotes(self):
        assert parse_markup("<quote>a</quote><quote>b</quote>") == [
            QuoteRequest("a"),
            QuoteRequest("b"),
        ]

    def test_negative_offsets_are_parsed_for_certification_to_refuse(self):
        assert parse_markup('<quote start="-3" end="2">x</quote>') == [
            QuoteRequest("x", start=-3, end=2)
        ]

    def test_unclosed_tag_stays_as_text(self):
        assert parse_markup("before <quote>never closed") == [Text("before <quote>never closed")]

    def test_unclosed_tag_after_a_quote_stays_as_text(self):
        assert parse_markup("<quote>one</quote> then <quote>two") == [
            QuoteRequest("one"),
            Text(" then <quote>two"),
        ]

    def test_stray_closing_tag_stays_as_text(self):
        assert parse_markup("a </quote> b") == [Text("a </quote> b")]

    def test_tag_with_only_a_start_offset_is_not_a_quote(self):
        markup = '<quote start="3">x</quote>'

        assert parse_markup(markup) == [Text(markup)]


class TestToMarkup:
    def test_writes_quote_tags_without_offsets(self):
        segments = [
            Text("See "),
            Quote("quick", 4, 9, verified=True),
            Text(" and "),
            Quote("made up", verified=False),
        ]

        assert to_markup(segments) == "See <quote>quick</quote> and <quote>made up</quote>"

    def test_round_trip_through_parse_markup(self):
        segments = [Text("x "), Quote("quick", 4, 9, True), Text(" y")]

        assert parse_markup(to_markup(segments)) == [
            Text("x "),
            QuoteRequest("quick"),
            Text(" y"),
        ]


class TestCertify:
    def test_offsets_take_the_passage_text_not_the_client_text(self):
        result = certify_markup('<quote start="4" end="9">LIES</quote>', PASSAGE)

        assert result == [Quote("quick", 4, 9, verified=True)]

    def test_text_quotes_are_searched_for(self):
        result = certify_markup("Look: <quote>THE LAZY DOG</quote>!", PASSAGE)

        assert result == [Text("Look: "), Quote("the lazy dog", 31, 43, True), Text("!")]

    def test_unfound_text_quote_is_kept_unverified(self):
        result = certify_markup("<quote>a purple elephant</quote>", PASSAGE)

        assert result == [Quote("a purple elephant", verified=False)]

    @pytest.mark.parametrize(
        "markup",
        [
            '<quote start="-1" end="3">x</quote>',
            '<quote start="3" end="3">x</quote>',
            '<quote start="9" end="4">x</quote>',
            f'<quote start="0" end="{len(PASSAGE) + 1}">x</quote>',
        ],
    )
    def test_offsets_outside_the_passage_are_a_problem(self, markup):
        assert isinstance(certify_markup("ok " + markup, PASSAGE), QuoteProblem)

    def test_empty_text_parts_are_dropped(self):
        assert certify([Text(""), QuoteRequest("quick"), Text("")], PASSAGE) == [
            Quote("quick", 4, 9, True)
        ]

    def test_plain_speech(self):
        assert certify_markup("just words", PASSAGE) == [Text("just words")]


# ==================================================================================================
# Counting
# ==================================================================================================


class TestCounting:
    def test_rendered_length_counts_all_text_including_unverified_quotes(self):
        segments = [Text("abc"), Quote("quick", 4, 9, True), Quote("nope", verified=False)]

        assert rendered_length(segments) == 3 + 5 + 4
        assert rendered_length([]) == 0

    def test_quoted_char_count_counts_each_passage_character_once(self):
        segments = [
            Quote(PASSAGE[0:9], 0, 9, True),
            Text("between"),
            Quote(PASSAGE[4:15], 4, 15, True),
            Quote(PASSAGE[4:9], 4, 9, True),
        ]

        assert quoted_char_count(segments) == 15

    def test_quoted_char_count_ignores_text_and_unverified_quotes(self):
        segments = [Text("quick"), Quote("quick", verified=False), Quote("x", 0, 1, False)]

        assert quoted_char_count(segments) == 0

    def test_disjoint_quotes_add_up(self):
        segments = [Quote(PASSAGE[0:3], 0, 3, True), Quote(PASSAGE[10:15], 10, 15, True)]

        assert quoted_char_count(segments) == 8


class TestMergeSpans:
    @pytest.mark.parametrize(
        "spans, expected",
        [
            ([], []),
            ([(5, 7), (1, 3)], [(1, 3), (5, 7)]),
            ([(1, 5), (3, 8)], [(1, 8)]),
            ([(1, 3), (3, 5)], [(1, 5)]),  # touching spans join
            ([(1, 10), (2, 3), (4, 5)], [(1, 10)]),  # contained spans vanish
            ([(3, 3), (6, 2)], []),  # empty and reversed spans cover nothing
            ([(0, 2), (0, 2)], [(0, 2)]),
            ([(8, 9), (0, 1), (1, 2), (5, 6)], [(0, 2), (5, 6), (8, 9)]),
        ],
    )
    def test_examples(self, spans, expected):
        assert merge_spans(spans) == expected

    def test_union_length(self):
        assert span_union_length([(0, 10), (5, 15), (20, 22)]) == 17
        assert span_union_length([]) == 0

    def test_new_quoted_chars(self):
        assert new_quoted_chars([(5, 15)], [(0, 10)]) == 5
        assert new_quoted_chars([(0, 10)], [(0, 10)]) == 0
        assert new_quoted_chars([(0, 3), (2, 5)], []) == 5
        assert new_quoted_chars([(0, 10)], [(2, 3), (5, 6)]) == 8


# ==================================================================================================
# Properties
# ==================================================================================================


@st.composite
def passage_and_span(draw, alphabet=None):
    passage = draw(
        st.text(alphabet=alphabet, min_size=1, max_size=200)
        if alphabet
        else st.text(min_size=1, max_size=200)
    )
    start = draw(st.integers(0, len(passage) - 1))
    end = draw(st.integers(start + 1, len(passage)))
    return passage, start, end


@given(passage_and_span())
@PROPERTY_SETTINGS
def test_property_a_slice_of_the_passage_is_found_as_itself(args):
    passage, start, end = args
    selected = passage[start:end]
    if not any(c.isalnum() for c in selected):
        return

    span = find_quote(passage, selected)

    assert span is not None
    found_start, found_end = span
    # The finder strips surrounding whitespace from the quote, so the found text is the slice
    # without it (and may be an earlier identical occurrence).
    assert passage[found_start:found_end] == selected.strip()
    quote = quote_from_text(passage, selected)
    assert quote.verified
    assert quote.text == selected.strip() == passage[quote.start : quote.end]


@given(passage_and_span())
@PROPERTY_SETTINGS
def test_property_a_slice_without_surrounding_whitespace_is_found_exactly(args):
    passage, start, end = args
    selected = passage[start:end]
    if selected != selected.strip() or not any(c.isalnum() for c in selected):
        return

    found_start, found_end = find_quote(passage, selected)

    assert passage[found_start:found_end] == selected
    assert found_start <= start  # the first occurrence


NOISE = " \t\n.,;:!?'\"-()"
ASCII_PASSAGE_ALPHABET = string.ascii_letters + string.digits + NOISE


@st.composite
def mangled_quotes(draw):
    """A slice of an ASCII passage, re-cased and with its spacing and punctuation rewritten."""
    passage, start, end = draw(passage_and_span(alphabet=ASCII_PASSAGE_ALPHABET))
    kept = [c for c in passage[start:end] if c.isalnum()]
    if not kept:
        return passage, passage[start:end], None
    pieces = []
    for char in kept:
        pieces.append(draw(st.text(alphabet=NOISE, max_size=2)))
        pieces.append(char.upper() if draw(st.booleans()) else char.lower())
    pieces.append(draw(st.text(alphabet=NOISE, max_size=2)))
    return passage, "".join(pieces), normalised(passage[start:end])


@given(mangled_quotes())
@PROPERTY_SETTINGS
def test_property_case_whitespace_and_punctuation_changes_are_still_found(args):
    passage, quote, expected = args
    if expected is None:
        return

    span = find_quote(passage, quote)

    assert span is not None
    start, end = span
    assert 0 <= start < end <= len(passage)
    assert normalised(passage[start:end]) == expected
    if quote.strip() not in passage:  # found by normalising: the span is trimmed to alnum
        assert passage[start].isalnum() and passage[end - 1].isalnum()


@st.composite
def passages_and_candidate_quotes(draw):
    """A passage and a quote that is random text, or a (possibly re-cased) slice of it."""
    passage = draw(st.text(max_size=120))
    if passage and draw(st.booleans()):
        start = draw(st.integers(0, len(passage) - 1))
        end = draw(st.integers(start + 1, len(passage)))
        text = passage[start:end]
        if draw(st.booleans()):
            text = text.swapcase()
    else:
        text = draw(st.text(max_size=30))
    return passage, text


@given(passages_and_candidate_quotes())
@PROPERTY_SETTINGS
def test_property_whatever_is_found_is_in_the_passage(args):
    passage, text = args
    span = find_quote(passage, text)
    quote = quote_from_text(passage, text)

    if span is None:
        assert quote == Quote(text=text, verified=False)
        return
    start, end = span
    assert 0 <= start < end <= len(passage)
    found = passage[start:end]
    assert found == text.strip() or normalised(found) == normalised(text)
    assert quote == Quote(found, start, end, verified=True)


spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=12)


def covered(span_list) -> set[int]:
    return {i for start, end in span_list for i in range(start, end)}


@given(spans)
@PROPERTY_SETTINGS
def test_property_merge_spans_is_sorted_disjoint_and_covers_the_same_characters(span_list):
    merged = merge_spans(span_list)

    assert all(start < end for start, end in merged)
    assert merged == sorted(merged)
    for (_, end), (next_start, _) in itertools.pairwise(merged):
        assert end < next_start  # disjoint and not touching
    assert covered(merged) == covered(span_list)
    assert span_union_length(span_list) == len(covered(span_list))
    assert merge_spans(merged) == merged


@given(spans, spans)
@PROPERTY_SETTINGS
def test_property_new_quoted_chars_counts_only_unrevealed_characters(span_list, revealed):
    assert new_quoted_chars(span_list, revealed) == len(covered(span_list) - covered(revealed))


@given(passage_and_span(), st.lists(st.integers(0, 10**4), max_size=6))
@PROPERTY_SETTINGS
def test_property_quoted_char_count_is_the_size_of_the_covered_set(args, offsets):
    passage, start, end = args
    quotes = [quote_from_span(passage, start, end)]
    for offset in offsets:
        s = offset % len(passage)
        quotes.append(quote_from_span(passage, s, s + 1 + (offset // 7) % (len(passage) - s)))
    assert all(isinstance(q, Quote) for q in quotes)

    assert quoted_char_count(quotes) == len(covered(q.span for q in quotes))
    assert rendered_length(quotes) == sum(q.end - q.start for q in quotes)
