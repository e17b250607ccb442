"""An independent detector of story text: every window of WINDOW letters and digits (case,
spaces and punctuation ignored) of a text that also occurs in the story. Simpler than the
platform's own `debate.quotes.story_runs` on purpose, so the two check each other: it finds
verbatim copies only, by brute force over a set of the story's windows."""

from __future__ import annotations

from functools import lru_cache

WINDOW = 40


def letters(text: str) -> str:
    return "".join(c.lower() for c in text if c.isalnum())


@lru_cache(maxsize=16)
def _windows(story: str) -> frozenset[str]:
    flat = letters(story)
    return frozenset(flat[i : i + WINDOW] for i in range(len(flat) - WINDOW + 1))


def story_windows(text: str, story: str) -> list[str]:
    """The windows of ``text`` found in ``story`` (empty: none)."""
    flat, windows = letters(text), _windows(story)
    return [
        flat[i : i + WINDOW]
        for i in range(len(flat) - WINDOW + 1)
        if flat[i : i + WINDOW] in windows
    ]
