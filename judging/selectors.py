"""Reads for research: whole sessions as plain records (`debate/records.py`) for exports and the
analysis.

A fixed number of queries whatever the number of sessions (one per table, each filtered by a
subquery of the sessions asked for), reading only columns: the analysis of 100,000 sessions must
not run 100,000 queries, nor build 100,000 model instances. Texts are read only when asked for.
What many sessions share (a question and its passage, the rules) is decoded once and shared by
their records; stored JSON is decoded many values at a time, and the collector is kept off the
records (`collector_paused`): at 100,000 sessions the records are about 3 million objects.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import IntegerField, QuerySet, TextField
from django.db.models.functions import Cast, Length

from debate.models import (
    EndVote,
    Judgment,
    Question,
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
from judging.models import ErrorTag, SurveyResponse

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
    # Millions of small objects that all live as long as the records: the collector's passes
    # over them would free nothing (records hold no cycles) and cost seconds at 100,000.
    with collector_paused():
        return _session_records(sessions, with_text)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a large set of acyclic objects is built (reference
    counting still frees them), and those objects kept out of its later passes: on again
    afterwards (if it was on), with everything alive frozen (`gc.freeze`), since the first pass
    after millions of new objects would walk them all, for nothing, and the next ones again.
    What an earlier pause froze goes back to the collector first, so a long-lived process (the
    staff page) keeps nothing out of its reach for longer than until its next analysis."""
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def _session_records(sessions: QuerySet[Session], with_text: bool) -> list[SessionRecord]:
    ids = sessions.values_list("pk", flat=True)
    rows = list(
        sessions.annotate(
            answer_order_json=Cast("answer_order", TextField()),
            structure_json=Cast("rules__structure", TextField()),
            scoring_json=Cast("rules__scoring", TextField()),
        ).values_list(
            "pk",
            "external_id",
            "protocol",
            "status",
            "batch_link__batch__batch_id",
            "included_in_paper",
            "question_id",
            "answer_order_json",
            "rules_id",
            "created_at",
            "started_at",
            "finished_at",
            "void_reason",
            "rules__name",
            "structure_json",
            "scoring_json",
        )
    )
    # The rules (and below, the questions with their passages) are decoded once each, not once
    # per session: many sessions share them, and their records then share the same values.
    rules: dict[int, tuple[str, Any, Any]] = {}
    for row in rows:
        if row[8] not in rules:
            rules[row[8]] = (row[13], json.loads(row[14]), json.loads(row[15]))
    questions: dict[int, tuple[Any, ...]] = {}
    tokens: dict[int, tuple[str, ...] | None] = {}
    for pk, *rest, tokens_json in (
        Question.objects.filter(pk__in=sessions.values("question_id"))
        .annotate(
            passage_length=Length("passage__text"),
            tokens_json=Cast("passage__tokens__tokens", TextField()),
        )
        .values_list(
            "pk",
            "text",
            "answers",
            "correct_index",
            "passage__title",
            "passage__source",
            "passage__external_id",
            "passage__story_key",
            "passage_id",
            "passage_length",
            "tokens_json",
        )
    ):
        questions[pk] = tuple(rest)
        passage_pk = rest[7]
        if passage_pk not in tokens:
            tokens[passage_pk] = None if tokens_json is None else tuple(json.loads(tokens_json))
    orders = _json_values(row[7] for row in rows)
    correct_of: dict[int, int] = {}
    for row, order in zip(rows, orders, strict=True):
        correct = questions[row[6]][2]
        correct_of[row[0]] = order.index(correct) if correct in order else -1
    seats = _seats(ids, correct_of, with_text)
    role_of = {seat.seat_id: seat.role for found in seats.values() for seat in found}
    rounds = _rounds(ids, role_of, with_text)
    tags: dict[int, list[str]] = defaultdict(list)
    for session_id, name in (
        ErrorTag.objects.filter(session__in=ids)
        .order_by("category__position", "category__name")
        .values_list("session_id", "category__name")
    ):
        tags[session_id].append(name)
    records = []
    for (
        pk,
        external_id,
        protocol,
        status,
        batch,
        included,
        question_id,
        _,
        rules_id,
        created,
        started,
        finished,
        void_reason,
        *_,
    ), order in zip(rows, orders, strict=True):
        (question, answers, _, title, source, passage_id, story, passage_pk, length) = questions[
            question_id
        ]
        rules_name, structure, scoring = rules[rules_id]
        records.append(
            SessionRecord(
                pk,
                external_id or f"session-{pk}",
                protocol,
                status,
                batch or "",
                included,
                question,
                tuple(answers[i] for i in order),
                correct_of[pk],
                title,
                source,
                passage_id,
                length or 0,
                rules_name,
                structure,
                scoring,
                tuple(seats.get(pk, ())),
                tuple(rounds.get(pk, ())),
                created,
                started,
                finished,
                tuple(tags.get(pk, ())),
                void_reason,
                story,
                tokens.get(passage_pk),
            )
        )
    return records


