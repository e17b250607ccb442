"""Writes to sessions: create one, submit a speech. Each runs in one transaction with the session
row locked, checks the move with the pure core (`debate/protocol.py`), saves, and announces the
change after commit. Judgments are recorded by `debate/judgments.py` through the same lock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from debate import events, protocol
from debate.ai_holders import AIHolder, ai_holder_release
from debate.audit import actor_of, audit_record
from debate.errors import ServiceError
from debate.models import (
    JUDGE_QUESTIONS_KEY,
    Draft,
    EndVote,
    Judgment,
    Passage,
    PassageReading,
    Question,
    Quote,
    Round,
    Rules,
    Scratchpad,
    Seat,
    Session,
    Speech,
)
from debate.protocol import JUDGE_ROLES, MoveKind, Protocol, Rejection, RejectionCode, Role
from debate.quotes import Quote as CertifiedQuote
from debate.quotes import (
    QuoteProblem,
    certify_markup,
    quoted_char_count,
    rendered_length,
    to_editor_markup,
    to_markup,
)
from debate.scoring import PAPER_RULE
from debate.selectors import judge_conflicts_of, seat_quoted_spans, session_state


class MoveRejected(ServiceError):
    """A move or a request the rules refuse; `rejections` says why in participants' words."""

    def __init__(self, *rejections: Rejection) -> None:
        self.rejections = rejections
        super().__init__(" ".join(r.message for r in rejections))

    @property
    def code(self) -> RejectionCode:
        return self.rejections[0].code


@dataclass(frozen=True)
class SeatAssignment:
    """Who holds a seat of a new session, and which shown answer a speaking seat argues."""

    role: Role
    user: User | None = None
    agent: AIHolder | None = None  # an AI (the AI app's agent: debate/ai_holders.py)
    answer_position: int | None = None
    honest: bool | None = None  # instead of a position: argue the correct (or a wrong) answer


DEFAULT_ANSWER_POSITION = {Role.DEBATER_A: 0, Role.DEBATER_B: 1, Role.CONSULTANT: 0}


def session_create(
    *,
    question: Question,
    protocol_name: Protocol | str,
    rules: Rules,
    seats: Sequence[SeatAssignment],
    answer_order: Sequence[int] | None = None,
    rng: random.Random | None = None,
    external_id: str = "",
) -> Session:
    """Create a session with its seats. Without ``answer_order`` the question's correct answer and
    best distractor are shown in a random order (from ``rng``, for reproducible schedules)."""
    chosen = Protocol(protocol_name)
    structure = rules.get_structure()  # broken rules fail here, before anything is written
    if answer_order is None:
        try:
            order = list(question.debate_pair())
        except ValueError as error:
            raise MoveRejected(Rejection(RejectionCode.BAD_RULES, str(error))) from error
        (rng or random.Random()).shuffle(order)
    else:
        order = list(answer_order)
    correct_position = order.index(question.correct_index) if question.correct_index in order else 0
    if structure.open_choice:
        seats = _open_seats(seats)
    seats = [
        replace(
            s,
            answer_position=correct_position
            if s.honest
            else next(i for i in range(len(order)) if i != correct_position),
        )
        if s.honest is not None
        else s
        for s in seats
    ]
    _check_seats(chosen, structure, seats, answer_count=len(order))
    _check_judges(question, seats)
    session = Session(
        question=question,
        protocol=chosen.value,
        rules=rules,
        answer_order=order,
        external_id=external_id,
    )
    session.full_clean()
    with transaction.atomic():
        session.save()
        created = Seat.objects.bulk_create(
            Seat(
                session=session,
                role=assignment.role,
                user=assignment.user,
                ai_player=assignment.agent.name if assignment.agent is not None else "",
                answer_position=None if structure.open_choice else _answer_position(assignment),
            )
            for assignment in seats
        )
        for seat, assignment in zip(created, seats, strict=True):
            if assignment.agent is not None:
                assignment.agent.seat_take(seat)
        # Debaters read the passage: from now on they may never judge a question on it.
        PassageReading.objects.bulk_create(
            (
                PassageReading(user=a.user, passage=question.passage, note="debated")
                for a in seats
                if a.user is not None and a.role not in JUDGE_ROLES
            ),
            ignore_conflicts=True,
        )
        events.announce_session_changed(session.pk)
    return session


