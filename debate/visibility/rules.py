"""Who sees what, the rules: the complete view of a seat built from a plain snapshot of its
session (`build_view`, pure: no database, property-tested), the view as JSON (`view_to_dict`),
and a speaker's draft certified as a submission would be (`speech_draft_view`). The package's
`__init__` states the rules in words. The snapshot and its records are `debate/records.py`'s,
the family the analysis reads too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from debate import protocol
from debate.protocol import JUDGE_ROLES, Role, RoundKind, RoundSpec, State
from debate.quotes import (
    Quote,
    Segment,
    merge_spans,
    quoted_char_count,
)
from debate.records import (
    JudgmentRecord,
    RoundRecord,
    SeatRecord,
    SessionSnapshot,
    VoteRecord,
)
from debate.scoring import PAPER_RULE, ScoringRule, judge_score

STAFF = "staff"


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a seat of the session, or staff (``seat_id`` None)."""

    role: Role | str
    seat_id: int | None = None
    survey_done: bool = False

    @classmethod
    def staff(cls) -> Viewer:
        return cls(role=STAFF)


# --------------------------------------------------------------------------------------------------
# The view: all a seat may know
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechView:
    role: Role
    segments: tuple[Segment, ...]

    @property
    def char_count(self) -> int:
        return sum(len(s.text) for s in self.segments)


@dataclass(frozen=True)
class RoundView:
    index: int
    kind: RoundKind
    complete: bool
    speeches: tuple[SpeechView, ...]
    judgments: tuple[JudgmentRecord, ...]
    votes: tuple[VoteRecord, ...] = ()


@dataclass(frozen=True)
class QuoteView:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class EndRule:
    """The rules on when the live judge may end, as the judge (and staff) see them: the minimum
    of speech rounds, how many it has heard and must still hear, and the limit on a swing (a
    fraction) with the probabilities a swing is measured from."""

    min_speech_rounds: int
    speech_rounds_heard: int
    speech_rounds_to_go: int
    swing_limit: float | None = None
    swing_round_owed: bool = False  # its last judgment swung: one more round before it may end
    last_probabilities: tuple[float, ...] | None = None

    @property
    def swing_points(self) -> str:
        """The swing limit in percentage points, as the room and the prompt say it."""
        return "" if self.swing_limit is None else f"{self.swing_limit * 100:g}"


@dataclass(frozen=True)
class AnswerLine:
    """One shown answer as the viewer may know it (the room's header): whether it is the
    viewer's own, and which experts argue it. Under open rules nobody argues an answer until
    the choice is made, and the expert who chose is marked (``chosen``): the judge of an open
    consultancy sees one argued answer, the other none, never both as if assigned."""

    position: int
    text: str
    own: bool = False
    argued_by: tuple[str, ...] = ()  # expert roles, in role order
    chosen: bool = False  # open rules: an expert arguing it chose it, nobody assigned it


