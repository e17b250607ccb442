"""Stories as the NYU platform holds them: lists of CoreNLP (Penn Treebank) tokens, rendered to
text exactly as its renderer does (jjm's `Text.render`), and spans converted between tokens and
our characters.

The NYU platform shows a quote by rendering the quote's own token slice, so this module renders a
slice on its own, as they do: rendering starts afresh at the slice (a closing quotation mark that
begins a slice opens one there), which is why a quote's text may differ from the same span of the
whole story by a space. Our passage text is their rendering of the whole story, except that the
line-break tokens they write with a space on each side are line breaks without the spaces, so
that paragraphs read as paragraphs.

Pure: no Django.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence

LINE_BREAK = "\n"

# jjm.ling.Text, in its own order. Membership is tested on the *normalised* token, as there (so
# "''", which normalises to a quotation mark, never matches its own entry).
_NO_SPACE_BEFORE = frozenset(
    {".", ",", "!", "?", ";", ":", "''", "n't", "'s", "'re", "'ve", "'ll", "na", "'m", "'d"}
    | {"%", "-", "+", "-RRB-", "-RCB-", "-RSB-", ")", "]", "}", "/.", "/?", "°"}
)
_NO_SPACE_AFTER = frozenset(
    {"``", "$", "£", "€", "#", "-", "-LRB-", "-LCB-", "-LSB-", "(", "[", "{"}
)
_HIDDEN = frozenset({"%pw"})
_NORMAL = {
    "`": "'",
    "``": '"',
    "''": '"',
    "-LRB-": "(",
    "-RRB-": ")",
    "-LCB-": "{",
    "-RCB-": "}",
    "-LSB-": "[",
    "-RSB-": "]",
    "/.": ".",
    "/?": "?",
    "/-": "-",
    "--": "-",
}
_SINGLE_QUOTES = frozenset({"'", "`"})
_DOUBLE_QUOTES = frozenset({"''", "``", '"'})


def normalize_token(token: str) -> str:
    """A Penn Treebank token as the text it stands for (jjm `Text.normalizeToken`)."""
    return _NORMAL.get(token) or token.replace("\\/", "/")


def render_text(tokens: Sequence[str]) -> str:
    """The tokens as the NYU platform renders them (jjm `Text.render`): a quote is
    `render_text(tokens[begin:end])`, and its length is what the paper counts."""
    return "".join(piece for _, piece in _pieces(tokens, line_breaks=False))


def render_passage(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The whole story as our passage text, with each token's [start, end) character span in it:
    `render_text` of all tokens, line-break tokens written without the spaces around them."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    for index, piece in _pieces(tokens, line_breaks=True):
        while len(spans) < index:  # hidden tokens render as nothing, where they stand
            spans.append((length, length))
        start = length + (len(piece) - len(piece.lstrip(" ")))
        parts.append(piece)
        length += len(piece)
        spans.append((start, length))
    while len(spans) < len(tokens):
        spans.append((length, length))
    return "".join(parts), spans


def char_span(token_spans: Sequence[tuple[int, int]], begin: int, end: int) -> tuple[int, int]:
    """The character span of tokens [begin, end), clamped to the story (one published span
    runs past its end); an empty span stays empty at its place."""
    count = len(token_spans)
    begin = min(max(begin, 0), count)
    end = min(max(end, begin), count)
    if begin == end:
        at = token_spans[begin][0] if begin < count else (token_spans[-1][1] if count else 0)
        return (at, at)
    return (token_spans[begin][0], token_spans[end - 1][1])


def token_span(token_spans: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The smallest token span [begin, end) covering characters [start, end) (a selection that
    cuts a token takes the whole token)."""
    ends = [e for _, e in token_spans]
    starts = [s for s, _ in token_spans]
    begin = bisect.bisect_right(ends, start)
    stop = bisect.bisect_left(starts, end)
    return (begin, max(begin, stop))


_TOKEN = re.compile(r"\n|[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)*|[^\sA-Za-z0-9]")


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """A plain text's tokens and their character spans (to write passages that were not imported
    from tokens): words, single punctuation marks and line breaks."""
    tokens, spans = [], []
    for match in _TOKEN.finditer(text):
        tokens.append(match.group())
        spans.append(match.span())
    return tokens, spans


# --------------------------------------------------------------------------------------------------
# The renderer's state machine
# --------------------------------------------------------------------------------------------------


def _pieces(tokens: Sequence[str], *, line_breaks: bool) -> Iterator[tuple[int, str]]:
    """(token index, rendered piece with the space before it) for each shown token."""
    single_only = sum(1 for t in tokens if t in _SINGLE_QUOTES) == 1
    skip_space, in_single, in_double = True, False, False
    previous_break = False
    for index, token in enumerate(tokens):
        if token in _HIDDEN:
            continue
        normal = normalize_token(token)
        if single_only and token == "'":
            skip_prev, skip_next, now_single, now_double = True, False, False, in_double
        else:
            skip_prev = (
                skip_space or (in_single and token == "'") or (in_double and token in ("''", '"'))
            )
            skip_next = (
                normal in _NO_SPACE_AFTER
                or (not in_single and token in ("`", "'"))
                or (not in_double and token in ("``", '"'))
            )
            now_single = (token in _SINGLE_QUOTES) != in_single
            now_double = (token in _DOUBLE_QUOTES) != in_double
        spaced = not (skip_prev or normal in _NO_SPACE_BEFORE)
        is_break = token == LINE_BREAK
        if line_breaks and (is_break or previous_break):
            spaced = False
        yield index, (" " + normal) if spaced else normal
        skip_space, in_single, in_double = skip_next, now_single, now_double
        previous_break = is_break
