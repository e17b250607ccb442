"""Quotes: finding, certifying and counting the passage text a speech reveals.

The server certifies every quote; a client's claim is never trusted. A human selects a span of
the passage, so the quote arrives as offsets and its text is read from the passage. An LLM writes
``<quote>...</quote>``, so its text is searched for in the passage: exactly first, then with case,
whitespace and punctuation ignored. A quote that cannot be found is kept, marked unverified, and
counts as ordinary text (it reveals nothing certified about the passage).

Speeches are stored as markup, ``<quote>...</quote>`` around each quote, beside the list of quote
spans in order; ``parse_markup`` reads both forms below, ``to_markup`` writes the stored one:

- ``<quote>text</quote>``: a quote to be found in the passage;
- ``<quote start="12" end="40">text</quote>``: a selection by offsets (end exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_QUOTE_TAG = re.compile(
    r"<quote(?:\s+start=\"(?P<start>-?\d+)\"\s+end=\"(?P<end>-?\d+)\")?\s*>(?P<text>.*?)</quote>",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Quote:
    """A quote as revealed: for a verified one, ``text`` is exactly passage[start:end]."""

    text: str
    start: int | None = None
    end: int | None = None
    verified: bool = False

    @property
    def span(self) -> tuple[int, int] | None:
        if self.verified and self.start is not None and self.end is not None:
            return (self.start, self.end)
        return None


Segment = Text | Quote


@dataclass(frozen=True)
class QuoteRequest:
    """A quote as a client asked for it, before the server certifies it."""

    text: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class QuoteProblem:
    """A quote request that is not merely unverified but malformed (e.g. offsets outside)."""

    message: str

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------------
# Markup
# --------------------------------------------------------------------------------------------------


def parse_markup(markup: str) -> list[Text | QuoteRequest]:
    """Split a speech into text and quote requests; an unclosed tag stays as literal text."""
    parts: list[Text | QuoteRequest] = []
    position = 0
    for match in _QUOTE_TAG.finditer(markup):
        if match.start() > position:
            parts.append(Text(markup[position : match.start()]))
        start, end = match.group("start"), match.group("end")
        parts.append(
            QuoteRequest(
                text=match.group("text"),
                start=int(start) if start is not None else None,
                end=int(end) if end is not None else None,
            )
        )
        position = match.end()
    if position < len(markup):
        parts.append(Text(markup[position:]))
    return parts


def to_markup(segments: Iterable[Segment]) -> str:
    """The stored form of a speech: plain text with ``<quote>...</quote>`` around quotes."""
    return "".join(
        f"<quote>{seg.text}</quote>" if isinstance(seg, Quote) else seg.text for seg in segments
    )


def to_editor_markup(segments: Iterable[Segment]) -> str:
    """A speech as the editor writes drafts: a verified quote with its offsets (so it comes back
    as the same selection), an unverified one by its text."""
    return "".join(
        (
            f'<quote start="{seg.start}" end="{seg.end}">{seg.text}</quote>'
            if seg.span
            else f"<quote>{seg.text}</quote>"
        )
        if isinstance(seg, Quote)
        else seg.text
        for seg in segments
    )


def certify(parts: Iterable[Text | QuoteRequest], passage: str) -> list[Segment] | QuoteProblem:
    """Turn a client's quote requests into certified quotes against ``passage``."""
    segments: list[Segment] = []
    for part in parts:
        if isinstance(part, Text):
            if part.text:
                segments.append(part)
            continue
        if part.start is not None and part.end is not None:
            quote = quote_from_span(passage, part.start, part.end)
        else:
            quote = quote_from_text(passage, part.text)
        if isinstance(quote, QuoteProblem):
            return quote
        segments.append(quote)
    return segments


def certify_markup(markup: str, passage: str) -> list[Segment] | QuoteProblem:
    return certify(parse_markup(markup), passage)


# --------------------------------------------------------------------------------------------------
# Finding quotes
# --------------------------------------------------------------------------------------------------


def quote_from_span(passage: str, start: int, end: int) -> Quote | QuoteProblem:
    """A human's selection: offsets must lie inside the passage; the text is the passage's."""
    if not (0 <= start < end <= len(passage)):
        return QuoteProblem(
            f"The quoted span {start}-{end} is not inside the story (0-{len(passage)})."
        )
    return Quote(text=passage[start:end], start=start, end=end, verified=True)


def quote_from_text(passage: str, text: str) -> Quote:
    """An LLM's quote: found exactly, else ignoring case, whitespace and punctuation; if neither
    finds it, kept as unverified text."""
    span = find_quote(passage, text)
    if span is None:
        return Quote(text=text, verified=False)
    start, end = span
    return Quote(text=passage[start:end], start=start, end=end, verified=True)


def find_quote(passage: str, text: str) -> tuple[int, int] | None:
    """The span of the first occurrence of ``text`` in ``passage``, or None."""
    stripped = text.strip()
    if not stripped:
        return None
    exact = passage.find(stripped)
    if exact >= 0:
        return (exact, exact + len(stripped))
    needle, _ = _normalise(stripped)
    if not needle:
        return None
    haystack, offsets = _normalised_passage(passage)
    found = haystack.find(needle)
    if found < 0:
        return None
    return (offsets[found], offsets[found + len(needle) - 1] + 1)


@lru_cache(maxsize=64)
def _normalised_passage(passage: str) -> tuple[str, tuple[int, ...]]:
    return _normalise(passage)


def _normalise(text: str) -> tuple[str, tuple[int, ...]]:
    """Keep letters and digits only, lower-cased, with each kept character's original offset.

    Dropping whitespace entirely (not just collapsing it) makes the match robust to tokenised
    text such as ``do n't`` or ``end .``; a quote long enough to argue with stays unambiguous.
    """
    kept: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if char.isalnum():
            lowered = char.lower()
            kept.append(lowered if len(lowered) == 1 else char)
            offsets.append(index)
    return "".join(kept), tuple(offsets)


# --------------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------------


def rendered_length(segments: Iterable[Segment]) -> int:
    """Characters as the reader sees them, quote text included."""
    return sum(len(seg.text) for seg in segments)


def quoted_char_count(segments: Iterable[Segment]) -> int:
    """Passage characters revealed by verified quotes, each counted once."""
    return span_union_length(seg.span for seg in segments if isinstance(seg, Quote) and seg.span)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans covering the same characters (touching spans join)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def span_union_length(spans: Iterable[tuple[int, int]]) -> int:
    return sum(end - start for start, end in merge_spans(spans))


def new_quoted_chars(
    spans: Sequence[tuple[int, int]], already_revealed: Iterable[tuple[int, int]]
) -> int:
    """Characters in ``spans`` not already revealed earlier."""
    before = merge_spans(already_revealed)
    return span_union_length([*before, *spans]) - span_union_length(before)
