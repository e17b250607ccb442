"""The analysis as the command line and the staff page show it: sessions chosen by filters, read
in a fixed number of queries, and every figure computed by `judging/metrics.py`."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet

from debate.models import Session
from debate.quotes import span_union_length
from debate.records import verified_spans
from judging import metrics
from judging.comparisons import (
    PAPER_SOURCE,
    PAPER_TABLE_1,
    PositionBias,
    Ratings,
    SwapSummary,
    WinRate,
    debater_ratings,
    position_bias_table,
    swap_summaries,
    win_rates,
)
from judging.defaults import error_categories_ensure
from judging.metrics import Judging, SettingMetrics
from judging.models import ErrorCategory
from judging.selectors import collector_paused, session_records

TABLE_COLUMNS = (
    ("n", "n"),
    ("accuracy", "acc"),
    ("rounds", "rounds"),
    ("quotes_per_round", "quotes/rd"),
    ("chars_per_round", "chars/rd"),
    ("bits_per_round", "bits/rd"),
    ("judge_score_mean", "avg S_j"),
    ("ece_final", "ECE"),
)
JSON_KEYS = (
    "n",
    "correct",
    "accuracy",
    "accuracy_ci",
    "rounds_mean",
    "rounds_sd",
    "quotes_per_round",
    "chars_per_round",
    "bits_per_round",
    "judge_score_mean",
    "ece_final",
    "accuracy_honest",
    "n_honest",
    "correct_honest",
    "accuracy_dishonest",
    "n_dishonest",
    "correct_dishonest",
    # Open rules: how often the expert chose the correct answer, and accuracy given its choice.
    "n_chose",
    "chose_correct",
    "chose_correct_share",
    "accuracy_chose_correct",
    "correct_chose_correct",
    "accuracy_chose_incorrect",
    "n_chose_incorrect",
    "correct_chose_incorrect",
)


@dataclass(frozen=True)
class AnalysisFilters:
    included_in_paper: bool | None = None
    settings: tuple[str, ...] = ()
    since: date | None = None
    split: str | None = None  # agent, judge, protocol or batch
    offline: bool = True
    batches: tuple[str, ...] = ()  # only sessions of these batch runs (by batch id)

    def __post_init__(self) -> None:
        if self.split is not None and self.split not in metrics.SPLITS:
            raise ValueError(f"Split by one of: {', '.join(metrics.SPLITS)}.")


@dataclass
class Analysis:
    filters: AnalysisFilters
    table: dict[str, SettingMetrics]
    groups: dict[str, list[Judging]]
    comparisons: list[metrics.ProportionTest]
    per_judge: list[metrics.JudgeAccuracy]
    error_categories: list[str]
    error_shares: dict[str, dict[str, tuple[int, int]]]
    calibration: dict[str, list[metrics.CalibrationBin]]
    mixed_model: metrics.MixedModel | None = None
    sessions: int = 0
    position_bias: dict[str, PositionBias] = field(default_factory=dict)
    swaps: dict[str, SwapSummary] | None = None  # None: no position-swapped pair
    win_rates: list[WinRate] = field(default_factory=list)
    ratings: Ratings | None = None  # None: no cross-play between two agents
    notes: list[str] = field(default_factory=list)

    @property
    def open_choice_settings(self) -> list[tuple[str, SettingMetrics]]:
        """The settings whose expert chose its answer (open rules), in the table's order."""
        return [(key, m) for key, m in self.table.items() if m.n_chose]

    def as_json(self) -> dict[str, Any]:
        """Everything a script needs to check the paper's claims: per setting the figures and
        the counts behind them, and every test of significance between settings."""
        return {
            "sessions": self.sessions,
            "settings": {
                key: {k: m.as_dict()[k] for k in JSON_KEYS} for key, m in self.table.items()
            },
            "comparisons": [
                {
                    "a": t.a,
                    "b": t.b,
                    "n_a": t.n_a,
                    "correct_a": t.correct_a,
                    "n_b": t.n_b,
                    "correct_b": t.correct_b,
                    "z": t.z,
                    "p": t.p_value,
                    "test": "two-sided two-proportion z-test, pooled variance (statsmodels)",
                }
                for t in self.comparisons
            ],
            "batches": list(self.filters.batches),
            "position_bias": {k: b.as_dict() for k, b in self.position_bias.items()},
            "position_swaps": None
            if self.swaps is None
            else {k: s.as_dict() for k, s in self.swaps.items()},
            "win_rates": [w.as_dict() for w in self.win_rates],
            "ratings": self.ratings.as_dict() if self.ratings else None,
        }


def analysis_sessions(filters: AnalysisFilters) -> QuerySet[Session]:
    sessions = Session.objects.filter(
        status=Session.Status.FINISHED, voided_at__isnull=True
    ).order_by("pk")
    if filters.included_in_paper is not None:
        sessions = sessions.filter(included_in_paper=filters.included_in_paper)
    if filters.since is not None:
        sessions = sessions.filter(created_at__date__gte=filters.since)
    if filters.batches:
        sessions = sessions.filter(batch_link__batch__batch_id__in=filters.batches)
    return sessions


