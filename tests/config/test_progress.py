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


def test_an_export_reports_its_progress_on_stderr_apart_from_the_data(db, capsys):
    from django.core.management import call_command

    from tests.factories import make_debate, play_to_end

    for _ in range(3):
        play_to_end(make_debate())
    log = io.StringIO()
    call_command("export_sessions", "-", "--format", "jsonl", stderr=log)
    assert len(capsys.readouterr().out.splitlines()) == 3  # only the sessions on stdout
    assert log.getvalue().splitlines()[-1] == "3/3 sessions"