@dataclass(frozen=True)
class SeatView:
    session_id: int
    viewer_role: str
    protocol: protocol.Protocol
    status: str
    question: str
    answers: tuple[str, ...]
    own_answer_position: int | None
    argued_positions: dict[str, int]
    correct_position: int | None
    passage_title: str | None
    passage_text: str | None
    rounds: tuple[RoundView, ...]
    revealed_quotes: tuple[QuoteView, ...]
    due: tuple[str, ...]
    your_turn: bool
    current_round: RoundSpec | None
    may_continue: bool
    may_end: bool
    judge_continues: int
    finished: bool
    identities: dict[str, str] | None = field(default=None)
    scoring: ScoringRule = PAPER_RULE
    void_reason: str = ""  # the session was voided by staff: why (no moves are offered)
    probability_history: tuple[tuple[float, ...], ...] = ()
    judge_score: float | None = None
    may_undo: bool = False
    survey_pending: bool = False
    has_live_judge: bool = True  # False in a judgeless session
    has_speeches: bool = True  # False in the blind and oracle judges' baselines
    ended_by: str | None = None  # how the session ended (protocol.EndReason), once it may know
    judging_mode: str = ""  # offline judges: stepped or timed
    judging_started: bool = True  # offline judges: False until they press "Begin judging"
    drafts: dict[str, str] = field(default_factory=dict)  # the viewer's own unsent drafts only
    turn_deadline: datetime | None = None  # when the current turn runs out (rules' time per turn)
    end_rule: EndRule | None = None  # the live judge and staff: the rules on when it may end
    # Open rules: the expert has still to choose the answer it argues (no seat argues one yet);
    # `open_choice`: the rules are open (the consultant, or debater A, chose its answer).
    choice_pending: bool = False
    open_choice: bool = False
    # Judge questions: the experts the live judge may ask (its own view, until the end), and
    # for an expert the judge's question its next speech answers ("" when none is waiting).
    question_roles: tuple[str, ...] = ()
    question_for_you: str = ""
    # The shown answers with who argues each (`AnswerLine`), in the shown order.
    answer_lines: tuple[AnswerLine, ...] = ()

    @property
    def choosing(self) -> bool:
        """It is this seat's turn to choose the answer it argues (open rules)."""
        return self.your_turn and self.choice_pending

    @property
    def latest_probabilities(self) -> tuple[float, ...] | None:
        return self.probability_history[-1] if self.probability_history else None

    @property
    def own_role_label(self) -> str:
        return ROLE_LABELS.get(self.viewer_role, self.viewer_role)

    @property
    def voting(self) -> bool:
        """It is this seat's turn to vote on ending the session."""
        spec = self.current_round
        return self.your_turn and spec is not None and spec.kind is RoundKind.NEGOTIATE_END

    @property
    def ended_by_label(self) -> str:
        if not self.ended_by:
            return ""
        return protocol.END_REASON_LABELS.get(protocol.EndReason(self.ended_by), "")


ROLE_LABELS = {STAFF: "staff", **protocol.ROLE_LABELS}


def build_view(snapshot: SessionSnapshot, viewer: Viewer) -> SeatView:
    """The complete view of ``viewer``; anything not put here explicitly stays hidden."""
    if viewer.role == Role.OFFLINE_JUDGE:
        return _offline_judge_view(snapshot, viewer)
    role = viewer.role
    is_staff = role == STAFF
    is_judge = role in JUDGE_ROLES
    state = snapshot.state
    own_seat = next((s for s in snapshot.seats if s.seat_id == viewer.seat_id), None)

    judging_over = state.finished
    rounds = tuple(
        view for record in snapshot.rounds if (view := _round_view(record, state, role)) is not None
    )
    legal = protocol.legal_moves(state) if not snapshot.void_reason else []
    my_move = next((m for m in legal if m.role == role), None)
    correct = snapshot.correct_position if not is_judge or judging_over else None
    history = tuple(j.probabilities for r in rounds for j in r.judgments if j.role == Role.JUDGE)
    final = next((j for r in rounds for j in r.judgments if j.end), None)
    surveyed = viewer.survey_done or viewer.seat_id in snapshot.surveyed_seats
    # Only the oracle judge's baseline lets the live judge read the story.
    reads_passage = state.structure.judge_reads_passage and role == Role.JUDGE
    return SeatView(
        session_id=snapshot.session_id,
        viewer_role=str(role),
        protocol=snapshot.protocol,
        status=snapshot.status,
        void_reason=snapshot.void_reason,
        question=snapshot.question,
        answers=snapshot.answers,
        own_answer_position=own_seat.answer_position if own_seat else None,
        argued_positions=_argued_positions(snapshot),
        answer_lines=_answer_lines(snapshot, own_seat.answer_position if own_seat else None),
        correct_position=correct,
        passage_title=None if is_judge and not reads_passage else snapshot.passage_title,
        passage_text=None if is_judge and not reads_passage else snapshot.passage_text,
        rounds=rounds,
        revealed_quotes=_revealed_quotes(rounds),
        due=tuple(sorted(str(r) for r in state.due)),
        your_turn=my_move is not None,
        current_round=state.round,
        may_continue=bool(my_move and my_move.may_continue),
        may_end=bool(my_move and my_move.may_end),
        judge_continues=state.judge_continues,
        finished=state.finished,
        identities=_identities(snapshot) if is_staff or surveyed else None,
        scoring=snapshot.scoring,
        probability_history=history,
        judge_score=None
        if final is None or correct is None
        else judge_score(snapshot.scoring, final.probabilities, correct, state.judge_continues),
        may_undo=own_seat is not None and undo_allowed(snapshot, own_seat.seat_id),
        survey_pending=state.finished and own_seat is not None and not surveyed,
        has_live_judge=state.structure.has_judge,
        has_speeches=state.structure.has_speeches,
        ended_by=str(state.ended_by) if state.ended_by else None,
        drafts=_own_drafts(snapshot, own_seat),
        turn_deadline=None
        if state.finished
        else protocol.turn_deadline(state.structure, snapshot.turn_became_due),
        end_rule=_end_rule(state) if role in (Role.JUDGE, STAFF) else None,
        choice_pending=state.choice_pending and not snapshot.void_reason,
        open_choice=state.structure.open_choice,
        # Offered while the session runs, not only on its turn: the room's form is rendered
        # once and waits, enabled by the pushed turn status.
        question_roles=_question_roles(snapshot)
        if role == Role.JUDGE and not state.finished
        else (),
        question_for_you=_question_for(snapshot, role),
    )


