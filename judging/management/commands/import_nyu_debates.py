"""python manage.py import_nyu_debates PATH: the NYU debate dataset into the database."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.progress import Progress
from judging.nyu.importer import nyu_import


class Command(BaseCommand):
    help = (
        "Import NYU debate files (Michael et al. 2023) from PATH: the published pub/ folder "
        "(debates-metadata.json or .jsonl, debates/profiles.json and debate files anywhere "
        "below it), or one file. Debates already imported are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        started = time.perf_counter()
        bar = Progress(self.stdout, "files")
        try:
            s = nyu_import(path=path, progress=lambda done, total: bar.update(done, total))
        except FileNotFoundError as error:
            raise CommandError(str(error)) from error
        finally:
            bar.close()
        by_status = ", ".join(f"{n} {k}" for k, n in sorted(s.sessions_by_status.items()))
        by_setting = ", ".join(f"{n} {k}" for k, n in sorted(s.sessions_by_setting.items()))
        self.stdout.write(
            f"Imported {s.sessions} sessions from {s.files} files in "
            f"{time.perf_counter() - started:.1f} s.\n"
            f"  by status: {by_status or 'none'}\n"
            f"  by setting: {by_setting or 'none'}\n"
            f"  passages created: {s.passages_created}; questions created: "
            f"{s.questions_created}\n"
            f"  speeches: {s.speeches}; quotes: {s.quotes}; votes on ending: {s.votes}; "
            f"judgments: {s.judgments}; offline judgments: {s.offline_judgments}; "
            f"surveys: {s.surveys}\n"
            f"  profiles read: {s.profiles}\n"
            f"  already imported, left as they were: {s.already_imported}"
        )
        if s.surveys_without_seat:
            self.stdout.write(
                f"  {s.surveys_without_seat} surveys by someone who held no seat of their debate "
                "were not kept"
            )
        for file, what in s.other_files:
            self.stdout.write(f"Not a debate (known NYU file, not imported): {file}: {what}")
        if s.skipped:
            self.stdout.write(f"Skipped {len(s.skipped)}:")
            for file, reason in s.skipped:
                self.stdout.write(f"  {file}: {reason}")
