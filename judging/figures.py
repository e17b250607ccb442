"""The analysis figures for papers, drawn with matplotlib (`Figure` objects, no pyplot and no
display): judge accuracy by setting with its 95% interval (the paper's Figure 3), calibration
curves (Figure 5) and accuracy by the consultant's honesty (Figure 4), as SVG or PDF. The
analysis page shows its own lightweight SVG charts (judging/charts.py); these are the files a
researcher puts in a paper. Pure: metrics in, bytes out."""

from __future__ import annotations

import io
from collections.abc import Callable

from matplotlib.figure import Figure

from judging.metrics import CalibrationBin, SettingMetrics, setting_label

FORMATS = {"svg": "image/svg+xml", "pdf": "application/pdf"}


def accuracy_figure(table: dict[str, SettingMetrics]) -> Figure:
    rows = [m for m in table.values() if m.accuracy is not None]
    figure = Figure(figsize=(6.4, 0.5 + 0.45 * max(len(rows), 1)), layout="constrained")
    axes = figure.add_subplot()
    labels = [setting_label(m.setting) for m in rows]
    values = [m.accuracy or 0.0 for m in rows]  # rows without an accuracy are left out above
    low = [v - m.accuracy_ci[0] if m.accuracy_ci else 0 for v, m in zip(values, rows, strict=True)]
    high = [m.accuracy_ci[1] - v if m.accuracy_ci else 0 for v, m in zip(values, rows, strict=True)]
    positions = range(len(rows))
    axes.barh(list(positions), values, xerr=[low, high], color="#2563eb", capsize=3)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("judge accuracy (95% Wilson interval)")
    for y, m in zip(positions, rows, strict=True):
        axes.text(0.01, y, f"n={m.n}", va="center", color="white", fontsize=8)
    return figure


def calibration_figure(curves: dict[str, list[CalibrationBin]]) -> Figure:
    figure = Figure(figsize=(5.2, 5.2), layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0.5, 1], [0.5, 1], linestyle="--", color="#9ca3af", label="perfect calibration")
    for setting, bins in curves.items():
        if bins:
            axes.plot(
                [b.mean_confidence for b in bins],
                [b.accuracy for b in bins],
                marker="o",
                label=setting_label(setting),
            )
    axes.set_xlim(0.45, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("judge confidence")
    axes.set_ylabel("share correct")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def honesty_figure(table: dict[str, SettingMetrics]) -> Figure:
    rows = [m for m in table.values() if m.n_honest or m.n_dishonest]
    figure = Figure(figsize=(6.4, 0.8 + 0.6 * max(len(rows), 1)), layout="constrained")
    axes = figure.add_subplot()
    for i, m in enumerate(rows):
        for offset, value, n, colour, label in (
            (-0.18, m.accuracy_honest, m.n_honest, "#16a34a", "honest"),
            (0.18, m.accuracy_dishonest, m.n_dishonest, "#dc2626", "dishonest"),
        ):
            if value is not None:
                axes.barh(
                    i + offset, value, height=0.34, color=colour, label=label if i == 0 else None
                )
                axes.text(value + 0.01, i + offset, f"{value:.0%} (n={n})", va="center", fontsize=8)
    axes.set_yticks(range(len(rows)), [setting_label(m.setting) for m in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 1.15)
    axes.set_xlabel("judge accuracy")
    if rows:
        axes.legend(fontsize=8, loc="lower right")
    return figure


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure as a file of ``fmt`` (svg or pdf)."""
    if fmt not in FORMATS:
        raise ValueError(f"A figure is written as {' or '.join(FORMATS)}, not {fmt!r}.")
    out = io.BytesIO()
    figure.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()


FIGURES: dict[str, Callable] = {
    "accuracy": lambda analysis: accuracy_figure(analysis.table),
    "calibration": lambda analysis: calibration_figure(analysis.calibration),
    "honesty": lambda analysis: honesty_figure(analysis.table),
}
