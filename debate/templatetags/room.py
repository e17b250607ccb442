"""Template helpers for the rooms: how a speech segment and a chart are drawn. No rules here:
every number comes from the view or the pure core."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django import template

from debate.protocol import TEXT_LIMITS
from debate.quotes import Quote
from debate.visibility import LETTERS, ROLE_LABELS, role_phrase, roles_phrase
from debate.visibility.lobby import Lobby

register = template.Library()


@register.simple_tag
def text_limit(name: str) -> int:
    """A limit from the rules (`protocol.TEXT_LIMITS`), for a template's maxlength."""
    return TEXT_LIMITS[name]


@register.filter
def segment_kind(segment: object) -> str:
    if isinstance(segment, Quote):
        return "quote" if segment.verified else "unverified"
    return "text"


@register.filter
def quote_number(position: int, segments: Sequence[object]) -> int:
    """The number of the verified quote at ``position`` among a speech's quotes (0-based)."""
    return sum(1 for s in segments[:position] if isinstance(s, Quote) and s.span)


@register.filter
def role_phrases(roles: Sequence[str]) -> str:
    """Roles as a sentence names them: "debater A and debater B", "the judge"."""
    return roles_phrase(roles)


@register.filter(name="role_phrase")
def role_phrase_filter(role: str) -> str:
    """One role as a sentence names it: "debater A", "the judge"."""
    return role_phrase(role)


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


ROUND_TITLES = {
    "judge": "Judge",
    "simultaneous": "Speeches, given at once",
    "sequential": "Speeches, in turn",
    "negotiate_end": "Vote on ending",
}


@register.filter
def round_title(round_view) -> str:
    """A transcript heading: the round's number and what happens in it."""
    return (
        f"Round {round_view.index + 1}: {ROUND_TITLES.get(str(round_view.kind), round_view.kind)}"
    )


@register.simple_tag
def addressee_label(view, role: str) -> str:
    """Whom a judge's question goes to, by seat and answer: "Debater A (arguing B)"."""
    label = ROLE_LABELS.get(str(role), str(role))
    name = label[:1].upper() + label[1:]  # "Debater A", not capitalize()'s "Debater a"
    position = view.argued_positions.get(str(role))
    return name if position is None else f"{name} (arguing {letter(position)})"


@register.simple_tag
def speaker_label(view, role: str) -> str:
    """Who spoke, named by the answer they argue ("Arguing A"), so a name never disagrees with
    an answer (the scheduler may put debater B on answer A); a consultant is named as one."""
    position = view.argued_positions.get(str(role))
    own = " (you)" if str(role) == view.viewer_role else ""
    if position is None:
        return f"{ROLE_LABELS.get(str(role), str(role)).capitalize()}{own}"
    if str(role) == "consultant":
        return f"Consultant, arguing {letter(position)}{own}"
    return f"Arguing {letter(position)}{own}"


@register.simple_tag
def quotes_panel(view) -> list[dict]:
    """The revealed quotes in story order, overlapping ones merged into one passage, each linked
    to where it was first said; no offsets shown."""
    found: list[tuple[int, int, str, str]] = []
    for round_view in view.rounds:
        count = 0
        for speech in round_view.speeches:
            for segment in speech.segments:
                if isinstance(segment, Quote) and segment.span:
                    anchor = f"quote-{round_view.index}-{speech.role}-{count}"
                    found.append((*segment.span, segment.text, anchor))
                    count += 1
    merged: list[dict] = []
    for start, end, text, anchor in sorted(found, key=lambda q: (q[0], -q[1])):
        last = merged[-1] if merged else None
        exact = len(text) == end - start
        if last and start < last["end"] and exact and last["exact"]:
            if end > last["end"]:
                last["text"] += text[last["end"] - start :]
                last["end"] = end
            continue
        merged.append({"start": start, "end": end, "text": text, "anchor": anchor, "exact": exact})
    return merged


@register.simple_tag
def story_marks(view) -> str:
    """For a seat that reads the story: the spans revealed so far, as own / opponent's / both,
    a JSON list of [start, end, kind] the page highlights (no hidden data: the seat's own view)."""
    import json

    from debate.quotes import merge_spans

    if view.passage_text is None:
        return "[]"
    own: list[tuple[int, int]] = []
    other: list[tuple[int, int]] = []
    for round_view in view.rounds:
        for speech in round_view.speeches:
            spans = [s.span for s in speech.segments if isinstance(s, Quote) and s.span]
            (own if str(speech.role) == view.viewer_role else other).extend(spans)
    own_merged, other_merged = merge_spans(own), merge_spans(other)
    marks = []
    for start, end in own_merged:
        for o_start, o_end in other_merged:
            lo, hi = max(start, o_start), min(end, o_end)
            if lo < hi:
                marks.append([lo, hi, "both"])
    marks += [[s, e, "own"] for s, e in own_merged] + [[s, e, "other"] for s, e in other_merged]
    return json.dumps(marks)


