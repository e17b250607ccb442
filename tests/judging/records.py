"""Session records built by hand for the pure analysis tests: a few lines say what a session
was (who held the seats, what was quoted, what the judge said when)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from debate.records import (
    JudgmentRecord,
    QuoteRecord,
    RoundRecord,
    SeatRecord,
    SessionRecord,
    SpeechRecord,
)

DEBATE_STRUCTURE = {
    "opening": [
        {"kind": "judge", "char_limit": 750},
        {"kind": "simultaneous", "char_limit": 750, "quote_limit": 250},
        {"kind": "judge", "char_limit": 750},
    ],
    "repeating": [
        {"kind": "sequential", "char_limit": 750, "quote_limit": 250},
        {"kind": "judge", "char_limit": 750},
    ],
    "closing": None,
}
CONSULTANCY_STRUCTURE = {**DEBATE_STRUCTURE, "opening": DEBATE_STRUCTURE["opening"][:1]}
PAPER_SCORING = {"kind": "log", "log_base": 2.0, "per_turn_penalty": 0.05}
AT = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)


def seat_record(
    role: str,
    is_ai: bool,
    holder: str,
    user_id: int,
    answer_position: int | None,
    honest: bool | None,
) -> SeatRecord:
    return SeatRecord(
        next(_ids),
        role,
        holder,
        is_ai,
        answer_position,
        user_id=user_id,
        honest=honest,
    )


def session(
    *,
    judgments: list[float],
    speeches: list[list[tuple[int, int]]] | None = None,
    protocol: str = "debate",
    ai: bool = False,
    honest: bool | None = None,
    judge: str = "judge-1",
    chars: int = 500,
    passage_length: int = 10_000,
    offline: dict[str, list[float]] | None = None,
    tags: tuple[str, ...] = (),
    correct_position: int = 0,
) -> SessionRecord:
    """A finished session: ``judgments`` are the live judge's P(answer 0) at each judge round
    (the last ends it); ``speeches[i]`` the quote spans of each speech in speech round i (every
    speech has ``chars`` characters). Consultancies have one consultant, honest or not."""
    debate = protocol == "debate"
    speeches = speeches if speeches is not None else [[] for _ in judgments[:-1]]
    n_speakers = 2 if debate else 1
    seats = [seat_record("judge", False, judge, 1, None, None)]
    if debate:
        seats += [
            seat_record("debater_a", ai, "A", 2, 0, correct_position == 0),
            seat_record("debater_b", ai, "B", 3, 1, correct_position == 1),
        ]
    else:
        position = correct_position if honest else 1 - correct_position
        seats.append(seat_record("consultant", ai, "C", 2, position, bool(honest)))
    for name in offline or {}:
        seats.append(seat_record("offline_judge", False, name, 9, None, None))
    judge_seat = seats[0].seat_id
    rounds: list[RoundRecord] = []
    index = 0
    for turn, p in enumerate(judgments):
        own = [JudgmentRecord(judge_seat, "live", (p, 1 - p), "", turn == len(judgments) - 1, AT)]
        for seat in seats:
            if seat.role == "offline_judge" and turn < len(offline[seat.holder]):
                q = offline[seat.holder][turn]
                own.append(
                    JudgmentRecord(
                        seat.seat_id,
                        "offline",
                        (q, 1 - q),
                        "",
                        turn == len(offline[seat.holder]) - 1,
                        AT,
                    )
                )
        rounds.append(RoundRecord(index, "judge", (), tuple(own)))
        index += 1
        if turn < len(judgments) - 1:
            spans = speeches[turn] if turn < len(speeches) else []
            per_speaker = [spans] + [[] for _ in range(n_speakers - 1)] if spans else None
            speakers = [s for s in seats if s.role in ("debater_a", "debater_b", "consultant")]
            made = tuple(
                SpeechRecord(
                    s.role,
                    s.seat_id,
                    "",
                    chars,
                    0,
                    tuple(
                        QuoteRecord(a, b, True, "")
                        for a, b in (per_speaker[k] if per_speaker else [])
                    ),
                    AT,
                )
                for k, s in enumerate(speakers)
            )
            kind = "simultaneous" if debate and turn == 0 else "sequential"
            rounds.append(RoundRecord(index, kind, made, ()))
            index += 1
    return SessionRecord(
        id=next(_ids),
        name=f"s{index}",
        protocol=protocol,
        status="finished",
        batch="",
        included_in_paper=None,
        question="?",
        answers=("x", "y"),
        correct_position=correct_position,
        passage_title="t",
        passage_source="tests",
        passage_id="p",
        passage_length=passage_length,
        rules_name="paper",
        structure=DEBATE_STRUCTURE if debate else CONSULTANCY_STRUCTURE,
        scoring=PAPER_SCORING,
        seats=tuple(seats),
        rounds=tuple(rounds),
        created_at=AT,
        started_at=AT,
        finished_at=AT,
        error_tags=tags,
    )
