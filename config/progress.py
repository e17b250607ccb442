"""Progress of long commands (imports, exports, batch runs), one way for all: on a terminal a
tqdm bar, one line updated in place; in a log (not a terminal) a plain line at each tenth of the
work and at the end, never one line per item."""

from __future__ import annotations

from typing import TextIO

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class Progress:
    def __init__(self, stream: TextIO | OutputWrapper, unit: str, total: int | None = None) -> None:
        stream = getattr(stream, "_out", stream)  # a command's OutputWrapper: its own file
        self.stream, self.unit, self.total = stream, unit, total
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.bar = (
            tqdm(total=total, unit=f" {unit}", file=stream, dynamic_ncols=True, leave=True)
            if self.interactive
            else None
        )
        self._last_tenth = -1

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """``done`` of ``total`` items so far, with an optional note (failures, cost)."""
        total = total if total is not None else self.total
        if self.bar is not None:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.n = done
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.refresh()
            return
        # A line at each new tenth; the last (done == total) is always a new one.
        tenth = min(10, int(10 * done / total)) if total else 10
        if tenth <= self._last_tenth:
            return
        self._last_tenth = tenth
        line = f"{done}/{total} {self.unit}" if total is not None else f"{done} {self.unit}"
        self.stream.write(line + (f" · {note}" if note else "") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
