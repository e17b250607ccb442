"""Reads for research: whole sessions as plain records (for exports and the analysis), loaded in
a fixed number of queries however many sessions there are."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet

from debate.models import Quote, Round, Seat, Session, Speech
from judging.models import Judgment, SurveyResponse
from judging.records import (
    DEBATER_ROLES,
    JudgmentRecord,
    QuoteRecord,
    RoundRecord,
    SeatRecord,
    SessionRecord,
    SpeechRecord,
)

_QUOTES = Prefetch("quotes", queryset=Quote.objects.order_by("position"))


def session_records(sessions: QuerySet[Session] | Iterable[Session]) -> Iterator[SessionRecord]:
    """Every session of ``sessions`` as a record, in the queryset's order."""
    queryset = (
        sessions
        if isinstance(sessions, QuerySet)
        else Session.objects.filter(pk__in=[s.pk for s in sessions])
    )
    queryset = queryset.select_related("question__passage", "rules", "batch").prefetch_related(
        Prefetch("seats", queryset=Seat.objects.select_related("user", "agent", "survey")),
        Prefetch(
            "rounds",
            queryset=Round.objects.order_by("index").prefetch_related(
                Prefetch(
                    "speeches",
                    queryset=Speech.objects.select_related("seat")
                    .order_by("created_at", "id")
                    .prefetch_related(
                        Prefetch("quotes", queryset=Quote.objects.order_by("position"))
                    ),
                ),
                Prefetch("judgments", queryset=Judgment.objects.order_by("kind", "id")),
            ),
        ),
    )
    for session in queryset.iterator(chunk_size=200):
        yield _record(session)


def _record(session: Session) -> SessionRecord:
    correct = session.correct_position
    seats = tuple(
        SeatRecord(
            seat_id=s.pk,
            role=s.role,
            is_ai=s.is_ai,
            holder=s.user.get_username() if s.user_id else s.agent.name,
            user_id=s.user_id,
            answer_position=s.answer_position,
            honest=(s.answer_position == correct) if s.role in DEBATER_ROLES else None,
            survey=_survey(s),
        )
        for s in session.seats.all()
    )
    rounds = tuple(
        RoundRecord(
            index=r.index,
            kind=r.kind,
            speeches=tuple(
                SpeechRecord(
                    role=sp.seat.role,
                    seat_id=sp.seat_id,
                    text=sp.text,
                    char_count=sp.char_count,
                    quote_char_count=sp.quote_char_count,
                    quotes=tuple(
                        QuoteRecord(q.start, q.end, q.verified, q.text) for q in sp.quotes.all()
                    ),
                    at=sp.created_at,
                )
                for sp in r.speeches.all()
            ),
            judgments=tuple(
                JudgmentRecord(
                    seat_id=j.seat_id,
                    kind=j.kind,
                    probabilities=tuple(j.probabilities),
                    text=j.text,
                    end=j.end,
                    at=j.created_at,
                )
                for j in r.judgments.all()
            ),
        )
        for r in session.rounds.all()
    )
    return SessionRecord(
        id=session.pk,
        name=session.external_id or f"session-{session.pk}",
        protocol=session.protocol,
        status=session.status,
        batch=session.batch.batch_id if session.batch_id else "",
        included_in_paper=session.included_in_paper,
        question=session.question.text,
        answers=tuple(session.answers),
        correct_position=correct,
        passage_title=session.question.passage.title,
        passage_source=session.question.passage.source,
        passage_id=session.question.passage.external_id,
        passage_length=len(session.question.passage.text),
        rules_name=session.rules.name,
        structure=session.rules.structure,
        scoring=session.rules.scoring,
        seats=seats,
        rounds=rounds,
        created_at=session.created_at,
        started_at=session.started_at,
        finished_at=session.finished_at,
    )


def _survey(seat: Seat) -> dict[str, Any] | None:
    try:
        return seat.survey.answers
    except SurveyResponse.DoesNotExist:
        return None