def _argued_positions(snapshot: SessionSnapshot) -> dict[str, int]:
    """The answer each expert argues, by role. Under open rules none until the choice is made:
    whatever a seat holds before it, the judge is never shown answers as if assigned."""
    if snapshot.state.choice_pending:
        return {}
    return {
        str(s.role): s.answer_position
        for s in snapshot.seats
        if s.answer_position is not None and s.role in protocol.EXPERT_ROLES
    }


def _answer_lines(snapshot: SessionSnapshot, own_position: int | None) -> tuple[AnswerLine, ...]:
    """The shown answers, each with the experts arguing it (`_argued_positions`) and, under
    open rules, whether one of them chose it."""
    argued = _argued_positions(snapshot)
    choosers = (
        {str(r) for r in protocol.choosers(snapshot.protocol)}
        if snapshot.state.structure.open_choice
        else set()
    )
    lines = []
    for position, text in enumerate(snapshot.answers):
        by = tuple(sorted(role for role, p in argued.items() if p == position))
        lines.append(
            AnswerLine(
                position=position,
                text=text,
                own=own_position == position,
                argued_by=by,
                chosen=any(role in choosers for role in by),
            )
        )
    return tuple(lines)


def _question_roles(snapshot: SessionSnapshot) -> tuple[str, ...]:
    """Whom the live judge may ask, when the rules let it: every expert seat, in role order."""
    if not snapshot.judge_questions:
        return ()
    return tuple(sorted(str(s.role) for s in snapshot.seats if s.role in protocol.EXPERT_ROLES))


def _question_for(snapshot: SessionSnapshot, role: Role | str) -> str:
    """The live judge's latest question to ``role`` while ``role`` has not spoken since it was
    asked; "" otherwise (and once the session is over). Both experts see both questions in
    the transcript, as they see the judge's notes; this is the one its next speech answers."""
    if role not in protocol.EXPERT_ROLES or snapshot.state.finished:
        return ""
    asked, at = "", -1
    for record in snapshot.rounds:
        for judgment in record.judgments:
            if judgment.role == Role.JUDGE:
                asked, at = dict(judgment.questions).get(str(role), ""), record.index
    if not asked:
        return ""
    spoken = any(r.index > at and any(x.role == role for x in r.speeches) for r in snapshot.rounds)
    return "" if spoken else asked


def _end_rule(state: State) -> EndRule | None:
    """What the rules ask of the judge before it may end, when they ask more than the paper's
    default (one speech round heard) or limit swings; None otherwise."""
    structure = state.structure
    if structure.min_speech_rounds_before_end == 1 and structure.end_blocked_after_swing is None:
        return None
    return EndRule(
        min_speech_rounds=structure.min_speech_rounds_before_end,
        speech_rounds_heard=state.speech_rounds_completed,
        speech_rounds_to_go=state.speech_rounds_to_end,
        swing_limit=structure.end_blocked_after_swing,
        swing_round_owed=state.speech_rounds_owed > state.speech_rounds_completed
        and state.speech_rounds_owed > structure.min_speech_rounds_before_end,
        last_probabilities=state.judge_probabilities,
    )


def _own_drafts(snapshot: SessionSnapshot, seat: SeatRecord | None) -> dict[str, str]:
    """A draft is its author's alone: not the other seats', not staff's."""
    return dict(snapshot.drafts.get(seat.seat_id, {})) if seat is not None else {}


