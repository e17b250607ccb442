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
# Story text outside certified quotes
# --------------------------------------------------------------------------------------------------

STORY_RUN_CHARS = 40  # the default: this many story characters in a row outside a quote
_SEED = 10  # normalised characters a seed match needs
_NEAR_COVER = 0.8  # share of a near-verbatim run the story's own words must cover
_GAP = 24  # normalised characters a changed word may leave unmatched between seeds
_DRIFT = 16  # how far a changed word may shift the alignment with the story


@dataclass(frozen=True)
class StoryRun:
    """Story text found outside a certified quote: ``text`` as written, ``story_start`` where
    it comes from in the story, ``exact`` when it is verbatim (up to case, spaces, punctuation)."""

    text: str
    story_start: int
    length: int  # normalised characters of the run (letters and digits)
    exact: bool


def story_runs(text: str, passage: str, min_chars: int = STORY_RUN_CHARS) -> list[StoryRun]:
    """Runs of ``text`` copied from ``passage``: at least ``min_chars`` letters and digits (the
    quote finder's normalisation: case, spaces and punctuation ignored) that match the story
    in a row, or nearly so (a word changed here and there: the story's own words still cover
    80% of the run, in the story's order). What a judge must never be shown outside a quote."""
    needle, offsets = _normalise(text)
    if len(needle) < min_chars or min_chars < _SEED:
        return []
    seeds = _story_seeds(passage)
    hits = []  # (position in the text, position in the story), for every seed that matches
    for i in range(len(needle) - _SEED + 1):
        for at in seeds.get(needle[i : i + _SEED], ()):
            hits.append((i, at))
    runs: list[StoryRun] = []
    for chain in _chains(hits):
        start, end = chain[0][0], chain[-1][0] + _SEED
        if end - start < min_chars:
            continue
        covered = len({i + k for i, _ in chain for k in range(_SEED)})
        if covered < _NEAR_COVER * (end - start):
            continue
        story, story_offsets = _normalised_passage(passage)
        first = chain[0][1]
        exact = covered == end - start and needle[start:end] == story[first : first + end - start]
        runs.append(
            StoryRun(
                text=text[offsets[start] : offsets[end - 1] + 1],
                story_start=story_offsets[first],
                length=end - start,
                exact=exact,
            )
        )
    return runs


def _chains(hits: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Seed hits joined into runs that follow the story: each next hit comes soon after in the
    text and keeps (nearly) the same alignment. Where runs overlap (a story that repeats
    itself offers several alignments), the longest is kept."""
    done: list[list[tuple[int, int]]] = []
    active: list[list[tuple[int, int]]] = []
    for i, at in sorted(hits):
        still: list[list[tuple[int, int]]] = []
        for chain in active:
            (done if i - chain[-1][0] > _GAP else still).append(chain)
        active = still
        best = None
        for chain in active:
            last_i, last_at = chain[-1]
            follows = last_i < i and last_at < at and abs((at - i) - (last_at - last_i)) <= _DRIFT
            if follows and (best is None or len(chain) > len(best)):
                best = chain
        if best is not None:
            best.append((i, at))
        else:
            active.append([(i, at)])
    done += active
    done.sort(key=lambda chain: chain[0][0])
    kept: list[list[tuple[int, int]]] = []
    for chain in done:
        if kept and chain[0][0] < kept[-1][-1][0] + _SEED:
            if chain[-1][0] - chain[0][0] > kept[-1][-1][0] - kept[-1][0][0]:
                kept[-1] = chain
            continue
        kept.append(chain)
    return kept


@lru_cache(maxsize=32)
def _story_seeds(passage: str) -> dict[str, tuple[int, ...]]:
    story, _ = _normalised_passage(passage)
    seeds: dict[str, list[int]] = {}
    for at in range(len(story) - _SEED + 1):
        seeds.setdefault(story[at : at + _SEED], []).append(at)
    return {k: tuple(v) for k, v in seeds.items()}


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
