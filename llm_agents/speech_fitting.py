"""Making an agent's speech keep the rules when re-asking did not: pure, on certified segments.

An agent is asked again, with the reason, when its speech breaks a rule (llm_agents/services.py).
If it still does after the last attempt, `fit_speech` cuts it down rather than lose the turn:

1. a quote over the round's or the session's quote budget is dropped whole, never unwrapped
   into plain text (that would show the story outside a certified quote);
2. story text the agent wrote outside a quote (or in a quote that does not match the story) is
   taken out, leaving "[…]";
3. whole sentences come off the end until the speech fits its character limit; a last sentence
   still too long is cut at a word; a quote at the end goes whole.

It works on the segments `debate/quotes.py` certifies, never on markup with patterns, and the
result is checked with the same `protocol.check_speech` that every speech passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from debate import protocol
from debate.quotes import (
    Quote,
    QuoteProblem,
    QuoteRequest,
    Segment,
    Text,
    certify,
    parse_markup,
    quoted_char_count,
    rendered_length,
    span_union_length,
    story_runs,
    to_markup,
)

ELIDED = "[…]"
FALLBACK = "I have nothing to add in this round."
REFITS = 3  # fitting passes before the fallback speech
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def agent_segments(markup: str, passage: str) -> list[Segment]:
    """An agent's markup, certified: every quote is found by its text (an agent's offsets are
    not trusted, and a bad pair of them is no reason to lose the speech)."""
    parts = [
        QuoteRequest(part.text) if isinstance(part, QuoteRequest) else part
        for part in parse_markup(markup)
    ]
    segments = certify(parts, passage)
    assert not isinstance(segments, QuoteProblem)  # text quotes are never malformed
    return segments


def fit_speech(
    markup: str,
    passage: str,
    spec: protocol.RoundSpec,
    structure: protocol.Structure | None = None,
    earlier: Iterable[tuple[int, int]] = (),
) -> str:
    """The speech, cut down until it keeps every rule of its round (see the module doc)."""
    structure = structure or protocol.Structure(opening=(spec,), repeating=())
    earlier = list(earlier)
    segments = agent_segments(markup, passage)
    # A cut can change what a quote is once read again (an unverified quote cut to a few words
    # may now be found in the story, and count against the budget): fit until the speech, read
    # as the room will read it, keeps every rule.
    for _ in range(REFITS):
        segments = _within_quote_budget(segments, spec, structure, earlier)
        segments = _without_story_runs(segments, passage, structure.story_run_limit)
        segments = _within_char_limit(segments, spec.char_limit)
        if not any(s.text.strip() for s in segments) and not structure.allow_empty_speeches:
            segments = [
                Text(FALLBACK[: spec.char_limit] if spec.char_limit is not None else FALLBACK)
            ]
        fitted = to_markup(segments)
        segments = agent_segments(fitted, passage)
        if not protocol.check_speech(segments, spec, structure, passage, earlier):
            break
    else:
        fitted = FALLBACK[: spec.char_limit] if spec.char_limit is not None else FALLBACK
    assert not protocol.check_speech(
        agent_segments(fitted, passage), spec, structure, passage, earlier
    ), "fit_speech left a speech that breaks a rule"
    return fitted


def _within_quote_budget(
    segments: list[Segment],
    spec: protocol.RoundSpec,
    structure: protocol.Structure,
    earlier: Sequence[tuple[int, int]],
) -> list[Segment]:
    def over() -> bool:
        quoted = quoted_char_count(segments)
        if spec.quote_limit is not None and quoted > spec.quote_limit:
            return True
        cap = structure.global_quote_limit
        spans = [*earlier, *(s.span for s in segments if isinstance(s, Quote) and s.span)]
        return cap is not None and span_union_length(spans) > cap

    segments = list(segments)
    while over():
        last = max(i for i, s in enumerate(segments) if isinstance(s, Quote) and s.span)
        del segments[last]  # the whole quote: its words must not stay as plain text
    return _joined(segments)


def _without_story_runs(segments: list[Segment], passage: str, limit: int | None) -> list[Segment]:
    if limit is None:
        return segments
    kept: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Quote) and segment.verified:
            kept.append(segment)
            continue
        text = segment.text
        for _ in range(20):  # each pass takes out every run found; a run's cut may reveal none
            runs = story_runs(text, passage, limit)
            if not runs:
                break
            for run in runs:
                text = text.replace(run.text, f" {ELIDED} ", 1)
        else:
            text = ELIDED
        if isinstance(segment, Quote):
            # A quote that does not match the story counts as plain text: keep what is left.
            if text.strip() and text.strip() != ELIDED:
                kept.append(Quote(text=text.strip(), verified=False))
        elif text:
            kept.append(Text(re.sub(r" {2,}", " ", text)))
    return _joined(kept)


def _within_char_limit(segments: list[Segment], limit: int | None) -> list[Segment]:
    segments = list(segments)
    if limit is None:
        return segments
    while segments and rendered_length(segments) > limit:
        last = segments[-1]
        if isinstance(last, Quote):
            segments.pop()  # a quote goes whole
            continue
        sentences = _SENTENCE.split(last.text)
        over = rendered_length(segments) - limit
        if len(sentences) > 1 and len(last.text) - len(sentences[-1]) - 1 >= 0:
            shorter = last.text[: len(last.text) - len(sentences[-1])].rstrip()
        else:
            keep = max(0, len(last.text) - over)
            shorter = last.text[:keep]
            if " " in shorter.strip():
                shorter = shorter[: shorter.rstrip().rfind(" ")]  # at a word
        segments[-1] = Text(shorter)
        if not shorter.strip():
            segments.pop()
    return segments


def _joined(segments: Iterable[Segment]) -> list[Segment]:
    """Adjacent text pieces as one (so sentences are found across what was taken out)."""
    joined: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Text) and joined and isinstance(joined[-1], Text):
            joined[-1] = Text(joined[-1].text + segment.text)
        elif not (isinstance(segment, Text) and not segment.text):
            joined.append(segment)
    return joined
