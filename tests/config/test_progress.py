"""Progress of long commands: one updated line on a terminal, a line per tenth in a log."""

from __future__ import annotations

import io

from config.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_tenth_never_one_per_item():
    log = io.StringIO()
    bar = Progress(log, "files", 1000)
    for done in range(1, 1001):
        bar.update(done)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0] == "1/1000 files"  # it started
    assert lines[1] == "100/1000 files" and lines[-1] == "1000/1000 files"
    assert len(lines) == 11


def test_a_terminal_gets_one_line_updated_in_place():
    terminal = Terminal()
    bar = Progress(terminal, "sessions", 50)
    for done in range(1, 51):
        bar.update(done, note=f"{done} ok")
    bar.close()
    out = terminal.getvalue()
    assert out.count("\n") <= 1 and "\r" in out and "50/50" in out