def analysis_run(filters: AnalysisFilters, *, mixed_model: bool = False) -> Analysis:
    # The records and the judgings are many small objects that all live until the end.
    with collector_paused():
        return _analysis_run(filters, mixed_model=mixed_model)


def _analysis_run(filters: AnalysisFilters, *, mixed_model: bool) -> Analysis:
    records = session_records(analysis_sessions(filters), with_text=False)
    items = metrics.judgings(records, offline=filters.offline)
    if filters.settings:
        items = [j for j in items if j.setting in filters.settings]
    groups = metrics.by_setting(items, filters.split)
    table = {key: metrics.setting_metrics(key, group) for key, group in groups.items()}
    plain = metrics.by_setting(items)
    # Live settings against each other, and each offline setting against its live one.
    live = [s for s in plain if not s.endswith("_offline")]
    pairs = list(itertools.combinations(live, 2)) + [
        (s.removesuffix("_offline"), s)
        for s in plain
        if s.endswith("_offline") and s.removesuffix("_offline") in plain
    ]
    tests = [metrics.two_proportion_test(a, plain[a], b, plain[b]) for a, b in pairs]
    # Two settings both all right (or all wrong) have nothing to test: z is undefined.
    comparisons = [t for t in tests if math.isfinite(t.p_value)]
    error_categories_ensure()
    categories = list(ErrorCategory.objects.filter(active=True).values_list("name", flat=True))
    analysis = Analysis(
        filters=filters,
        table=table,
        groups=groups,
        comparisons=comparisons,
        per_judge=metrics.per_judge_accuracy(items),
        error_categories=categories,
        error_shares=metrics.error_category_shares(items, categories),
        calibration={
            key: metrics.calibration_curve(metrics.all_turn_pairs(group))
            for key, group in plain.items()
        },
        sessions=len(records),
        position_bias=position_bias_table(groups),
        swaps=swap_summaries(items),
        win_rates=win_rates(groups),
        ratings=debater_ratings(
            r for r in records if not filters.settings or r.setting in filters.settings
        ),
    )
    if mixed_model:
        analysis.mixed_model = metrics.mixed_effects_logit(items)
    return analysis


PAPER_KEYS = tuple(next(iter(PAPER_TABLE_1.values())))


@dataclass(frozen=True)
class PaperReference:
    """The paper's Table 1 rows, to set a batch's beside."""

    source: str  # "database" (computed from the paper's sessions) or "published"
    description: str
    rows: dict[str, dict[str, Any]]  # per paper setting, the values of PAPER_KEYS

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "description": self.description, "settings": self.rows}


def paper_reference() -> PaperReference:
    """Table 1 as computed from the sessions the paper used (`included_in_paper`, as the NYU
    import marks them; live judges only, as the paper) when the database holds any, else the
    paper's published numbers (`comparisons.PAPER_TABLE_1`)."""
    filters = AnalysisFilters(included_in_paper=True, offline=False)
    records = session_records(analysis_sessions(filters), with_text=False)
    groups = metrics.by_setting(metrics.judgings(records, offline=False))
    rows = {
        key: {
            k: v
            for k, v in metrics.setting_metrics(key, items).as_dict().items()
            if k in PAPER_KEYS
        }
        for key, items in groups.items()
        if key in metrics.SETTINGS
    }
    if rows:
        return PaperReference(
            "database",
            f"{PAPER_SOURCE}: computed from the {len(records)} sessions marked as the paper's",
            rows,
        )
    return PaperReference("published", f"{PAPER_SOURCE}, as printed", dict(PAPER_TABLE_1))


@dataclass(frozen=True)
class SessionFigures:
    """One session's own figures for staff."""

    probabilities: list[tuple[int, float]]  # (round index, live judge's P(correct))
    revealed: list[tuple[int, float]]  # (round index, share of the story revealed so far)
    quoted_chars: int
    correct: bool | None  # None while unfinished
    score: float | None
    error_tags: tuple[str, ...]


def session_figures(session: Session) -> SessionFigures:
    (record,) = session_records(Session.objects.filter(pk=session.pk), with_text=False)
    correct_position = record.correct_position
    probabilities = [
        (r.index, j.probabilities[correct_position])
        for r in record.rounds
        for j in r.judgments
        if j.kind == "live"
    ]
    revealed: list[tuple[int, float]] = []
    spans: list[tuple[int, int]] = []
    for r in record.speech_rounds:
        spans += [span for s in r.speeches for span in verified_spans(s.quotes)]
        share = span_union_length(spans) / record.passage_length if record.passage_length else 0
        revealed.append((r.index, share))
    finished = [j for j in metrics.judgings([record], offline=False)]
    return SessionFigures(
        probabilities=probabilities,
        revealed=revealed,
        quoted_chars=span_union_length(spans),
        correct=finished[0].correct if finished else None,
        score=finished[0].score if finished else None,
        error_tags=record.error_tags,
    )