def _offline_judge_view(snapshot: SessionSnapshot, viewer: Viewer) -> SeatView:
    """An offline judge reads the finished transcript as the live judge saw it, never the live
    judge's opinions nor the debaters' votes, and learns the answer only once its judging ends.
    Stepped: before its k-th judgment it sees what the live judge had heard before the live
    judge's k-th judgment (in a judgeless session: the first k speech rounds). Timed: the whole
    transcript at once, one final judgment. Nothing of the transcript until it begins."""
    own = [j for j in snapshot.offline_judgments if j.seat_id == viewer.seat_id]
    seat = next((s for s in snapshot.seats if s.seat_id == viewer.seat_id), None)
    started = seat is not None and seat.judging_started
    step = offline_step(snapshot, viewer.seat_id)
    ended = step.ended
    if ended:
        visible_below = len(snapshot.rounds) + 1
    elif not started or step.point is None:
        visible_below = -1
    else:
        visible_below = step.point.visible_below
    rounds = tuple(
        RoundView(
            index=r.index,
            kind=r.kind,
            complete=True,
            speeches=tuple(SpeechView(x.role, x.segments) for x in r.speeches),
            judgments=(),
        )
        for r in snapshot.rounds
        if r.index < visible_below and r.kind in protocol.SPEECH_ROUND_KINDS
    )
    correct = snapshot.correct_position if ended else None
    history = tuple(j.probabilities for j in own)
    final = next((j for j in own if j.end), None)
    # Assigned work is the judge's turn, beginning it included; the form shows once begun.
    own_turn = (
        snapshot.state.finished
        and not ended
        and step.point is not None
        and not snapshot.void_reason
    )
    judging = own_turn and started
    surveyed = viewer.survey_done or viewer.seat_id in snapshot.surveyed_seats
    continues = sum(1 for j in own if not j.end)
    return SeatView(
        session_id=snapshot.session_id,
        viewer_role=str(Role.OFFLINE_JUDGE),
        protocol=snapshot.protocol,
        status=snapshot.status,
        void_reason=snapshot.void_reason,
        question=snapshot.question,
        answers=snapshot.answers,
        own_answer_position=None,
        argued_positions=_argued_positions(snapshot),
        answer_lines=_answer_lines(snapshot, None),
        correct_position=correct,
        passage_title=None,
        passage_text=None,
        rounds=rounds,
        revealed_quotes=_revealed_quotes(rounds),
        due=(str(Role.OFFLINE_JUDGE),) if own_turn else (),
        your_turn=own_turn,
        current_round=step.point.spec if judging and step.point else None,
        may_continue=judging and not step.must_end,
        may_end=judging and step.may_end,
        judge_continues=continues,
        finished=ended,
        identities=_identities(snapshot) if surveyed else None,
        scoring=snapshot.scoring,
        probability_history=history,
        judge_score=None
        if final is None
        else judge_score(
            snapshot.scoring, final.probabilities, snapshot.correct_position, continues
        ),
        survey_pending=ended and not surveyed,
        has_live_judge=snapshot.state.structure.has_judge,
        ended_by=str(snapshot.state.ended_by) if ended and snapshot.state.ended_by else None,
        judging_mode=seat.judging_mode if seat else "",
        judging_started=started,
        drafts=_own_drafts(snapshot, seat),
    )


def offline_step(snapshot: SessionSnapshot, seat_id: int | None) -> protocol.OfflineStep:
    """The offline judge's progress through its points (`protocol.offline_points`)."""
    own = [j for j in snapshot.offline_judgments if j.seat_id == seat_id]
    seat = next((s for s in snapshot.seats if s.seat_id == seat_id), None)
    played = played_rounds(snapshot.rounds)
    mode = (seat.judging_mode if seat else "") or protocol.OfflineMode.STEPPED
    points = protocol.offline_points(played, snapshot.state.structure, mode)
    return protocol.offline_step(points, played, [j.end for j in own])


def played_rounds(rounds: Sequence[RoundRecord]) -> list[protocol.PlayedRound]:
    return [
        protocol.PlayedRound(
            index=r.index,
            kind=r.kind,
            spoken=r.kind in protocol.SPEECH_ROUND_KINDS and bool(r.speeches),
            judged=any(j.role == Role.JUDGE for j in r.judgments),
        )
        for r in rounds
    ]


