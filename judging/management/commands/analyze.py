"""python manage.py analyze: the paper's Table 1 per setting, the honest/dishonest split and
tests of significance, from the sessions in the database."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from judging.analysis import TABLE_COLUMNS, AnalysisFilters, analysis_run
from judging.metrics import SPLITS, SettingMetrics


class Command(BaseCommand):
    help = "Judge accuracy, efficiency and calibration per setting (Table 1 of Michael et al.)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON object per setting.")
        parser.add_argument(
            "--included-in-paper", action="store_true", help="Only sessions the paper used."
        )
        parser.add_argument(
            "--setting",
            action="append",
            default=[],
            help="Only this setting, e.g. human_debate (repeatable).",
        )
        parser.add_argument("--since", type=date.fromisoformat, help="Sessions from YYYY-MM-DD.")
        parser.add_argument("--split-by", choices=sorted(SPLITS), help="Split settings further.")
        parser.add_argument(
            "--no-offline", action="store_true", help="Leave offline judgments out."
        )
        parser.add_argument(
            "--mixed-model",
            action="store_true",
            help="Also fit a mixed logit of correctness on setting, judge as random effect.",
        )

    def handle(self, *args, **options) -> None:
        try:
            filters = AnalysisFilters(
                included_in_paper=True if options["included_in_paper"] else None,
                settings=tuple(options["setting"]),
                since=options["since"],
                split=options["split_by"],
                offline=not options["no_offline"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        analysis = analysis_run(filters, mixed_model=options["mixed_model"])
        if options["json"]:
            self.stdout.write(json.dumps(analysis.as_json(), indent=2))
            return
        if not analysis.table:
            self.stdout.write("No finished sessions match.")
            return
        width = max(len(k) for k in analysis.table) + 2
        header = "setting".ljust(width) + "".join(f"{t:>11}" for _, t in TABLE_COLUMNS)
        self.stdout.write(f"{analysis.sessions} finished sessions.\n\n{header}")
        for key, m in analysis.table.items():
            self.stdout.write(key.ljust(width) + "".join(_cell(m, c) for c, _ in TABLE_COLUMNS))
        self.stdout.write("\nAccuracy by the consultant's honesty (Figure 4):")
        for key, m in analysis.table.items():
            if m.n_honest or m.n_dishonest:
                self.stdout.write(
                    f"  {key}: honest {_pct(m.accuracy_honest)} (n={m.n_honest}), "
                    f"dishonest {_pct(m.accuracy_dishonest)} (n={m.n_dishonest})"
                )
        if analysis.comparisons:
            self.stdout.write("\nTwo-proportion tests of accuracy:")
            for test in analysis.comparisons:
                self.stdout.write(
                    f"  {test.a} vs {test.b}: z = {test.z:.2f}, p = {test.p_value:.3f}"
                )
        if analysis.mixed_model:
            model = analysis.mixed_model
            self.stdout.write(f"\n{model.description}")
            for name, (mean, sd) in model.coefficients.items():
                self.stdout.write(f"  {name}: {mean:+.2f} (sd {sd:.2f})")
            self.stdout.write(f"  judge random-effect sd: {model.judge_sd:.2f}")


def _cell(m: SettingMetrics, column: str) -> str:
    if column == "n":
        return f"{m.n:>11}"
    if column == "accuracy":
        return f"{_pct(m.accuracy):>11}"
    if column == "rounds":
        if m.rounds_mean is None:
            return f"{'-':>11}"
        sd = f"±{m.rounds_sd:.1f}" if m.rounds_sd is not None else ""
        return f"{m.rounds_mean:.1f}{sd}".rjust(11)
    value = getattr(m, column)
    if value is None:
        return f"{'-':>11}"
    if column in ("quotes_per_round", "chars_per_round"):
        return f"{value:>11.0f}"
    return f"{value:>11.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
