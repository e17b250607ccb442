from collections import Counter
from pathlib import Path

from django.core.management.base import (
    CommandError,
    CommandParser,
)

from debate.management.formatted_help import FormattedHelpCommand
from debate.quality.format import QualityFilter, paper_filter
from debate.quality.importer import QualityImportSummary, quality_import

DESCRIPTION = """\
Import QuALITY JSON-lines files (HTML or .htmlstripped) as passages (source "quality") and
questions. Re-importing updates rows in place. Questions without a gold label (test files) are
skipped and counted; bad lines are reported with file and line number and skipped.

The best distractor is the wrong option most untimed annotators voted for, read from
untimed_best_distractor (the real files' name) or untimed_eval3_distractor (the README's).
Questions with no usable vote are named in the summary.

Filters combine; a question left out is counted under the first filter it fails.
--paper-filter applies the authors' whole selection at once: Project Gutenberg articles;
gold label equal to the writer's; every untimed annotator right; hard, i.e. QuALITY's difficult
flag and speed annotators' accuracy at most 0.5; the mean context rating, rounded half up,
above 1 (1.4 is out, 1.5 in). Other filters given with it tighten it further.
An article none of whose questions is kept gets no passage.
"""


class Command(FormattedHelpCommand):
    help = DESCRIPTION

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "files", nargs="+", type=Path, metavar="FILE", help="QuALITY JSON-lines file(s)."
        )
        parser.add_argument(
            "--hard-only", action="store_true", help="Keep questions marked difficult only."
        )
        parser.add_argument(
            "--source",
            metavar="S",
            help="Keep articles whose source contains S (case-insensitive), e.g. gutenberg.",
        )
        parser.add_argument(
            "--min-context",
            type=float,
            metavar="N",
            help="Keep questions whose mean untimed context rating (1-4) is above N.",
        )
        parser.add_argument(
            "--require-unanimous-untimed",
            action="store_true",
            help="Keep questions that every untimed annotator (at least one) answered correctly.",
        )
        parser.add_argument(
            "--paper-filter",
            action="store_true",
            dest="use_paper_filter",
            help="The authors' selection: --hard-only --source gutenberg "
            "--require-unanimous-untimed, gold label equal to the writer's, speed annotators' "
            "accuracy at most 0.5, and the mean context rating rounded half up above 1.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be imported; write nothing."
        )

    def handle(
        self,
        *args,
        files: list[Path],
        hard_only: bool,
        source: str | None,
        min_context: float | None,
        require_unanimous_untimed: bool,
        use_paper_filter: bool,
        dry_run: bool,
        **options,
    ) -> None:
        filters = QualityFilter(
            hard_only=hard_only,
            source=source,
            min_context=min_context,
            unanimous_untimed=require_unanimous_untimed,
        )
        if use_paper_filter:
            try:
                filters = paper_filter(filters)
            except ValueError as error:
                raise CommandError(str(error)) from error
        try:
            summary = quality_import(paths=files, filters=filters, dry_run=dry_run)
        except OSError as error:
            raise CommandError(str(error)) from error
        for problem in summary.problems:
            self.stderr.write(problem)
        for line in _report(summary):
            self.stdout.write(line)


def _report(summary: QualityImportSummary) -> list[str]:
    lines = []
    if summary.dry_run:
        lines.append("Dry run: nothing was written; the counts are what an import would do.")
    lines += [
        f"Lines read: {summary.lines_read} from {summary.files} file(s).",
        f"Passages: {_outcomes(summary.passages)}.",
        f"Questions: {_outcomes(summary.questions)}.",
        _reasons("Questions filtered out", summary.questions_filtered),
        _reasons("Questions skipped", summary.questions_skipped),
        _reasons("Lines skipped", summary.lines_skipped),
    ]
    if summary.articles_without_questions:
        lines.append(
            f"Articles with no question kept (no passage written): "
            f"{summary.articles_without_questions}."
        )
    if summary.articles_rejected:
        lines.append(f"Articles rejected by validation: {summary.articles_rejected}.")
    missing = summary.without_best_distractor
    if missing:
        lines.append(
            f"Questions with no usable best-distractor vote: {len(missing)} "
            f"({', '.join(missing)}). They are imported, but a session on one needs a distractor "
            "chosen by hand (the admin's best distractor field); none is guessed."
        )
    return lines


def _outcomes(counts: Counter[str]) -> str:
    return ", ".join(
        f"{counts[outcome]} {outcome}" for outcome in ("created", "updated", "unchanged")
    )


def _reasons(title: str, counts: Counter[str]) -> str:
    if not counts:
        return f"{title}: 0."
    detail = "; ".join(f"{reason}: {n}" for reason, n in sorted(counts.items()))
    return f"{title}: {counts.total()} ({detail})."