def undo_allowed(snapshot: SessionSnapshot, seat_id: int) -> bool:
    """A seat may take back its last move while no one else can have seen it: the session's
    latest move is this seat's speech and no other seat's view (by the rules above) shows it.
    Staff, who see everything at once, do not count."""
    state = snapshot.state
    own = next((s for s in snapshot.seats if s.seat_id == seat_id), None)
    if own is None or state.finished or own.role in JUDGE_ROLES:
        return False
    current = next((r for r in snapshot.rounds if r.index == state.round_index), None)
    if current is None or not any(x.role == own.role for x in current.speeches):
        return False
    for other in snapshot.seats:
        if other.seat_id == seat_id or other.role == Role.OFFLINE_JUDGE:
            continue
        seen = _round_view(current, state, other.role)
        if seen is not None and any(x.role == own.role for x in seen.speeches):
            return False
    return True


def _round_view(record: RoundRecord, state: protocol.State, role: Role | str) -> RoundView | None:
    complete = record.index < state.round_index or state.finished
    if role in JUDGE_ROLES and record.kind is RoundKind.NEGOTIATE_END:
        return None  # how the debaters voted on ending is theirs, not the judge's evidence
    if role == STAFF or complete:
        speeches = record.speeches
        votes = record.votes
    elif role in JUDGE_ROLES:
        return None  # nothing of an unfinished round reaches a judge
    elif record.kind is RoundKind.SEQUENTIAL:
        speeches = record.speeches  # a sequential round: later speakers answer earlier ones
        votes = ()
    else:  # simultaneous speeches and votes: only one's own until the round is complete
        speeches = tuple(s for s in record.speeches if s.role == role)
        votes = tuple(v for v in record.votes if v.role == role)
    judgments = record.judgments
    if role == Role.OFFLINE_JUDGE:
        judgments = ()  # an offline judge judges the debate, not the live judge's opinion
    return RoundView(
        index=record.index,
        kind=record.kind,
        complete=complete,
        speeches=tuple(SpeechView(s.role, s.segments) for s in speeches),
        judgments=judgments,
        votes=votes,
    )


def _revealed_quotes(rounds: Sequence[RoundView]) -> tuple[QuoteView, ...]:
    spans = {}
    for round_ in rounds:
        for speech in round_.speeches:
            for segment in speech.segments:
                if isinstance(segment, Quote) and segment.span:
                    spans[segment.span] = segment.text
    return tuple(QuoteView(start, end, spans[(start, end)]) for start, end in sorted(spans))


def _identities(snapshot: SessionSnapshot) -> dict[str, str]:
    return {
        f"{s.role}" if s.role != Role.OFFLINE_JUDGE else f"{s.role}-{s.seat_id}": s.holder
        for s in snapshot.seats
    }


def revealed_spans(view: SeatView) -> list[tuple[int, int]]:
    """The passage spans this view reveals, merged (what a leak test may allow through)."""
    return merge_spans((q.start, q.end) for q in view.revealed_quotes)


# --------------------------------------------------------------------------------------------------
# Serialising a view (JSON pushes and API responses carry exactly what the view holds)
# --------------------------------------------------------------------------------------------------