def speech_submit(*, session: Session, seat: Seat, text: str) -> Speech:
    """Add ``seat``'s speech to the current round. ``text`` may quote the passage with
    ``<quote>...</quote>`` (found by text) or ``<quote start="N" end="M">`` (a selection)."""
    with transaction.atomic():
        move = protocol.Move(Role(seat.role), MoveKind.SPEECH)
        locked, state = move_open(session, seat, move)
        segments = certify_markup(text, locked.question.passage.text)
        if isinstance(segments, QuoteProblem):
            raise MoveRejected(Rejection(RejectionCode.BAD_QUOTE, segments.message))
        assert state.round is not None  # a finished session is refused by move_open
        problems = protocol.check_speech(
            segments,
            state.round,
            state.structure,
            locked.question.passage.text,
            seat_quoted_spans(seat),
        )
        if problems:
            raise MoveRejected(*problems)
        round_ = round_open(locked, state)
        speech = save_once(
            Speech,
            round=round_,
            seat=seat,
            author=seat.user,
            text=to_markup(segments),
            char_count=rendered_length(segments),
            quote_char_count=quoted_char_count(segments),
        )
        Quote.objects.bulk_create(
            Quote(
                speech=speech,
                position=position,
                start=quote.start,
                end=quote.end,
                verified=quote.verified,
                text=quote.text,
            )
            for position, quote in enumerate(s for s in segments if isinstance(s, CertifiedQuote))
        )
        move_commit(locked, state, move, round_)
        draft_clear(seat=seat, kind=Draft.Kind.SPEECH)
        audit_record(
            action="speech",
            **actor_of(seat),
            session=locked,
            target=speech,
            after={"round": state.round_index, "text": speech.text},
        )
    return speech


def choice_submit(*, session: Session, seat: Seat, position: int) -> Seat:
    """Open rules: the expert (`protocol.choosers`) chooses the shown answer it argues, once,
    before round 1; in open debate debater B argues the other answer. Stored on the seats (the
    chooser's `answer_chosen_at` is its move in the history)."""
    with transaction.atomic():
        move = protocol.Move(Role(seat.role), MoveKind.CHOICE)
        locked, state = move_open(session, seat, move)
        answers = len(locked.answer_order)
        if (
            isinstance(position, bool)
            or not isinstance(position, int)
            or not 0 <= position < answers
        ):
            raise MoveRejected(
                Rejection(RejectionCode.WRONG_MOVE, "Choose one of the shown answers.")
            )
        chooser = Seat.objects.select_for_update().get(pk=seat.pk, session=locked)
        chooser.answer_position, chooser.answer_chosen_at = position, timezone.now()
        chooser.save(update_fields=["answer_position", "answer_chosen_at"])
        others = [r for r in state.speakers if r != chooser.role]
        rest = [i for i in range(answers) if i != position]
        for other, answer in zip(others, rest, strict=False):  # open debate: B argues the other
            locked.seats.filter(role=other).update(answer_position=answer)
        move_commit(locked, state, move, None)
        audit_record(
            action="choice",
            **actor_of(seat),
            session=locked,
            target=chooser,
            after={"answer_position": position},
        )
    return chooser


