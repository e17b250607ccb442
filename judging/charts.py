"""The analysis charts as standalone SVG documents, drawn here so that they render with no
internet access and download as files: accuracy by setting with intervals and every judgment as
a dot (the paper's Figure 3), calibration curves (Figure 5), accuracy by the consultant's honesty
(Figure 4), and one session's judge probability over rounds. Pure: numbers in, SVG text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from judging.metrics import CalibrationBin, SettingMetrics, setting_label

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Frame:
    """A plot area inside an SVG: data coordinates to pixels."""

    left: float
    top: float
    width: float
    height: float
    x_max: float = 1.0
    y_max: float = 1.0
    x_min: float = 0.0
    y_min: float = 0.0

    def x(self, value: float) -> float:
        return self.left + (value - self.x_min) / (self.x_max - self.x_min or 1) * self.width

    def y(self, value: float) -> float:
        return (
            self.top
            + self.height
            - (value - self.y_min) / (self.y_max - self.y_min or 1) * (self.height)
        )


def accuracy_chart(table: dict[str, SettingMetrics], title: str = "Judge accuracy") -> str:
    """One row per setting: every final judgment as a dot at its probability on the correct
    answer (blue correct, red wrong), the accuracy as a bar and its 95% Wilson interval."""
    rows = list(table.values())
    label_width = 220
    height = 60 + 46 * max(len(rows), 1)
    frame = Frame(label_width, 40, 440, 46 * max(len(rows), 1))
    parts = [_title(title), _x_axis(frame, "accuracy (bar, 95% interval) and P(correct) dots")]
    for i, m in enumerate(rows):
        centre = frame.top + 46 * i + 23
        parts.append(_row_label(label_width - 8, centre, m.setting, f" (n={m.n})"))
        if m.accuracy is not None:
            parts.append(
                f'<rect x="{frame.x(0)}" y="{centre - 9}" '
                f'width="{frame.x(m.accuracy) - frame.x(0):.1f}" height="18" fill="#cbd5e1">'
                f"<title>{m.accuracy:.0%}</title></rect>"
            )
        # Every judgment is a dot; judgments at the same percentage share one dot, its area
        # growing with their number, so a chart of 100,000 sessions stays a few hundred dots.
        dots: dict[tuple[float, bool], int] = {}
        for p, correct in m.judgments:
            key = (round(p, 2), correct)
            dots[key] = dots.get(key, 0) + 1
        for k, ((p, correct), count) in enumerate(sorted(dots.items())):
            jitter = ((k * 7919) % 17 - 8) * 0.9
            colour = "#2563eb" if correct else "#dc2626"
            radius = 2.5 * min(count, 400) ** 0.5
            parts.append(
                f'<circle cx="{frame.x(p):.1f}" cy="{centre + jitter:.1f}" r="{radius:.1f}" '
                f'fill="{colour}" fill-opacity="0.45"><title>P(correct) {p:.2f}: {count} '
                f"judgment{'s' if count > 1 else ''}</title></circle>"
            )
        if m.accuracy_ci:
            low, high = m.accuracy_ci
            assert m.accuracy is not None  # an interval comes with an accuracy
            parts.append(
                f'<line x1="{frame.x(low):.1f}" x2="{frame.x(high):.1f}" y1="{centre}" '
                f'y2="{centre}" stroke="#111827" stroke-width="2"/>'
                f'<circle cx="{frame.x(m.accuracy):.1f}" cy="{centre}" r="4" fill="#111827">'
                f"<title>{m.accuracy:.0%} [{low:.0%}, {high:.0%}]</title></circle>"
            )
    return _svg(700, height + 20, parts)


def calibration_chart(curves: dict[str, list[CalibrationBin]], title: str = "Calibration") -> str:
    """Per setting: share correct against mean confidence in each 10% bin; the diagonal is
    perfect calibration."""
    frame = Frame(60, 40, 380, 300, x_min=0.5, x_max=1.0)
    parts = [
        _title(title),
        _x_axis(frame, "judge confidence (all turns)"),
        _y_axis(frame, "share correct"),
        f'<line x1="{frame.x(0.5)}" y1="{frame.y(0.5)}" x2="{frame.x(1)}" y2="{frame.y(1)}" '
        'stroke="#9ca3af" stroke-dasharray="4 4"/>',
    ]
    for i, (setting, bins) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = [(frame.x(b.mean_confidence), frame.y(b.accuracy), b) for b in bins]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(_polyline(path, colour))
        for x, y, b in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2 + min(b.n, 100) ** 0.5 / 2:.1f}" '
                f'fill="{colour}"><title>{escape(setting_label(setting))}: {b.n} judgments, '
                f"confidence {b.mean_confidence:.2f}, correct {b.accuracy:.0%}</title></circle>"
                # n beside every point: how much each bin's share rests on
                f'<text x="{x + 6:.1f}" y="{y - 6:.1f}" font-size="10" fill="{colour}" '
                f'font-family="system-ui, sans-serif">n={b.n}</text>'
            )
        parts.append(_legend(460, 60 + 18 * i, colour, setting_label(setting)))
    return _svg(860, 380, parts)


def honesty_chart(table: dict[str, SettingMetrics], title: str = "Accuracy by honesty") -> str:
    """Consultancy settings: accuracy when the consultant was honest and when dishonest."""
    rows = [m for m in table.values() if m.n_honest or m.n_dishonest]
    frame = Frame(220, 40, 420, 46 * max(len(rows), 1))
    parts = [_title(title), _x_axis(frame, "judge accuracy")]
    for i, m in enumerate(rows):
        top = frame.top + 46 * i
        parts.append(_row_label(212, top + 22, m.setting))
        for j, (label, value, n, colour) in enumerate(
            (
                ("honest", m.accuracy_honest, m.n_honest, "#16a34a"),
                ("dishonest", m.accuracy_dishonest, m.n_dishonest, "#dc2626"),
            )
        ):
            if value is None:
                continue
            y = top + 6 + 18 * j
            parts.append(
                f'<rect x="{frame.x(0)}" y="{y}" width="{frame.x(value) - frame.x(0):.1f}" '
                f'height="14" fill="{colour}"><title>{label}: {value:.0%} of {n}</title></rect>'
                f'<text x="{frame.x(value) + 4:.1f}" y="{y + 11}" {FONT}>{label} {value:.0%} '
                f"(n={n})</text>"
            )
    return _svg(720, 80 + 46 * max(len(rows), 1), parts)


def session_chart(
    points: Sequence[tuple[int, float]],
    revealed: Sequence[tuple[int, float]],
    title: str = "Judge's probability on the correct answer",
) -> str:
    """One session: the judge's probability on the correct answer at each judgment (by round),
    and the share of the story revealed by quotes so far."""
    last = max([r for r, _ in [*points, *revealed]] or [1])
    frame = Frame(60, 40, 440, 220, x_max=max(last, 1))
    parts = [
        _title(title),
        _x_axis(frame, "round", ticks=max(last, 1)),
        _y_axis(frame, "probability"),
    ]
    for series, colour in ((points, "#2563eb"), (revealed, "#ea580c")):
        if series:
            path = " ".join(f"{frame.x(r):.1f},{frame.y(v):.1f}" for r, v in series)
            parts.append(_polyline(path, colour))
            for r, v in series:
                parts.append(
                    f'<circle cx="{frame.x(r):.1f}" cy="{frame.y(v):.1f}" r="3.5" fill="{colour}">'
                    f"<title>round {r}: {v:.0%}</title></circle>"
                )
    parts.append(_legend(520, 60, "#2563eb", "judge's P(correct)"))
    parts.append(_legend(520, 80, "#ea580c", "story revealed"))
    return _svg(700, 300, parts)


# --------------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------------


def _svg(width: int, height: int, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>'
    )


def _title(text: str) -> str:
    return f'<text x="12" y="22" {FONT} font-size="15" font-weight="600">{escape(text)}</text>'


def _x_axis(frame: Frame, label: str, ticks: int = 5) -> str:
    bottom = frame.top + frame.height
    parts = [
        f'<line x1="{frame.left}" y1="{bottom}" x2="{frame.left + frame.width}" y2="{bottom}" '
        'stroke="#6b7280"/>'
    ]
    for i in range(ticks + 1):
        value = frame.x_min + (frame.x_max - frame.x_min) * i / ticks
        x = frame.x(value)
        text = f"{value:.0%}" if frame.x_max <= 1 else f"{value:.0f}"
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.top}" x2="{x:.1f}" y2="{bottom}" stroke="#e5e7eb"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>{text}</text>'
        )
    parts.append(
        f'<text x="{frame.left + frame.width / 2}" y="{bottom + 34}" text-anchor="middle" {FONT}>'
        f"{escape(label)}</text>"
    )
    return "".join(parts)


def _y_axis(frame: Frame, label: str) -> str:
    parts = [
        f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" '
        f'y2="{frame.top + frame.height}" stroke="#6b7280"/>'
    ]
    for i in range(6):
        value = frame.y_min + (frame.y_max - frame.y_min) * i / 5
        y = frame.y(value)
        parts.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{value:.0%}</text>"
        )
    parts.append(
        f'<text x="14" y="{frame.top + frame.height / 2}" {FONT} '
        f'transform="rotate(-90 14 {frame.top + frame.height / 2})" text-anchor="middle">'
        f"{escape(label)}</text>"
    )
    return "".join(parts)


def _row_label(x: float, centre: float, setting: str, tail: str = "") -> str:
    """A row's setting in words, right-aligned at ``x``: on two lines when it has a qualifier
    ("Human debate" / "judged offline round by round")."""
    first, _, second = setting_label(setting).partition(", ")
    if not second:
        return (
            f'<text x="{x}" y="{centre + 4}" text-anchor="end" {FONT}>{escape(first + tail)}</text>'
        )
    return (
        f'<text x="{x}" y="{centre - 3}" text-anchor="end" {FONT}>'
        f'<tspan x="{x}">{escape(first + tail)}</tspan>'
        f'<tspan x="{x}" dy="13" font-size="10">{escape(second)}</tspan></text>'
    )


def _legend(x: float, y: float, colour: str, label: str) -> str:
    return (
        f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{colour}"/>'
        f'<text x="{x + 18}" y="{y + 1}" {FONT}>{escape(label)}</text>'
    )


def _polyline(points: str, colour: str) -> str:
    return f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