def view_to_dict(view: SeatView) -> dict[str, Any]:
    """A JSON-ready copy of ``view``: nothing is added, so a push can never say more than a page."""
    return {
        "session_id": view.session_id,
        "viewer_role": view.viewer_role,
        "protocol": str(view.protocol),
        "status": view.status,
        "void_reason": view.void_reason,
        "question": view.question,
        "answers": list(view.answers),
        "own_answer_position": view.own_answer_position,
        "choice_pending": view.choice_pending,
        "argued_positions": dict(view.argued_positions),
        "answer_lines": [
            {
                "position": a.position,
                "text": a.text,
                "own": a.own,
                "argued_by": list(a.argued_by),
                "chosen": a.chosen,
            }
            for a in view.answer_lines
        ],
        "correct_position": view.correct_position,
        "passage_title": view.passage_title,
        "passage_text": view.passage_text,
        "rounds": [
            {
                "index": r.index,
                "kind": str(r.kind),
                "complete": r.complete,
                "speeches": [
                    {"role": str(s.role), "segments": [_segment_dict(g) for g in s.segments]}
                    for s in r.speeches
                ],
                "judgments": [
                    {
                        "role": str(j.role),
                        "probabilities": list(j.probabilities),
                        "text": j.text,
                        "end": j.end,
                        "questions": dict(j.questions),
                    }
                    for j in r.judgments
                ],
                "votes": [{"role": str(v.role), "end": v.end} for v in r.votes],
            }
            for r in view.rounds
        ],
        "revealed_quotes": [
            {"start": q.start, "end": q.end, "text": q.text} for q in view.revealed_quotes
        ],
        "may_undo": view.may_undo,
        "survey_pending": view.survey_pending,
        "due": list(view.due),
        "your_turn": view.your_turn,
        "current_round": None
        if view.current_round is None
        else {
            "kind": str(view.current_round.kind),
            "char_limit": view.current_round.char_limit,
            "quote_limit": view.current_round.quote_limit,
        },
        "may_continue": view.may_continue,
        "may_end": view.may_end,
        "judge_continues": view.judge_continues,
        "finished": view.finished,
        "identities": view.identities,
        "probability_history": [list(p) for p in view.probability_history],
        "judge_score": view.judge_score,
        "has_live_judge": view.has_live_judge,
        "has_speeches": view.has_speeches,
        "ended_by": view.ended_by,
        "judging_mode": view.judging_mode,
        "judging_started": view.judging_started,
        "drafts": dict(view.drafts),
        "turn_deadline": view.turn_deadline.isoformat() if view.turn_deadline else None,
        "question_roles": list(view.question_roles),
        "question_for_you": view.question_for_you,
        "end_rule": None
        if view.end_rule is None
        else {
            "min_speech_rounds": view.end_rule.min_speech_rounds,
            "speech_rounds_heard": view.end_rule.speech_rounds_heard,
            "speech_rounds_to_go": view.end_rule.speech_rounds_to_go,
            "swing_limit": view.end_rule.swing_limit,
            "swing_round_owed": view.end_rule.swing_round_owed,
            "last_probabilities": None
            if view.end_rule.last_probabilities is None
            else list(view.end_rule.last_probabilities),
        },
    }


def _segment_dict(segment: Segment) -> dict[str, Any]:
    if isinstance(segment, Quote):
        return {
            "quote": segment.text,
            "verified": segment.verified,
            "start": segment.start,
            "end": segment.end,
        }
    return {"text": segment.text}


# --------------------------------------------------------------------------------------------------
# A speaker's draft, certified as a submission would be (for the live counts and highlighting)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftView:
    segments: tuple[Segment, ...]
    problem: str | None
    char_count: int
    quote_chars: int
    char_limit: int | None
    quote_limit: int | None
    new_quote_chars: int = 0  # quoted characters the judge has not been shown yet
    story_problems: tuple[str, ...] = ()  # story text outside quotes: it would be refused

    @property
    def over_chars(self) -> bool:
        return self.char_limit is not None and self.char_count > self.char_limit

    @property
    def over_quotes(self) -> bool:
        return self.quote_limit is not None and self.quote_chars > self.quote_limit


def speech_draft_view(
    markup: str, passage: str, view: SeatView, story_run_limit: int | None = None
) -> DraftView:
    """Only for a seat that may read ``passage``: the draft's quotes are certified against it,
    and story text outside quotes (``story_run_limit``, the rules') is pointed out."""
    if view.passage_text is None:
        raise PermissionError("Only a seat that reads the passage can preview quotes.")
    from debate.quotes import QuoteProblem, certify_markup, rendered_length

    spec = view.current_round if view.current_round and view.current_round.is_speech_round else None
    certified = certify_markup(markup, passage)
    problem = certified.message if isinstance(certified, QuoteProblem) else None
    segments = () if isinstance(certified, QuoteProblem) else tuple(certified)
    from debate.quotes import new_quoted_chars

    spans = [s.span for s in segments if isinstance(s, Quote) and s.span]
    return DraftView(
        segments=segments,
        problem=problem,
        char_count=rendered_length(segments),
        quote_chars=quoted_char_count(segments),
        char_limit=spec.char_limit if spec else None,
        quote_limit=spec.quote_limit if spec else None,
        new_quote_chars=new_quoted_chars(spans, revealed_spans(view)),
        story_problems=tuple(
            r.message
            for r in protocol.check_story_outside_quotes(segments, passage, story_run_limit)
        ),
    )