def vote_submit(*, session: Session, seat: Seat, end: bool) -> EndVote:
    """The seat's vote in the current negotiate-end round: end the session now (``end``) or go
    on. When every speaking seat has voted to end, the session ends by agreement."""
    with transaction.atomic():
        move = protocol.Move(Role(seat.role), MoveKind.VOTE, end=bool(end))
        locked, state = move_open(session, seat, move)
        round_ = round_open(locked, state)
        vote = save_once(EndVote, round=round_, seat=seat, end=bool(end), author=seat.user)
        after = move_commit(locked, state, move, round_)
        audit_record(
            action="vote",
            **actor_of(seat),
            session=locked,
            target=vote,
            after={"round": state.round_index, "end": bool(end), "ended": after.finished},
        )
    return vote


def move_undo(*, session: Session, seat: Seat, user) -> str:
    """Take back the seat's last speech while no one else can have seen it (see
    `debate.visibility.undo_allowed`); the undo is recorded with what was taken back, and the
    speech goes back into the seat's draft (its quotes as the same selections), returned."""
    from debate.visibility import session_snapshot, speech_segments, undo_allowed

    with transaction.atomic():
        locked = session_lock(session)
        check_seat_belongs(locked, seat)
        check_not_void(locked)
        if seat.user_id is None or seat.user_id != getattr(user, "pk", None):
            raise MoveRejected(_not_your_turn())
        if not undo_allowed(session_snapshot(locked), seat.pk):
            raise MoveRejected(
                Rejection(
                    RejectionCode.NOT_YOUR_TURN,
                    "That speech can no longer be taken back: someone else may have seen it.",
                )
            )
        state = session_state(locked)
        speech = Speech.objects.get(
            round__session=locked, round__index=state.round_index, seat=seat
        )
        audit_record(
            action="move_undone",
            actor=user,
            session=locked,
            target=speech,
            before={"round": state.round_index, "text": speech.text},
        )
        markup = to_editor_markup(speech_segments(speech.text, list(speech.quotes.all())))
        speech.delete()
        Draft.objects.update_or_create(seat=seat, kind=Draft.Kind.SPEECH, defaults={"text": markup})
        locked.save(update_fields=["updated_at"])
        events.announce_session_changed(locked.pk)
    return markup


# --------------------------------------------------------------------------------------------------
# Shared by the services of every move (speeches here, judgments in debate/judgments.py)
# --------------------------------------------------------------------------------------------------


def move_open(session: Session, seat: Seat, move: protocol.Move) -> tuple[Session, protocol.State]:
    """The first steps of every move: lock the session, check the seat is its, replay the
    history and check the move against the rules; the locked session and its state."""
    locked = session_lock(session)
    check_seat_belongs(locked, seat)
    check_not_void(locked)
    state = session_state(locked)
    raise_if_rejected(protocol.check_move(state, move))
    return locked, state


def session_lock(session: Session) -> Session:
    """Re-read ``session`` with its row locked until the transaction ends. Concurrent moves on one
    session are thereby serialised: the second sees the first's result, not a stale state.
    (SQLite has no row locks; its IMMEDIATE transactions serialise writers instead.)"""
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("question__passage", "rules")
        .get(pk=session.pk)
    )


def round_open(session: Session, state: protocol.State) -> Round:
    """The stored round for the state's current round, created by its first move."""
    assert state.round is not None  # only a finished session has no current round
    round_, _ = Round.objects.get_or_create(
        session=session, index=state.round_index, defaults={"kind": state.round.kind.value}
    )
    return round_


def move_commit(
    session: Session, state: protocol.State, move: protocol.Move, round_: Round | None
) -> protocol.State:
    """Advance the stored session after a move's rows are saved: round completion, status,
    timestamps, and the after-commit announcement to every connected seat."""
    after = protocol.apply_move(state, move)
    if isinstance(after, Rejection):  # check_move passed under the lock, so this cannot happen
        raise MoveRejected(after)
    now = timezone.now()
    if round_ is not None and (after.round_index != state.round_index or after.finished):
        round_.completed_at = now
        round_.save(update_fields=["completed_at"])
    fields = ["status", "updated_at"]
    if session.started_at is None:
        session.started_at = now
        fields.append("started_at")
    if after.finished:
        session.status = Session.Status.FINISHED
        session.finished_at = now
        fields.append("finished_at")
    else:
        session.status = Session.Status.IN_PROGRESS
    session.save(update_fields=fields)
    events.announce_session_changed(session.pk, state=after, version=session.updated_at)
    return after


