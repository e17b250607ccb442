"""python manage.py export_sessions: sessions as JSON lines, CSV or NYU debate files."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import FieldError, ValidationError
from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from debate.models import Session
from judging.export import FORMATS, export_sessions


class Command(BaseCommand):
    help = (
        "Export sessions for publication. OUT is a file for jsonl and csv ('-' for standard "
        "output) and a folder or a .zip file for nyu."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="Where to write.")
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument(
            "--anonymize",
            action="store_true",
            help="Stable pseudonyms for people; free-text survey answers naming anyone dropped.",
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="Django lookup on sessions, e.g. status=finished, protocol=debate, "
            "included_in_paper=true, batch_link__batch__batch_id=nightly-1 (repeatable).",
        )

    def handle(self, *args, out: str, **options) -> None:
        sessions = Session.objects.order_by("pk")
        try:
            for item in options["filter"]:
                field, value = item.split("=", 1)
                parsed = {"true": True, "false": False}.get(value.lower(), value)
                sessions = sessions.filter(**{field: parsed})
            count = sessions.count()
        except ValueError as error:
            raise CommandError(f"Write each --filter as FIELD=VALUE: {error}") from error
        except (FieldError, ValidationError) as error:
            raise CommandError(f"Bad --filter: {error}") from error
        fmt = options["format"]
        anonymize = options["anonymize"]
        # On stderr: stdout may be the export itself.
        bar = Progress(self.stderr, "sessions", count)
        report = {"progress": lambda done, total: bar.update(done, total)}
        if fmt == "nyu":
            if out == "-":
                raise CommandError("The nyu format writes a folder or a .zip file, not stdout.")
            written = export_sessions(
                sessions=sessions, fmt=fmt, out=Path(out), anonymize=anonymize, **report
            )
        elif out == "-":
            written = export_sessions(
                sessions=sessions, fmt=fmt, out=sys.stdout, anonymize=anonymize, **report
            )
        else:
            with open(out, "w", encoding="utf-8", newline="") as stream:
                written = export_sessions(
                    sessions=sessions, fmt=fmt, out=stream, anonymize=anonymize, **report
                )
        bar.close()
        if out != "-":
            self.stdout.write(f"Wrote {written} of {count} sessions as {fmt} to {out}.")
