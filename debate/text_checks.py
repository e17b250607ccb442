"""Characters no text typed into the platform may hold (pure).

- NUL (U+0000): PostgreSQL cannot store it in a text column, so it would fail a save deep in
  the database; it is refused with a clear message instead.
- Bidirectional embedding and isolate controls (U+202A-U+202E, U+2066-U+2069): they reorder how
  the text around them is displayed, so a speech or a note could show the judge something other
  than what it stores ("Trojan source"). Ordinary right-to-left writing never needs them: the
  Unicode bidirectional algorithm lays it out by itself.

Every form field is checked on the way in (config/request_checks.py), and the services check the
texts they save (speeches, notes, drafts, private notes, surveys), so a route added later, or a
program calling a service, cannot slip one past.
"""

from __future__ import annotations

FORBIDDEN = {
    "\x00": "a NUL character",
    **{chr(c): "a bidirectional control character" for c in range(0x202A, 0x202F)},
    **{chr(c): "a bidirectional control character" for c in range(0x2066, 0x206A)},
}


def text_problem(text: str, what: str = "The text") -> str | None:
    """Why ``text`` cannot be saved, in words for the person who typed it; None when it can."""
    for position, char in enumerate(text):
        if char in FORBIDDEN:
            return (
                f"{what} contains {FORBIDDEN[char]} (U+{ord(char):04X}) at position "
                f"{position + 1}, which no text here may hold; remove it and send again."
            )
    return None
