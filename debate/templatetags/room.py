"""Template helpers for the rooms: how a speech segment and a chart are drawn. No rules here:
every number comes from the view or the pure core."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django import template

from debate.quotes import Quote
from debate.visibility import ROLE_LABELS

register = template.Library()

LETTERS = "ABCDEFGH"


@register.filter
def segment_kind(segment: object) -> str:
    if isinstance(segment, Quote):
        return "quote" if segment.verified else "unverified"
    return "text"


@register.filter
def role_labels(roles: Sequence[str]) -> str:
    return " and ".join(ROLE_LABELS.get(r, r) for r in roles) or "others"


@register.filter
def role_label(role: str) -> str:
    """One seat's role in words (an offline judge's key carries its seat id)."""
    return ROLE_LABELS.get(role.split("-")[0], role)


@register.filter
def letter(index: int) -> str:
    return LETTERS[index] if 0 <= index < len(LETTERS) else str(index + 1)


@register.filter
def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


@register.filter
def score(value: float | None) -> str:
    if value is None:
        return ""
    return "-inf" if value == -math.inf else f"{value:+.2f}"


@register.filter
def at(sequence: Sequence, index: int) -> object:
    try:
        return sequence[index]
    except (IndexError, TypeError, KeyError):
        return None


@register.inclusion_tag("debate/_score_chart.html")
def score_chart(now: Sequence[float], later: Sequence[float]) -> dict:
    """Bars of the judge's score under each possible correct answer, now and after one more
    round (one more per-turn penalty). Scores are <= 0 for the paper's rule; the axis runs from
    the lowest finite score (at least -4) to the highest (at least 0)."""
    finite = [v for v in (*now, *later) if math.isfinite(v)]
    low = min([-4.0, *finite])
    high = max([0.0, *finite])
    width, height, top = 320, 150, 10
    span = high - low or 1.0

    def y(value: float) -> float:
        value = max(value, low)
        return top + (high - value) / span * (height - 2 * top)

    zero = y(0.0)
    bars = []
    slot = width / max(len(now), 1)
    for index, (a, b) in enumerate(zip(now, later, strict=True)):
        for offset, value, kind in ((0.18, a, "now"), (0.52, b, "later")):
            y_value = y(value)
            bars.append(
                {
                    "x": round(index * slot + offset * slot, 1),
                    "y": round(min(zero, y_value), 1),
                    "height": round(max(abs(zero - y_value), 1), 1),
                    "width": round(0.3 * slot, 1),
                    "kind": kind,
                    "label": score(value),
                    "label_y": round(max(zero, y_value) + 12, 1),
                }
            )
    labels = [
        {"x": round(index * slot + slot / 2, 1), "text": letter(index)} for index in range(len(now))
    ]
    return {
        "bars": bars,
        "labels": labels,
        "zero": round(zero, 1),
        "width": width,
        "height": height + 20,
    }


@register.inclusion_tag("debate/_history_chart.html")
def history_chart(history: Sequence[Sequence[float]], answer_count: int) -> dict:
    """The judge's probability on each answer after each judge turn, as polylines."""
    width, height, pad = 320, 140, 14
    points = max(len(history), 1)
    step = (width - 2 * pad) / max(points - 1, 1)
    lines = []
    for answer in range(answer_count):
        coords = " ".join(
            f"{pad + i * step:.1f},{pad + (1 - p[answer]) * (height - 2 * pad):.1f}"
            for i, p in enumerate(history)
        )
        lines.append({"answer": letter(answer), "points": coords, "index": answer})
    return {"lines": lines, "width": width, "height": height, "pad": pad, "mid": height / 2}
