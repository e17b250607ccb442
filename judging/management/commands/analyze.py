"""python manage.py analyze: the paper's Table 1 per setting, the honest/dishonest split and
tests of significance, position bias, debater win rates and ratings, from the sessions in the
database; with --batch, a batch run's sessions beside the paper's Table 1."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from judging.analysis import (
    TABLE_COLUMNS,
    Analysis,
    AnalysisFilters,
    PaperReference,
    analysis_run,
    paper_reference,
)
from judging.comparisons import Proportion
from judging.metrics import SETTINGS, SPLITS


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
        parser.add_argument(
            "--batch",
            action="append",
            default=[],
            help="Only this batch run's sessions, by batch id (repeatable); printed beside the "
            "paper's Table 1.",
        )
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
                batches=tuple(options["batch"]),
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        analysis = analysis_run(filters, mixed_model=options["mixed_model"])
        paper = paper_reference() if filters.batches else None
        if options["json"]:
            data = analysis.as_json()
            if paper is not None:
                data["paper"] = paper.as_json()
            self.stdout.write(json.dumps(data, indent=2))
            return
        if not analysis.table:
            self.stdout.write("No finished sessions match.")
            if paper is not None:
                self._beside_paper(analysis, paper)
            return
        width = max(len(k) for k in analysis.table) + 2
        header = "setting".ljust(width) + "".join(f"{t:>11}" for _, t in TABLE_COLUMNS)
        self.stdout.write(f"{analysis.sessions} finished sessions.\n\n{header}")
        for key, m in analysis.table.items():
            self.stdout.write(key.ljust(width) + _cells(m.as_dict()))
        if paper is not None:
            self._beside_paper(analysis, paper)
        self.stdout.write("\nAccuracy by the consultant's honesty (Figure 4):")
        for key, m in analysis.table.items():
            if m.n_honest or m.n_dishonest:
                self.stdout.write(
                    f"  {key}: honest {_pct(m.accuracy_honest)} (n={m.n_honest}), "
                    f"dishonest {_pct(m.accuracy_dishonest)} (n={m.n_dishonest})"
                )
        chosen = {k: m for k, m in analysis.table.items() if m.n_chose}
        if chosen:
            self.stdout.write(
                "\nOpen rules: the expert's choice, and accuracy given it (Kenton et al. 2024):"
            )
            for key, m in chosen.items():
                self.stdout.write(
                    f"  {key}: chose correct {_pct(m.chose_correct_share)} "
                    f"({m.chose_correct}/{m.n_chose}); judge accuracy when it chose correct "
                    f"{_pct(m.accuracy_chose_correct)} (n={m.chose_correct}), incorrect "
                    f"{_pct(m.accuracy_chose_incorrect)} (n={m.n_chose_incorrect})"
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
        self._measures(analysis)

    def _beside_paper(self, analysis: Analysis, paper: PaperReference) -> None:
        """The batch's rows of the paper's four settings (and any other it has) beside the
        paper's."""
        batch = f"batch {', '.join(analysis.filters.batches)}"
        settings = [*SETTINGS, *(k for k in analysis.table if k not in SETTINGS)]
        width = max(len(k) for k in settings) + 2
        source = max(len(batch), len("paper")) + 2
        self.stdout.write(f"\nBeside the paper ({paper.description}):")
        header = "setting".ljust(width) + "source".ljust(source)
        self.stdout.write(header + "".join(f"{t:>11}" for _, t in TABLE_COLUMNS))
        for key in settings:
            rows = [(batch, analysis.table[key].as_dict())] if key in analysis.table else []
            if key in paper.rows:
                rows.append(("paper", paper.rows[key]))
            for name, values in rows:
                self.stdout.write(key.ljust(width) + name.ljust(source) + _cells(values))

    def _measures(self, analysis: Analysis) -> None:
        self.stdout.write(
            "\nPosition bias: judgings preferring the answer shown first (binomial test "
            "against 50%), and accuracy by the correct answer's shown position:"
        )
        for key, b in analysis.position_bias.items():
            p = "-" if b.first_p_value is None else f"{b.first_p_value:.3f}"
            test = b.between
            between = (
                f", z = {test.z:.2f}, p = {test.p_value:.3f}"
                if test is not None and math.isfinite(test.p_value)
                else ""
            )
            self.stdout.write(
                f"  {key}: first preferred {_prop(b.prefers_first)} (p = {p}; ties {b.ties}); "
                f"correct shown first {_prop(b.correct_first)}, "
                f"shown later {_prop(b.correct_later)}{between}"
            )
        self.stdout.write("\nPosition-swapped AI judgings (one judge, one question, both orders):")
        if analysis.swaps is None:
            self.stdout.write("  none")
        else:
            for key, s in analysis.swaps.items():
                self.stdout.write(
                    f"  {key}: pairs {s.pairs}, swap-averaged P(correct) {s.p_correct_mean:.2f}, "
                    f"accuracy {_prop(s.accuracy)} (one order: {_prop(s.single_accuracy)}), "
                    f"orders disagree {_prop(s.disagreements)}"
                )
        if analysis.win_rates:
            self.stdout.write("\nExpert win rates (the judge's final judgment favours its answer):")
            for w in analysis.win_rates:
                who = f"{w.expert.name}{' (AI)' if w.expert.is_ai else ''}"
                self.stdout.write(
                    f"  {w.setting} · {who}: honest {_prop(w.honest)}, "
                    f"dishonest {_prop(w.dishonest)}"
                )
        ratings = analysis.ratings
        if ratings is not None:
            self.stdout.write(
                f"\nDebater ratings from {ratings.debates} cross-play debates (log-odds, "
                f"bootstrap 95% interval over debates, {ratings.samples} samples):"
            )
            for r in ratings.ratings:
                ci = f" [{r.ci[0]:+.2f}, {r.ci[1]:+.2f}]" if r.ci else ""
                self.stdout.write(
                    f"  {r.debater.name}: {r.rating:+.2f}{ci}, Elo {r.elo:.0f}, "
                    f"won {r.wins}/{r.debates}"
                )


def _cells(values: dict[str, Any]) -> str:
    return "".join(_cell(values, c) for c, _ in TABLE_COLUMNS)


def _cell(values: dict[str, Any], column: str) -> str:
    if column == "n":
        return f"{values['n']:>11}"
    if column == "accuracy":
        return f"{_pct(values['accuracy']):>11}"
    if column == "rounds":
        mean, sd = values.get("rounds_mean"), values.get("rounds_sd")
        if mean is None:
            return f"{'-':>11}"
        spread = f"±{sd:.1f}" if sd is not None else ""
        return f"{mean:.1f}{spread}".rjust(11)
    value = values.get(column)
    if value is None:
        return f"{'-':>11}"
    if column in ("quotes_per_round", "chars_per_round"):
        return f"{value:>11.0f}"
    return f"{value:>11.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _prop(p: Proportion) -> str:
    if not p.n:
        return "- (n=0)"
    ci = p.ci
    assert ci is not None
    return f"{p.k}/{p.n} = {_pct(p.share)} [{_pct(ci[0])}, {_pct(ci[1])}]"