def save_once[M: models.Model](model: type[M], **fields: Any) -> M:
    """Insert a move's row; if a unique constraint says the move was already made (a race the
    lock did not see, e.g. on a database without row locks), it is not this seat's turn."""
    try:
        with transaction.atomic():
            return model._default_manager.create(**fields)
    except IntegrityError as error:
        raise MoveRejected(_not_your_turn()) from error


def raise_if_rejected(rejection: Rejection | None) -> None:
    if rejection is not None:
        raise MoveRejected(rejection)


def check_not_void(session: Session) -> None:
    """No move is made in a session staff voided."""
    if session.voided_at is not None:
        raise MoveRejected(
            Rejection(
                RejectionCode.SESSION_FINISHED,
                f"This session was voided by the study staff: {session.void_reason}",
            )
        )


def session_void(*, session: Session, reason: str, actor=None) -> Session:
    """Staff: void a session (a participant dropped out, a study error). No more moves are made
    in it; it is left out of the analysis and the leaderboards; its history stays as it was,
    and the reason is shown in its room. Audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise ServiceError("Say why the session is voided.", fields={"reason": "Required."})
    raise_if_rejected(protocol.check_text(reason, "The reason"))
    with transaction.atomic():
        locked = session_lock(session)
        if locked.voided_at is not None:
            raise ServiceError(f"Session {locked.pk} is already void: {locked.void_reason}")
        locked.voided_at, locked.void_reason = timezone.now(), reason
        locked.save(update_fields=["voided_at", "void_reason", "updated_at"])
        audit_record(
            action="session_void",
            actor=actor,
            via="admin",
            session=locked,
            target=locked,
            after={"reason": reason},
        )
        events.announce_session_changed(locked.pk)
    return locked


def check_seat_belongs(session: Session, seat: Seat) -> None:
    if seat.session_id != session.pk:
        raise MoveRejected(_not_your_turn())


def _not_your_turn() -> Rejection:
    return Rejection(RejectionCode.NOT_YOUR_TURN, "It is not your turn.")


def _open_seats(seats: Sequence[SeatAssignment]) -> list[SeatAssignment]:
    """Under open rules the experts choose their answers in the session: none is assigned."""
    if any(s.honest is not None or s.answer_position is not None for s in seats):
        raise MoveRejected(
            Rejection(
                RejectionCode.BAD_RULES,
                "Under open rules the expert chooses the answer it argues: assign none.",
            )
        )
    return list(seats)


def _answer_position(assignment: SeatAssignment) -> int | None:
    if assignment.role in JUDGE_ROLES:
        return None
    if assignment.answer_position is not None:
        return assignment.answer_position
    return DEFAULT_ANSWER_POSITION[assignment.role]


def _check_judges(question: Question, seats: Sequence[SeatAssignment]) -> None:
    """A person judges a story only if they never read it, argued on it or judged it."""
    judges = [s.user for s in seats if s.user is not None and s.role in JUDGE_ROLES]
    if not judges:
        return
    reasons = judge_conflicts_of(users=judges, passage=question.passage)
    problems = [r for user in judges for r in reasons[user.pk]]
    if problems:
        raise MoveRejected(
            Rejection(
                RejectionCode.JUDGE_CONFLICT,
                "This person cannot judge this question: " + "; ".join(problems) + ".",
            )
        )


def _check_seats(
    chosen: Protocol,
    structure: protocol.Structure,
    seats: Sequence[SeatAssignment],
    answer_count: int,
) -> None:
    def refuse(message: str) -> None:
        raise MoveRejected(Rejection(RejectionCode.BAD_RULES, message))

    live = [s for s in seats if s.role is not Role.OFFLINE_JUDGE]
    roles = sorted(Role(s.role) for s in live)
    needed_roles = protocol.live_roles(chosen, structure)
    if roles != sorted(needed_roles):
        needed = ", ".join(needed_roles)
        kind = f"judgeless {chosen}" if not structure.has_judge else chosen
        refuse(f"A {kind} needs exactly these seats: {needed}.")
    for assignment in seats:
        if (assignment.user is None) == (assignment.agent is None):
            refuse(f"The {assignment.role} seat needs exactly one holder: a user or an agent.")
    users = [s.user.pk for s in live if s.user is not None]
    if len(users) != len(set(users)):
        refuse("One person cannot hold two seats in the same session.")
    positions = [_answer_position(s) for s in live if s.role is not Role.JUDGE]
    if structure.open_choice:
        return  # the positions are chosen in the session (choice_submit)
    if any(p is None or not 0 <= p < answer_count for p in positions):
        refuse("Each debater or consultant must argue one of the shown answers.")
    if chosen is Protocol.DEBATE and len(set(positions)) != len(positions):
        refuse("The two debaters must argue different answers.")


def seat_holder_replace(
    *, seat: Seat, user=None, agent: AIHolder | None = None, actor=None
) -> Seat:
    """Staff: give ``seat`` to someone else (a person or an agent), as the rules allow: one
    holder, nobody holding two seats of a session, and a judge who never read, argued or judged
    the story. The history stays as it was (each move keeps its author); the change is audited,
    and the open pages hear of it at once (the former holder's stream closes)."""
    with transaction.atomic():
        locked = session_lock(seat.session)
        seat = Seat.objects.select_for_update().get(pk=seat.pk, session=locked)
        problem = seat_holder_problem(seat, user=user, agent=agent)
        if problem:
            raise MoveRejected(Rejection(RejectionCode.BAD_RULES, problem))
        before = {"user": seat.user_id, "agent": seat.ai_player or None}
        former = {seat.user_id} if seat.user_id else set()
        seat.user, seat.ai_player = user, agent.name if agent is not None else ""
        seat.save(update_fields=["user", "ai_player"])
        if agent is not None:
            agent.seat_take(seat)
        else:
            ai_holder_release(seat)
        audit_record(
            action="seat_holder_replace",
            actor=actor,
            via="admin",
            session=locked,
            target=seat,
            before=before,
            after={"user": seat.user_id, "agent": seat.ai_player or None},
        )
        events.announce_session_changed(locked.pk, former_holders=former)
    return seat


def seat_holder_problem(seat: Seat, *, user=None, agent: AIHolder | None = None) -> str | None:
    """Why ``seat`` cannot be given to this holder, or None: the rules `seat_holder_replace`
    applies (the admin's form shows the same reason before saving)."""
    if (user is None) == (agent is None):
        return "A seat needs exactly one holder: a user or an agent."
    if user is None or (seat.user_id == user.pk and not seat.is_ai):
        return None  # an agent, or the holder it has
    if seat.session.seats.exclude(pk=seat.pk).filter(user=user).exists():
        return "One person cannot hold two seats in the same session."
    if seat.role in JUDGE_ROLES:
        try:
            _check_judges(seat.session.question, [SeatAssignment(Role(seat.role), user=user)])
        except MoveRejected as refused:
            return str(refused)
    return None


def paper_rules(protocol_name: Protocol | str) -> Rules:
    """The paper's rules for ``protocol_name`` (created if a database lacks them)."""
    chosen = Protocol(protocol_name)
    rules, _ = Rules.objects.get_or_create(
        name=f"paper-{chosen.value}",
        defaults={
            "description": f"The paper's {chosen.value} rules (Michael et al. 2023).",
            "structure": protocol.structure_to_dict(protocol.default_structure(chosen)),
            "scoring": PAPER_RULE.to_dict(),
        },
    )
    return rules


JUDGELESS_DEBATE_RULES = "judgeless-debate"


def judgeless_debate_rules() -> Rules:
    """The judgeless debate the NYU platform ran (debaters vote on ending after each round of
    speeches; judged offline afterwards), created if a database lacks it."""
    rules, _ = Rules.objects.get_or_create(
        name=JUDGELESS_DEBATE_RULES,
        defaults={
            "description": "A debate with no live judge: after each round of speeches both "
            "debaters vote on ending it; it ends when both vote to end and is judged offline.",
            "structure": protocol.structure_to_dict(protocol.judgeless_debate_structure()),
            "scoring": PAPER_RULE.to_dict(),
        },
    )
    return rules


# The baselines of Khan et al. (2024): a judge alone, with the question and answers only
# (blind) or with the story as well (oracle); its first judgment is final. Also created by
# migration 0015. The analysis' names for these settings are another engineer's
# (debate/records.py, judging/metrics.py), not these rule-set names.
BLIND_JUDGE_RULES = "blind-judge"
ORACLE_JUDGE_RULES = "oracle-judge"


def blind_judge_rules() -> Rules:
    """The blind judge's baseline: one judgment on the question and answers alone (created if a
    database lacks it)."""
    return _judge_only_rules(BLIND_JUDGE_RULES, reads_passage=False)


def oracle_judge_rules() -> Rules:
    """The oracle judge's baseline: the judge reads the story and judges once (created if a
    database lacks it)."""
    return _judge_only_rules(ORACLE_JUDGE_RULES, reads_passage=True)


def _judge_only_rules(name: str, *, reads_passage: bool) -> Rules:
    what = "reads the story and" if reads_passage else "sees only the question and answers and"
    rules, _ = Rules.objects.get_or_create(
        name=name,
        defaults={
            "description": f"A baseline with no speeches: the judge {what} gives one final "
            "judgment (Khan et al. 2024).",
            "structure": protocol.structure_to_dict(
                protocol.judge_only_structure(reads_passage=reads_passage)
            ),
            "scoring": PAPER_RULE.to_dict(),
        },
    )
    return rules


# Open consultancy and open debate (Kenton et al. 2024; Arnesen et al. 2024): the paper's rules,
# the expert choosing the answer it argues after reading the story. Also created by migration 0016.
OPEN_RULES: dict[Protocol, str] = {
    Protocol.CONSULTANCY: "open-consultancy",
    Protocol.DEBATE: "open-debate",
}


def open_rules(protocol_name: Protocol | str) -> Rules:
    """Open consultancy or open debate (created if a database lacks it): the consultant, or
    debater A, chooses the answer it argues before round 1 (debater B argues the other)."""
    chosen = Protocol(protocol_name)
    who = "the consultant chooses" if chosen is Protocol.CONSULTANCY else "debater A chooses"
    rules, _ = Rules.objects.get_or_create(
        name=OPEN_RULES[chosen],
        defaults={
            "description": f"The paper's {chosen.value} rules, except that {who} the answer it "
            "argues after reading the story (Kenton et al. 2024).",
            "structure": protocol.structure_to_dict(protocol.open_structure(chosen)),
            "scoring": PAPER_RULE.to_dict(),
        },
    )
    return rules


# Interactive debate and consultancy (Khan et al. 2024): the paper's rules, the judge asking each
# expert a question at its turn.
INTERACTIVE_RULES: dict[Protocol, str] = {
    Protocol.CONSULTANCY: "interactive-consultancy",
    Protocol.DEBATE: "interactive-debate",
}


def interactive_rules(protocol_name: Protocol | str) -> Rules:
    """Interactive debate or consultancy (created if a database lacks it): at its turn the judge
    may address a question to each expert, who answers it in its next speech."""
    chosen = Protocol(protocol_name)
    rules, _ = Rules.objects.get_or_create(
        name=INTERACTIVE_RULES[chosen],
        defaults={
            "description": f"The paper's {chosen.value} rules, with the judge asking each expert "
            "a question at its turn (Khan et al. 2024's cross-examination).",
            "structure": {
                **protocol.structure_to_dict(protocol.default_structure(chosen)),
                JUDGE_QUESTIONS_KEY: True,
            },
            "scoring": PAPER_RULE.to_dict(),
        },
    )
    return rules


SCRATCHPAD_LIMIT = protocol.SCRATCHPAD_CHARS
DRAFT_LIMIT = protocol.DRAFT_CHARS


def draft_save(*, seat: Seat, kind: str, text: str) -> Draft:
    """Save what the seat is writing (a speech, or a judge's note) as it types; last write wins.
    Only the seat itself ever sees it (debate/visibility/). A save that arrives after the move it
    was typed for (the page sent it just before submitting; the server took the move first)
    carries exactly what the seat just submitted: that is no longer a draft, and it is not kept,
    so the submitted text does not come back in the next round's editor."""
    _check_kept_text(text, "Your draft", "Drafts", DRAFT_LIMIT)
    if _just_submitted(seat, Draft.Kind(kind), text):
        Draft.objects.filter(seat=seat, kind=kind).delete()
        return Draft(seat=seat, kind=kind, text="")
    draft, _ = Draft.objects.update_or_create(
        seat=seat, kind=Draft.Kind(kind), defaults={"text": text}
    )
    return draft


def _just_submitted(seat: Seat, kind: Draft.Kind, text: str) -> bool:
    """Whether ``text`` is the seat's latest move of this kind, as it was saved."""
    if not text.strip():
        return False
    if kind == Draft.Kind.SPEECH:
        latest = Speech.objects.filter(seat=seat).order_by("-created_at", "-pk").first()
        if latest is None:
            return False
        segments = certify_markup(text, seat.session.question.passage.text)
        return not isinstance(segments, QuoteProblem) and to_markup(segments) == latest.text
    note = (
        Judgment.objects.filter(seat=seat).order_by("-created_at", "-pk").values_list("text")
    ).first()
    return note is not None and note[0].strip() == text.strip()


def _check_kept_text(text: str, label: str, plural: str, limit: int) -> None:
    """Text a person keeps beside the moves (a draft, notes): readable, within its limit."""
    raise_if_rejected(protocol.check_text(text, label))
    if len(text) > limit:
        raise MoveRejected(
            Rejection(
                RejectionCode.OVER_CHAR_LIMIT,
                f"{plural} are limited to {limit} characters.",
                limit=limit,
                actual=len(text),
            )
        )


def draft_clear(*, seat: Seat, kind: str) -> None:
    """A submitted move clears its draft (in the move's transaction)."""
    Draft.objects.filter(seat=seat, kind=kind).delete()


def scratchpad_save(*, seat: Seat, text: str) -> Scratchpad:
    """Save a seat's private notes (last write wins; they are not part of the protocol)."""
    _check_kept_text(text, "Your notes", "Notes", SCRATCHPAD_LIMIT)
    pad, _ = Scratchpad.objects.update_or_create(seat=seat, defaults={"text": text})
    return pad


def reading_mark(
    *, user: User, passage: Passage, note: str = "", actor=None, via: str = ""
) -> tuple[PassageReading, bool]:
    """Record that ``user`` has read ``passage`` (so they are never offered as its judge);
    returns the reading and whether it is new. Marking twice keeps the first record."""
    with transaction.atomic():
        reading, created = PassageReading.objects.get_or_create(
            user=user, passage=passage, defaults={"note": note or "marked by staff"}
        )
        if created:
            audit_record(
                action="reading_marked", actor=actor, via=via, target=reading, after=reading
            )
    return reading, created
