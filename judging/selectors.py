"""Reads for research: whole sessions as plain records (`debate/records.py`) for exports and the
analysis.

A fixed number of queries whatever the number of sessions (one per table, each filtered by a
subquery of the sessions asked for), reading only columns: the analysis of 100,000 sessions must
not run 100,000 queries, nor build 100,000 model instances. Texts are read only when asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Length

from debate.models import (
    EndVote,
    PassageTokens,
    Quote,
    Round,
    Scratchpad,
    Seat,
    Session,
    Speech,
)
from debate.protocol import EXPERT_ROLES, Role, RoundKind
from debate.records import (
    JudgmentRecord,
    QuoteRecord,
    RoundRecord,
    SeatRecord,
    SessionRecord,
    SpeechRecord,
    VoteRecord,
)
from judging.models import ErrorTag, Judgment, SurveyResponse

# Stored values as the records' enums, looked up (not constructed) for the millions of rows.
ROLES = {str(role): role for role in Role}
ROUND_KINDS = {str(kind): kind for kind in RoundKind}


def session_records(
    sessions: QuerySet[Session] | Iterable[Session], *, with_text: bool = True
) -> list[SessionRecord]:
    """Every session of ``sessions`` as a record, in the queryset's order (by id otherwise).
    Without text (what the analysis reads), speeches, quotes and judges' notes are left empty
    and their times None: counts, spans and probabilities stay."""
    if not isinstance(sessions, QuerySet):
        sessions = Session.objects.filter(pk__in=[s.pk for s in sessions]).order_by("pk")
    ids = sessions.values_list("pk", flat=True)
    rows = list(
        sessions.values_list(
            "pk",
            "external_id",
            "protocol",
            "status",
            "batch__batch_id",
            "included_in_paper",
            "question__text",
            "question__answers",
            "question__correct_index",
            "answer_order",
            "question__passage__title",
            "question__passage__source",
            "question__passage__external_id",
            "question__passage__story_key",
            "question__passage_id",
            "rules__name",
            "rules__structure",
            "rules__scoring",
            "created_at",
            "started_at",
            "finished_at",
            "void_reason",
        ).annotate(passage_length=Length("question__passage__text"))
    )
    seats = _seats(ids, with_text)
    tokens = {
        passage_id: tuple(values)
        for passage_id, values in PassageTokens.objects.filter(passage__questions__sessions__in=ids)
        .distinct()
        .values_list("passage_id", "tokens")
    }
    rounds = _rounds(ids, with_text)
    tags: dict[int, list[str]] = defaultdict(list)
    for session_id, name in (
        ErrorTag.objects.filter(session__in=ids)
        .order_by("category__position", "category__name")
        .values_list("session_id", "category__name")
    ):
        tags[session_id].append(name)
    records = []
    for row in rows:
        (pk, external_id, protocol, status, batch, included, question, answers, correct) = row[:9]
        (order, title, source, passage_id, story, passage_pk, rules_name) = row[9:16]
        structure, scoring, created, started, finished, void_reason, length = row[16:23]
        correct_position = order.index(correct) if correct in order else -1
        records.append(
            SessionRecord(
                id=pk,
                name=external_id or f"session-{pk}",
                protocol=protocol,
                status=status,
                batch=batch or "",
                included_in_paper=included,
                void_reason=void_reason,
                question=question,
                answers=tuple(answers[i] for i in order),
                correct_position=correct_position,
                passage_title=title,
                passage_source=source,
                passage_id=passage_id,
                passage_length=length or 0,
                passage_story=story,
                passage_tokens=tokens.get(passage_pk),
                rules_name=rules_name,
                structure=structure,
                scoring=scoring,
                seats=tuple(
                    SeatRecord(**{**seat, "honest": (seat["answer_position"] == correct_position)})
                    if seat["role"] in EXPERT_ROLES
                    else SeatRecord(**seat, honest=None)
                    for seat in seats.get(pk, [])
                ),
                rounds=tuple(rounds.get(pk, [])),
                created_at=created,
                started_at=started,
                finished_at=finished,
                error_tags=tuple(tags.get(pk, [])),
            )
        )
    return records


def _seats(ids: QuerySet, with_text: bool) -> dict[int, list[dict[str, Any]]]:
    username = f"user__{get_user_model().USERNAME_FIELD}"
    surveys = dict(
        SurveyResponse.objects.filter(seat__session__in=ids).values_list("seat_id", "answers")
    )
    pads = (
        {
            seat_id: (text, notes)
            for seat_id, text, notes in Scratchpad.objects.filter(
                seat__session__in=ids
            ).values_list("seat_id", "text", "source_notes")
        }
        if with_text
        else {}
    )
    seats: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (
        pk,
        session_id,
        role,
        user_id,
        user_name,
        agent_id,
        agent_name,
        position,
        mode,
        assigned,
        started,
    ) in (
        Seat.objects.filter(session__in=ids)
        .order_by("session_id", "role", "pk")
        .values_list(
            "pk",
            "session_id",
            "role",
            "user_id",
            username,
            "agent_id",
            "agent__name",
            "answer_position",
            "judging_mode",
            "assigned_judging_mode",
            "judging_started_at",
        )
    ):
        seats[session_id].append(
            {
                "seat_id": pk,
                "role": ROLES[role],
                "is_ai": agent_id is not None,
                "holder": user_name if user_id is not None else agent_name,
                "user_id": user_id,
                "answer_position": position,
                "survey": surveys.get(pk),
                "judging_mode": mode,
                "assigned_judging_mode": assigned,
                "judging_started_at": started,
                "scratchpad": pads.get(pk, ("", None))[0],
                "scratchpad_notes": pads.get(pk, ("", None))[1],
            }
        )
    return seats


def _rounds(ids: QuerySet, with_text: bool) -> dict[int, list[RoundRecord]]:
    username = f"author__{get_user_model().USERNAME_FIELD}"
    quotes: dict[int, list[QuoteRecord]] = defaultdict(list)
    quote_fields = ["speech_id", "start", "end", "verified", "token_start", "token_end"] + (
        ["text"] if with_text else []
    )
    for row in (
        Quote.objects.filter(speech__round__session__in=ids)
        .order_by("speech_id", "position")
        .values_list(*quote_fields)
    ):
        quotes[row[0]].append(
            QuoteRecord(
                row[1],
                row[2],
                row[3],
                row[6] if with_text else "",
                tokens=(row[4], row[5]) if row[4] is not None else None,
            )
        )
    speeches: dict[int, list[SpeechRecord]] = defaultdict(list)
    speech_fields = [
        "pk",
        "round_id",
        "seat__role",
        "seat_id",
        "char_count",
        "quote_char_count",
    ] + (["created_at", "text", username, "seat__agent__name"] if with_text else [])
    for row in (
        Speech.objects.filter(round__session__in=ids)
        .order_by("round_id", "created_at", "pk")
        .values_list(*speech_fields)
    ):
        speeches[row[1]].append(
            SpeechRecord(
                role=ROLES[row[2]],
                seat_id=row[3],
                text=row[7] if with_text else "",
                char_count=row[4],
                quote_char_count=row[5],
                quotes=tuple(quotes.get(row[0], ())),
                at=row[6] if with_text else None,
                by=(row[8] or row[9] or "") if with_text else "",
            )
        )
    judgments: dict[int, list[JudgmentRecord]] = defaultdict(list)
    judgment_fields = ["round_id", "seat_id", "kind", "probabilities", "end", "step"] + (
        ["created_at", "text", username, "seat__agent__name", "questions"] if with_text else []
    )
    for row in (
        Judgment.objects.filter(session__in=ids)
        .order_by("round_id", "kind", "step", "pk")
        .values_list(*judgment_fields)
    ):
        judgments[row[0]].append(
            JudgmentRecord(
                seat_id=row[1],
                kind=row[2],
                probabilities=tuple(row[3]),
                text=row[7] if with_text else "",
                end=row[4],
                at=row[6] if with_text else None,
                by=(row[8] or row[9] or "") if with_text else "",
                step=row[5],
                questions=tuple(sorted((row[10] or {}).items())) if with_text else (),
            )
        )
    votes: dict[int, list[VoteRecord]] = defaultdict(list)
    vote_fields = ["round_id", "seat__role", "seat_id", "end"] + (
        ["created_at", username, "seat__agent__name"] if with_text else []
    )
    for row in (
        EndVote.objects.filter(round__session__in=ids)
        .order_by("round_id", "created_at", "pk")
        .values_list(*vote_fields)
    ):
        votes[row[0]].append(
            VoteRecord(
                role=ROLES[row[1]],
                seat_id=row[2],
                end=row[3],
                at=row[4] if with_text else None,
                by=(row[5] or row[6] or "") if with_text else "",
            )
        )
    rounds: dict[int, list[RoundRecord]] = defaultdict(list)
    for pk, session_id, index, kind in (
        Round.objects.filter(session__in=ids)
        .order_by("session_id", "index")
        .values_list("pk", "session_id", "index", "kind")
    ):
        rounds[session_id].append(
            RoundRecord(
                index=index,
                kind=ROUND_KINDS[kind],
                speeches=tuple(speeches.get(pk, ())),
                judgments=tuple(judgments.get(pk, ())),
                votes=tuple(votes.get(pk, ())),
            )
        )
    return rounds