def _seats(
    ids: QuerySet, correct_of: dict[int, int], with_text: bool
) -> dict[int, list[SeatRecord]]:
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
    no_pad = ("", None)
    seats: dict[int, list[SeatRecord]] = defaultdict(list)
    for (
        pk,
        session_id,
        role,
        user_id,
        user_name,
        ai_player,
        position,
        mode,
        assigned,
        started,
        chosen_at,
    ) in (
        Seat.objects.filter(session__in=ids)
        .order_by("session_id", "role", "pk")
        .values_list(
            "pk",
            "session_id",
            "role",
            "user_id",
            username,
            "ai_player",
            "answer_position",
            "judging_mode",
            "assigned_judging_mode",
            "judging_started_at",
            "answer_chosen_at",
        )
    ):
        role = ROLES[role]
        scratchpad, notes = pads.get(pk, no_pad)
        seats[session_id].append(
            SeatRecord(
                pk,
                role,
                user_name if user_id is not None else ai_player,
                ai_player != "",
                position,
                user_id,
                (position == correct_of[session_id]) if role in EXPERT_ROLES else None,
                surveys.get(pk),
                mode,
                assigned,
                started,
                scratchpad,
                notes,
                chosen_at,
            )
        )
    return seats


def _rounds(
    ids: QuerySet, role_of: dict[int, Role], with_text: bool
) -> dict[int, list[RoundRecord]]:
    """Each session's rounds with their speeches (and quotes), judgments and votes, read one
    table at a time and joined here by id (a speaker's role from its seat, ``role_of``)."""
    username = f"author__{get_user_model().USERNAME_FIELD}"
    quotes: dict[int, list[QuoteRecord]] = defaultdict(list)
    # Flags read as 0 or 1 and made booleans here: with no value left for the ORM to convert,
    # it hands the rows on as the database gives them (its per-row conversion costs seconds at
    # a million rows).
    quote_rows = (
        Quote.objects.filter(speech__round__session__in=ids)
        .annotate(verified_flag=Cast("verified", IntegerField()))
        .order_by("speech_id", "position")
    )
    if with_text:
        for speech_id, start, end, verified, token_start, token_end, text in quote_rows.values_list(
            "speech_id", "start", "end", "verified_flag", "token_start", "token_end", "text"
        ):
            tokens = None if token_start is None or token_end is None else (token_start, token_end)
            quotes[speech_id].append(QuoteRecord(start, end, verified == 1, text, tokens))
    else:
        for speech_id, start, end, verified, token_start, token_end in quote_rows.values_list(
            "speech_id", "start", "end", "verified_flag", "token_start", "token_end"
        ):
            tokens = None if token_start is None or token_end is None else (token_start, token_end)
            quotes[speech_id].append(QuoteRecord(start, end, verified == 1, "", tokens))
    speeches: dict[int, list[SpeechRecord]] = defaultdict(list)
    speech_rows = Speech.objects.filter(round__session__in=ids).order_by(
        "round_id", "created_at", "pk"
    )
    no_quotes: tuple[QuoteRecord, ...] = ()
    if with_text:
        for (
            pk,
            round_id,
            seat_id,
            chars,
            quoted,
            at,
            text,
            user_name,
            ai_name,
        ) in speech_rows.values_list(
            "pk",
            "round_id",
            "seat_id",
            "char_count",
            "quote_char_count",
            "created_at",
            "text",
            username,
            "seat__ai_player",
        ):
            found = quotes.get(pk)
            speeches[round_id].append(
                SpeechRecord(
                    role_of[seat_id],
                    seat_id,
                    text,
                    chars,
                    quoted,
                    tuple(found) if found else no_quotes,
                    at,
                    user_name or ai_name or "",
                )
            )
    else:
        for pk, round_id, seat_id, chars, quoted in speech_rows.values_list(
            "pk", "round_id", "seat_id", "char_count", "quote_char_count"
        ):
            found = quotes.get(pk)
            speeches[round_id].append(
                SpeechRecord(
                    role_of[seat_id],
                    seat_id,
                    "",
                    chars,
                    quoted,
                    tuple(found) if found else no_quotes,
                )
            )
    del quotes
    judgments: dict[int, list[JudgmentRecord]] = defaultdict(list)
    # The probabilities as stored text, decoded here all at once (`_json_values`), and the flag
    # as 0 or 1, as the quotes'.
    judgment_fields = ["round_id", "seat_id", "kind", "probabilities_json", "end_flag", "step"] + (
        ["created_at", "text", username, "seat__ai_player", "questions"] if with_text else []
    )
    judgment_rows = list(
        Judgment.objects.filter(session__in=ids)
        .annotate(
            probabilities_json=Cast("probabilities", TextField()),
            end_flag=Cast("end", IntegerField()),
        )
        .order_by("round_id", "kind", "step", "pk")
        .values_list(*judgment_fields)
    )
    for row, probabilities in zip(
        judgment_rows, _json_values(row[3] for row in judgment_rows), strict=True
    ):
        judgments[row[0]].append(
            JudgmentRecord(
                row[1],
                row[2],
                tuple(probabilities),
                row[7] if with_text else "",
                row[4] == 1,
                row[6] if with_text else None,
                (row[8] or row[9] or "") if with_text else "",
                row[5],
                tuple(sorted((row[10] or {}).items())) if with_text else (),
            )
        )
    votes: dict[int, list[VoteRecord]] = defaultdict(list)
    vote_fields = ["round_id", "seat_id", "end"] + (
        ["created_at", username, "seat__ai_player"] if with_text else []
    )
    for row in (
        EndVote.objects.filter(round__session__in=ids)
        .order_by("round_id", "created_at", "pk")
        .values_list(*vote_fields)
    ):
        votes[row[0]].append(
            VoteRecord(
                role_of[row[1]],
                row[1],
                row[2],
                row[3] if with_text else None,
                (row[4] or row[5] or "") if with_text else "",
            )
        )
    rounds: dict[int, list[RoundRecord]] = defaultdict(list)
    none: tuple[()] = ()
    for pk, session_id, index, kind in (
        Round.objects.filter(session__in=ids)
        .order_by("session_id", "index")
        .values_list("pk", "session_id", "index", "kind")
    ):
        round_speeches = speeches.get(pk)
        round_judgments = judgments.get(pk)
        round_votes = votes.get(pk)
        rounds[session_id].append(
            RoundRecord(
                index,
                ROUND_KINDS[kind],
                tuple(round_speeches) if round_speeches else none,
                tuple(round_judgments) if round_judgments else none,
                tuple(round_votes) if round_votes else none,
            )
        )
    return rounds


def _json_values(texts: Iterable[str]) -> list[Any]:
    """Stored JSON texts decoded in one call, as one array: the same values as decoding each
    (the same decoder reads the same text), without the per-call cost that dominates at half a
    million small lists."""
    return json.loads("[" + ",".join(texts) + "]")