@register.inclusion_tag("debate/_score_chart.html")
def score_chart(
    now: Sequence[float], later: Sequence[float], expected_now: float, expected_later: float
) -> dict:
    """What the judge's score would be: under each possible correct answer, and expected under
    the judge's own probabilities, now and after one more round (one more per-turn penalty).
    Grouped bars on a labelled score axis with a zero line."""
    groups = [
        (f"if {letter(i)} is correct", a, b)
        for i, (a, b) in enumerate(zip(now, later, strict=True))
    ]
    groups.append(("expected (your probabilities)", expected_now, expected_later))
    finite = [v for _, a, b in groups for v in (a, b) if math.isfinite(v)]
    low = math.floor(min([-4.0, *finite]))
    high = max(0.0, math.ceil(max(finite, default=0.0)))
    left, top, plot_w, plot_h = 44, 10, 420, 150
    span = high - low or 1.0

    def y(value: float) -> float:
        value = min(max(value, low), high)
        return top + (high - value) / span * plot_h

    zero = y(0.0)
    slot = plot_w / len(groups)
    bars, labels = [], []
    for index, (label, a, b) in enumerate(groups):
        for offset, value, kind in ((0.16, a, "now"), (0.5, b, "later")):
            y_value = y(value)
            bars.append(
                {
                    "x": round(left + index * slot + offset * slot, 1),
                    "y": round(min(zero, y_value), 1),
                    "height": round(max(abs(zero - y_value), 1), 1),
                    "width": round(0.32 * slot, 1),
                    "kind": kind,
                    "expected": index == len(groups) - 1,
                    "label": score(value),
                    "label_x": round(left + index * slot + (offset + 0.16) * slot, 1),
                    "label_y": round(max(zero, y_value) + 12 if value < 0 else y_value - 3, 1),
                }
            )
        labels.append({"x": round(left + index * slot + slot / 2, 1), "text": label})
    ticks = [
        {"y": round(y(v), 1), "text": f"{v:g}"}
        for v in range(int(low), int(high) + 1)
        if (high - low) <= 8 or v % 2 == 0
    ]
    return {
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "zero": round(zero, 1),
        "left": left,
        "right": left + plot_w,
        "top": top,
        "bottom": top + plot_h,
        "label_y": top + plot_h + 30,
        "width": left + plot_w + 8,
        "height": top + plot_h + 40,
        "axis_mid": top + plot_h / 2,
    }


HISTORY_COLOURS = ("#2457c5", "#c55a24", "#17632f", "#8a2bb5")


@register.inclusion_tag("debate/_history_chart.html")
def history_chart(history: Sequence[Sequence[float]], answers: Sequence[str] | int) -> dict:
    """The judge's probability on each answer after each judge turn: lines on labelled axes
    (turn; probability 0-100%), with a legend naming the answers."""
    names = list(answers) if not isinstance(answers, int) else [""] * answers
    left, top, plot_w, plot_h = 44, 10, 360, 140
    points = max(len(history), 1)
    step = plot_w / max(points - 1, 1)
    lines = []
    for answer, name in enumerate(names):
        coords = " ".join(
            f"{left + i * step:.1f},{top + (1 - p[answer]) * plot_h:.1f}"
            for i, p in enumerate(history)
        )
        dots = [
            {
                "x": round(left + i * step, 1),
                "y": round(top + (1 - p[answer]) * plot_h, 1),
                "p": p[answer],
            }
            for i, p in enumerate(history)
        ]
        lines.append(
            {
                "letter": letter(answer),
                "name": name,
                "points": coords,
                "dots": dots,
                "index": answer,
                "colour": HISTORY_COLOURS[answer % len(HISTORY_COLOURS)],
                "legend_y": top + 14 + answer * 16,
            }
        )
    x_ticks = [{"x": round(left + i * step, 1), "text": str(i + 1)} for i in range(len(history))]
    y_ticks = [
        {"y": round(top + (1 - v / 100) * plot_h, 1), "text": f"{v}%"} for v in (0, 25, 50, 75, 100)
    ]
    return {
        "lines": lines,
        "x_ticks": x_ticks,
        "y_ticks": y_ticks,
        "left": left,
        "right": left + plot_w,
        "top": top,
        "bottom": top + plot_h,
        "mid": top + plot_h / 2,
        "legend_x": left + plot_w + 14,
        "width": left + plot_w + 230,
        "height": top + plot_h + 42,
        "axis_label_y": top + plot_h + 36,
    }


@register.filter
def deadline_of(lobby: Lobby, session_id: int | None) -> object:
    """The deadline of the viewer's due turn in a session, for its notification."""
    return lobby.deadline_of(session_id)
