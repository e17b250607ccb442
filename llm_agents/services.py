"""AI turns: when an agent's seat is due, it takes the turn through the same services as a human
(`speech_submit`, `judgment_record`). Each turn is claimed once (`AITurn`, unique per session,
seat and round), so a redelivered or duplicated task never writes twice; a turn that fails after
all retries marks the session as needing attention, and nothing already saved is lost.

A claim is a lease: it runs until a little past the turn's deadline (AI_TURN_DEADLINE_S, which
bounds every provider call of the turn, plus AI_TURN_LEASE_MARGIN_S). A worker killed mid-turn
leaves a RUNNING claim whose lease runs out; the sweeper (`ai_turns_sweep`, every
AI_TURN_SWEEP_S: Celery beat in production, a timer in the embedded process) enqueues every due
AI turn without a live lease, and the task that comes takes the claim over. A move is saved only
if it is still due under the session's lock, so a late first worker cannot play the turn twice.
The sweep also makes scheduling durable: a turn whose message was lost (Redis down at commit)
is only delayed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.background import enqueue
from debate import events, protocol
from debate.audit import audit_record
from debate.judgments import judgment_record
from debate.models import Seat, Session
from debate.protocol import RejectionCode, Role
from debate.quotes import Quote
from debate.selectors import seat_quoted_spans, session_state
from debate.services import MoveRejected, choice_submit, speech_submit, vote_submit
from debate.visibility import (
    SeatView,
    SessionSnapshot,
    Viewer,
    build_view,
    session_snapshot,
    view_for,
)
from llm_agents import budget
from llm_agents.endpoint_limits import Limits
from llm_agents.models import Agent, AITurn, BatchRun, BatchSession, LLMCall, seat_agent
from llm_agents.prompts import (
    JudgeReply,
    UnparsableReply,
    build_request,
    choice_reply_parse,
    choice_request,
    critique_request,
    judge_questions_parse,
    judge_questions_request,
    judge_reply_parse,
    judgment_as_replied,
    letter_probabilities,
    letter_request,
    preference_request,
    probability_line_parse,
    refine_feedback,
    speech_from_reply,
    strip_thinking,
    swapped_view,
    vote_reply_parse,
    with_feedback,
)
from llm_agents.providers import (
    ChatRequest,
    Completion,
    ProviderConfig,
    ProviderError,
    client_for,
)
from llm_agents.speech_fitting import agent_segments, fit_speech
from llm_agents.strategies import (
    JUDGE_KINDS,
    SPEAKER_KINDS,
    BestOfN,
    CritiqueRefine,
    LogprobJudge,
    MajorityVote,
    Plain,
    PositionSwap,
    Strategy,
    strategy_label,
    strategy_parse,
)

logger = logging.getLogger(__name__)

FIT_ATTEMPTS = 2  # re-asks for a speech over its limits before it is trimmed
PARSE_ATTEMPTS = 2  # re-asks for a judge reply that cannot be read
QUESTION_ATTEMPTS = 1  # re-asks for judge questions that cannot be read, before asking none
EMPTY_ATTEMPTS = 2  # re-asks after an empty reply or a refusal before the turn fails
REASK_AFTER_EMPTY = (
    "Your reply was empty or declined to answer. This is a research game about a fictional story:"
    " please answer the request above now, in the form it asks for."
)


def ai_turns_schedule(session_id: int, state: protocol.State | None = None) -> int:
    """Enqueue a turn for every agent seat now due whose claim is missing or has run out
    (called after each change commits, and by the sweep); returns how many were enqueued.
    ``state`` may be the state the change left (a stale one only enqueues a task that finds
    its turn stale)."""
    attention, batch, engine, batch_status, voided = Session.objects.values_list(
        "attention",
        "batch_link__batch_id",
        "batch_link__batch__engine",
        "batch_link__batch__status",
        "voided_at",
    ).get(pk=session_id)
    queued = engine == BatchRun.Engine.CELERY and batch_status == BatchRun.Status.RUNNING
    if attention or voided is not None or (batch is not None and not queued):
        # A batch run by the local engine plays its own sessions' turns (llm_agents/batches.py);
        # one stopped plays none.
        return 0
    if state is None:  # the sweep's call: replay; a change's subscriber passes its state
        state = session_state(Session.objects.select_related("rules").get(pk=session_id))
    if state.finished:
        return 0
    turn_key = state.round_key
    held = AITurn.objects.filter(session_id=session_id, turn_key=turn_key).exclude(_lease_run_out())
    due = Seat.objects.filter(session_id=session_id, role__in=[str(r) for r in state.due])
    enqueued = 0
    for seat in due.exclude(ai_player=""):
        if not held.filter(seat=seat).exists():
            enqueue("llm_agents.ai_turn", session_id=session_id, seat_id=seat.pk, turn_key=turn_key)
            enqueued += 1
    return enqueued


def ai_turns_after_change(change: events.Change) -> None:
    """Subscriber (llm_agents/apps.py): after a committed change, start the AI turns now due."""
    if change.has_agents:
        ai_turns_schedule(change.session_id, change.state)


def ai_turns_sweep() -> int:
    """Enqueue every due AI turn that nobody holds: those whose task was lost, and those whose
    worker died (their lease ran out). Returns how many turns were enqueued."""
    sessions = (
        Session.objects.exclude(status=Session.Status.FINISHED)
        .filter(attention="", voided_at__isnull=True)
        .filter(
            Q(batch_link__isnull=True)
            | Q(
                batch_link__batch__engine=BatchRun.Engine.CELERY,
                batch_link__batch__status=BatchRun.Status.RUNNING,
            )
        )
        .filter(seats__ai_player__gt="")
        .values_list("pk", flat=True)
        .distinct()
    )
    enqueued = 0
    for session_id in list(sessions):
        with transaction.atomic():  # enqueue() sends on commit
            enqueued += ai_turns_schedule(session_id)
    if enqueued:
        logger.info("AI turn sweep: enqueued %s turn(s) nobody held", enqueued)
    return enqueued


def _lease_run_out() -> Q:
    return Q(status=AITurn.Status.RUNNING, lease_until__lt=timezone.now())


def _lease_end() -> datetime:
    return timezone.now() + timedelta(
        seconds=settings.AI_TURN_DEADLINE_S + settings.AI_TURN_LEASE_MARGIN_S
    )


def _claim(session: Session, seat: Seat, turn_key: str) -> AITurn | None:
    """The claim on this turn for this task, or None when another task holds a live one (or the
    turn is done or failed)."""
    try:
        with transaction.atomic():
            return AITurn.objects.create(
                session=session, seat=seat, turn_key=turn_key, lease_until=_lease_end()
            )
    except IntegrityError:
        pass
    mine = AITurn.objects.filter(session=session, seat=seat, turn_key=turn_key)
    # One UPDATE decides between tasks racing for a claim whose lease ran out.
    if not mine.filter(_lease_run_out()).update(
        lease_until=_lease_end(), attempts=F("attempts") + 1, error=""
    ):
        return None
    claim = mine.get()
    logger.warning(
        "Session %s: took over the AI turn %s of %s (attempt %s): its lease had run out",
        session.pk,
        turn_key,
        seat.role,
        claim.attempts,
    )
    return claim


def ai_turn_take(*, session_id: int, seat_id: int, turn_key: str) -> str:
    """Take one AI turn; returns what happened (`TurnOutcome.outcome`)."""
    return ai_turn_play(session_id=session_id, seat_id=seat_id, turn_key=turn_key).outcome


@dataclass(frozen=True)
class TurnOutcome:
    outcome: str  # done, duplicate, stale, failed, stopped (its batch) or budget (refused)
    move: protocol.Move | None = None  # the move made, when done


def ai_turn_play(
    *,
    session_id: int,
    seat_id: int,
    turn_key: str,
    seat: Seat | None = None,
    state: protocol.State | None = None,
) -> TurnOutcome:
    """Take one AI turn and say which move it made. A caller that has just read the seat (with its
    agent and session) and the session's state may pass them to save re-reading them, and apply
    the move to its state (a batch does); the move itself is still checked under the session
    lock."""
    if seat is None:
        seat = Seat.objects.select_related("agent_link__agent", "session__rules").get(pk=seat_id)
    session = seat.session
    snapshot: SessionSnapshot | None = None
    if state is None:
        # One read serves the check and the prompt: while the seat is due, nothing another seat
        # may do before the prompt is built is in its view (the others' moves of this round
        # show once it is complete), and the move itself is checked again under the lock.
        snapshot = session_snapshot(session)
        state = snapshot.state
    if not _turn_due(state, seat, turn_key):
        return TurnOutcome("stale")
    batch_id, engine, status = BatchSession.objects.filter(session=session).values_list(
        "batch_id", "batch__engine", "batch__status"
    ).first() or (None, None, None)
    if engine == BatchRun.Engine.CELERY and status != BatchRun.Status.RUNNING:
        return TurnOutcome("stopped")  # a task still queued when its batch stopped
    claim = _claim(session, seat, turn_key)
    if claim is None:
        return TurnOutcome("duplicate")  # another delivery of this task has it
    if batch_id is not None and not budget.turn_reserve(claim, seat, batch_id):
        # Every worker's spend and reservations leave no room for this turn: the batch stops
        # here, and a resume (with a bigger budget) takes the turn afresh.
        return _budget_spent(claim, batch_id)
    try:
        move = _play(seat, session, turn_key, claim, batch_id, snapshot)
    except BudgetSpent as spent:
        assert batch_id is not None  # only a batch's turn has a budget
        logger.info("Session %s: AI turn %s stopped: %s", session.pk, turn_key, spent)
        return _budget_spent(claim, batch_id)
    except (ProviderError, UnparsableReply, MoveRejected, ValueError, DatabaseError) as error:
        if isinstance(error, MoveRejected) and not _still_due(seat, turn_key):
            # Another task took the turn over and played it first: this one is merely late.
            logger.info("Session %s: AI turn %s was played by another task", session.pk, turn_key)
            return TurnOutcome("stale")
        # A database error (SQLite still locked after its busy timeout, a lost connection) fails
        # this turn only: a batch's other sessions go on, and a retry or resume takes it again.
        cause = (
            f"database error ({type(error).__name__}: {error})"
            if isinstance(error, DatabaseError)
            else str(error)
        )
        message = f"AI turn for {seat.role} ({seat.ai_player}) failed: {cause}"
        logger.warning("Session %s: %s", session.pk, message)
        AITurn.objects.filter(pk=claim.pk, attempts=claim.attempts).update(
            status=AITurn.Status.FAILED, error=str(error)
        )
        with transaction.atomic():
            Session.objects.filter(pk=session.pk).update(attention=message)
            events.announce_session_changed(session.pk)
        return TurnOutcome("failed")
    return TurnOutcome("done", move)


def _budget_spent(claim: AITurn, batch_id: int) -> TurnOutcome:
    """End a batch turn its budget cannot pay for: the claim is let go (nothing was saved), and
    a Celery batch stops; an in-process batch stops on the outcome."""
    AITurn.objects.filter(pk=claim.pk, attempts=claim.attempts).delete()
    BatchRun.objects.filter(
        pk=batch_id, engine=BatchRun.Engine.CELERY, status=BatchRun.Status.RUNNING
    ).update(status=BatchRun.Status.BUDGET)
    return TurnOutcome("budget")


def ai_turn_retry(*, session: Session, actor=None) -> None:
    """Staff: clear a failed or stuck turn and try again (what was saved before stays). A stuck
    turn's worker may still be alive: its move is then refused as no longer due, so the turn is
    still played once."""
    with transaction.atomic():
        audit_record(
            action="ai_turn_retry",
            actor=actor,
            session=session,
            before={"attention": session.attention},
            after={"attention": ""},
        )
        AITurn.objects.filter(session=session).exclude(status=AITurn.Status.DONE).delete()
        Session.objects.filter(pk=session.pk).update(attention="")
        transaction.on_commit(lambda: ai_turns_schedule(session.pk))


def _turn_due(state: protocol.State, seat: Seat, turn_key: str) -> bool:
    """Whether ``turn_key`` is still this seat's turn in ``state``."""
    return not state.finished and state.round_key == turn_key and Role(seat.role) in state.due


def _still_due(seat: Seat, turn_key: str) -> bool:
    """`_turn_due` on the session as it is now (after another task may have played the turn)."""
    state = session_state(Session.objects.select_related("rules").get(pk=seat.session_id))
    return _turn_due(state, seat, turn_key)


def agent_config(agent: Agent) -> ProviderConfig:
    return ProviderConfig(
        provider=agent.provider,
        model=agent.model,
        base_url=agent.base_url,
        api_key_env=agent.api_key_env,
        sampling=dict(agent.sampling or {}),
        timeout_s=agent.timeout_s,
        limits=Limits(
            concurrency=agent.max_concurrency,
            requests_per_minute=agent.requests_per_minute,
            tokens_per_minute=agent.tokens_per_minute,
        ),
        replica_urls=tuple(agent.replica_urls or ()),
    )


# --------------------------------------------------------------------------------------------------
# One turn
# --------------------------------------------------------------------------------------------------


@dataclass
class _Caller:
    """Calls the agent's provider, logging every call against the turn. It returns only a reply
    with something to read: an empty reply or a refusal is logged (the refusal's words as the
    call's response) and asked again, EMPTY_ATTEMPTS times, then raises UnusableReply, so no turn
    ever saves an empty speech, vote or judge's note."""

    seat: Seat
    session: Session
    turn_key: str
    deadline: float
    strategy: str = "plain"  # the strategy's label, on every call it logs
    purpose: str = ""  # what a call is for when the caller does not say
    claim_pk: int | None = None  # the turn's claim, for a batch's budget before each later call
    batch_id: int | None = None  # the batch that owns the session, if one does
    last_call: LLMCall | None = field(default=None, init=False)
    calls_made: int = field(default=0, init=False)

    def __call__(
        self,
        request: ChatRequest,
        *,
        purpose: str | None = None,
        candidate: int | None = None,
        agent: Agent | None = None,
    ) -> str:
        return self.ask(request, purpose=purpose, candidate=candidate, agent=agent)[0]

    def ask(
        self,
        request: ChatRequest,
        *,
        purpose: str | None = None,
        candidate: int | None = None,
        agent: Agent | None = None,
    ) -> tuple[str, Completion]:
        """The reply's text and its completion (its log-probabilities, when asked); a strategy's
        call may go to another ``agent`` (a preference judge, a critic), logged as its own."""
        asked, times = request, 1
        tags = (self.purpose if purpose is None else purpose, candidate, agent)
        while True:
            completion, problem = self._complete(asked, *tags)
            if problem is None:
                return completion.text, completion
            if times > EMPTY_ATTEMPTS:
                raise UnusableReply(f"{problem} (asked {times} times)", completion.retries)
            # The instruction alone, without the empty or refused reply: the Messages API refuses
            # an empty assistant message, and a refusal shown back to the model invites another.
            asked = with_feedback(request, "", REASK_AFTER_EMPTY)
            asked = replace(asked, top_logprobs=request.top_logprobs, max_tokens=request.max_tokens)
            times += 1

    def _complete(
        self, request: ChatRequest, purpose: str, candidate: int | None, agent: Agent | None
    ) -> tuple[Completion, str | None]:
        """One provider call, logged; the completion and why it cannot be used (None if it can)."""
        batch_id = self.batch_id
        if (
            self.calls_made  # the first call was let start by the turn's reservation
            and batch_id is not None
            and self.claim_pk is not None
            and not budget.call_allowed(self.claim_pk, batch_id)
        ):
            raise BudgetSpent(f"the batch's budget was spent after {self.calls_made} calls")
        self.calls_made += 1
        agent = agent or seat_agent(self.seat)
        assert agent is not None  # only an agent's seat takes AI turns
        log = LLMCall(
            agent=agent,
            session=self.session,
            seat=self.seat,
            turn_key=self.turn_key,
            prompt_version=agent.prompt_version,
            prompt={"system": request.system, "messages": list(request.messages)},
            strategy=self.strategy,
            purpose=purpose,
            candidate_index=candidate,
        )
        if connection.vendor != "sqlite" and not connection.in_atomic_block:
            # Give the pooled connection back while waiting on the model: a pool shared by many
            # concurrent turns must not be held through seconds of provider latency.
            connection.close()
        try:
            completion = client_for(agent_config(agent)).complete(request, deadline=self.deadline)
        except ProviderError as error:
            log.error = str(error)
            log.response = error.response  # a malformed reply, as far as it is kept
            log.retries = error.retries
            log.served_by = error.served_by
            log.save()
            raise
        problem = _unusable(completion)
        log.response = completion.refusal if completion.refused else completion.text
        log.error = "\n".join([*completion.notes, *([problem] if problem else [])])
        log.input_tokens = completion.input_tokens
        log.output_tokens = completion.output_tokens
        log.latency_ms = completion.latency_ms
        log.retries = completion.retries
        log.served_by = completion.served_by
        log.cached_input_tokens = completion.cached_input_tokens
        log.cache_write_input_tokens = completion.cache_write_input_tokens
        log.cost_usd, log.cache_saving_usd = call_cost(agent, completion)
        if completion.top_logprobs:
            log.strategy_detail = {"top_logprobs": [list(t) for t in completion.top_logprobs]}
        log.save()
        if problem is None:
            self.last_call = log
        return completion, problem


def call_cost(agent: Agent, completion: Completion) -> tuple[Decimal, Decimal]:
    """What a call cost in USD, its cached input tokens at their prices, and what caching saved
    against every input token at the full price."""
    read, written = completion.cached_input_tokens, completion.cache_write_input_tokens
    plain = max(completion.input_tokens - read - written, 0)
    full = Decimal(agent.cost_input_per_mtok) * completion.input_tokens
    cached = (
        Decimal(agent.cost_input_per_mtok) * plain
        + agent.cached_input_price * read
        + agent.cache_write_price * written
    )
    output = Decimal(agent.cost_output_per_mtok) * completion.output_tokens
    million = Decimal(1_000_000)
    return (cached + output) / million, (full - cached) / million


class BudgetSpent(Exception):
    """A batch turn's later call found the batch's budget spent: the turn ends unsaved, as a
    turn refused its reservation does, and a resume with a bigger budget plays it afresh."""


class UnusableReply(ProviderError):
    """The model kept answering nothing, or refusing, after being asked again."""


def _unusable(completion: Completion) -> str | None:
    """Why a reply cannot make a move (a refusal, nothing outside hidden reasoning); None if it
    can."""
    if completion.refused:
        words = " ".join(completion.refusal.split())
        if words:
            return f"The model refused to answer: {words[:300]!r}."
        return f"The model refused to answer (stop reason {completion.stop_reason!r})."
    if not strip_thinking(completion.text):
        stop = f" (stop reason {completion.stop_reason!r})" if completion.stop_reason else ""
        return f"The model's reply was empty{stop}."
    return None


def _play(
    seat: Seat,
    session: Session,
    turn_key: str,
    claim: AITurn,
    batch_id: int | None,
    snapshot: SessionSnapshot | None = None,
) -> protocol.Move:
    agent = seat_agent(seat)  # only an agent's seat has AI turns
    view = (
        view_for(seat, session)
        if snapshot is None
        else build_view(snapshot, Viewer(role=Role(seat.role), seat_id=seat.pk))
    )
    # Open rules: the expert's choice of the answer it argues comes before any speech.
    choosing = view.choosing
    if choosing:
        request = choice_request(view, agent.prompt_version)
    else:
        request = build_request(view, agent.prompt_version)
    strategy: Strategy = Plain() if choosing else _seat_strategy(seat, view)
    call = _Caller(
        seat,
        session,
        turn_key,
        time.monotonic() + settings.AI_TURN_DEADLINE_S,
        strategy=strategy_label(strategy),
        claim_pk=claim.pk,
        batch_id=batch_id,
    )

    # The move and the claim's completion commit together: a turn is done exactly when its move
    # is saved.
    def done() -> None:
        AITurn.objects.filter(pk=claim.pk).update(status=AITurn.Status.DONE)

    if choosing:
        call.purpose = "choice"
        return _choice_turn(seat, session, view, request, call, done)
    if seat.role == Role.JUDGE:
        call.purpose = "judge"
        return _judge_turn(seat, session, view, request, call, done, strategy)
    if view.voting:
        call.purpose = "vote"
        return _vote_turn(seat, session, request, call, done)
    call.purpose = "speech"
    return _speech_turn(seat, session, view, request, call, done, strategy)


def _seat_strategy(seat: Seat, view: SeatView) -> Strategy:
    """The agent's strategy where it applies to this turn (a speaker's to a speech, a judge's to
    a judgment); plain elsewhere. A stored strategy that does not validate fails the turn."""
    strategy = strategy_parse(seat_agent(seat).strategy)
    if seat.role == Role.JUDGE:
        return strategy if strategy.kind in JUDGE_KINDS else Plain()
    return strategy if strategy.kind in SPEAKER_KINDS and not view.voting else Plain()


def _choice_turn(seat, session, view, request, call, done) -> protocol.Move:
    """Open rules: the expert names the answer it argues in one strict line, asked again while
    unreadable, and chooses through the same service as a person."""
    position = _read_reply(
        lambda asked: call(asked),
        request,
        lambda reply: choice_reply_parse(reply, len(view.answers)),
        "the choice",
    )
    with transaction.atomic():
        choice_submit(session=session, seat=seat, position=position)
        done()
    return protocol.Move(Role(seat.role), protocol.MoveKind.CHOICE)


def _read_reply[T](
    ask: Callable[[ChatRequest], str],
    request: ChatRequest,
    parse: Callable[[str], T],
    what: str,
    again: str = "",
) -> T:
    """Ask, and read the reply with ``parse``; a reply that cannot be read is sent back with the
    reason (PARSE_ATTEMPTS times) before the turn fails (UnparsableReply, naming ``what``)."""
    reply = ask(request)
    for attempt in range(PARSE_ATTEMPTS + 1):
        try:
            return parse(reply)
        except UnparsableReply as error:
            if attempt == PARSE_ATTEMPTS:
                raise UnparsableReply(f"Could not read {what}: {error}") from error
            request = with_feedback(request, reply, f"I could not read that: {error}{again}")
            reply = ask(request)
    raise AssertionError("unreachable")


def _vote_turn(seat, session, request, call, done) -> protocol.Move:
    """A speaker's vote on ending, asked and parsed like any reply, cast through the same
    service as a person's vote."""
    end = _read_reply(lambda asked: call(asked), request, vote_reply_parse, "the vote")
    with transaction.atomic():
        vote_submit(session=session, seat=seat, end=end)
        done()
    return protocol.Move(Role(seat.role), protocol.MoveKind.VOTE, end=end)


def _judge_turn(seat, session, view, request, call, done, strategy) -> protocol.Move:
    if isinstance(strategy, MajorityVote):
        parsed = _majority_vote(view, request, call, strategy.k)
    elif isinstance(strategy, LogprobJudge):
        parsed = _logprob_judgment(seat, view, request, call)
    elif isinstance(strategy, PositionSwap):
        parsed = _position_swap(seat, view, request, call)
    else:
        parsed, _ = _judge_reply(view, request, call)
    end = parsed.end if view.may_end and view.may_continue else view.may_end
    note = parsed.note[: view.current_round.char_limit]
    asked = _judge_questions(seat, view, request, replace(parsed, end=end), call)
    try:
        _judgment_save(session, seat, parsed.probabilities, note, end, done, asked)
    except MoveRejected as refused:
        # Only the judgment itself can tell whether it ends too soon (after a swing larger than
        # the rules allow): as when the judge may not end yet, it continues, and the call log
        # says why.
        if not (end and view.may_continue and refused.code is RejectionCode.CANNOT_END_YET):
            raise
        if call.last_call is not None:
            LLMCall.objects.filter(pk=call.last_call.pk).update(
                error=f"Asked to end; recorded as continuing: {refused.message}"
            )
        end = False
        # A judge that continues asks its questions (it was not asked while it meant to end).
        asked = _judge_questions(seat, view, request, replace(parsed, end=False), call)
        _judgment_save(session, seat, parsed.probabilities, note, end, done, asked)
    return protocol.Move(Role.JUDGE, protocol.MoveKind.JUDGMENT, end=bool(end))


def _judge_reply(
    view: SeatView,
    request: ChatRequest,
    call: _Caller,
    purpose: str | None = None,
    candidate: int | None = None,
) -> tuple[JudgeReply, LLMCall | None]:
    """The judge's reply to ``request``, read in its strict format (asked again when it cannot
    be read), and the call it came from."""
    parsed = _read_reply(
        lambda asked: call(asked, purpose=purpose, candidate=candidate),
        request,
        lambda reply: judge_reply_parse(reply, len(view.answers)),
        "the judge's reply",
        " Answer again in the format given.",
    )
    return parsed, call.last_call


def _majority_vote(view: SeatView, request: ChatRequest, call: _Caller, k: int) -> JudgeReply:
    """k samples of the judge's reply: the probabilities averaged, the decision by majority (a
    tie continues), the note of the first sample that decided as the majority did."""
    samples = []
    for index in range(k):
        parsed, log = _judge_reply(view, request, call, "judge-sample", index)
        _annotate(log, detail={"probabilities": parsed.probabilities, "end": parsed.end})
        samples.append(parsed)
    count = len(view.answers)
    average = [sum(s.probabilities[i] for s in samples) / k for i in range(count)]
    end = 2 * sum(s.end for s in samples) > k
    note = next(s.note for s in samples if s.end == end)
    recorded = {"recorded": average, "end_votes": sum(s.end for s in samples), "samples": k}
    _annotate(call.last_call, detail=recorded)
    return JudgeReply(probabilities=average, end=end, note=note)


def _logprob_judgment(
    seat: Seat, view: SeatView, request: ChatRequest, call: _Caller
) -> JudgeReply:
    """The judge's reply as usual (its decision and note), then a one-letter answer whose first
    token's top log-probabilities give the probabilities (renormalised over the answers'
    letters); the reply's own probabilities when the provider sends none."""
    parsed, _ = _judge_reply(view, request, call)
    if seat_agent(seat).provider == Agent.Provider.ANTHROPIC:
        return parsed  # the Messages API gives no log-probabilities
    _, completion = call.ask(letter_request(request, len(view.answers)), purpose="judge-letter")
    probabilities = letter_probabilities(completion.top_logprobs, len(view.answers))
    source = "logprobs" if probabilities is not None else "parsed (no logprobs)"
    recorded = probabilities if probabilities is not None else parsed.probabilities
    _annotate(call.last_call, detail={"recorded": recorded, "source": source})
    return JudgeReply(probabilities=recorded, end=parsed.end, note=parsed.note)


def _position_swap(seat: Seat, view: SeatView, request: ChatRequest, call: _Caller) -> JudgeReply:
    """The judge asked in the shown order, then with the two answers swapped (the same view,
    its answers, labels and earlier probabilities swapped: `prompts.swapped_view`). The
    probabilities recorded are the average of both, the swapped one mapped back; it ends only
    when both replies end; the note is the shown order's. The disagreement is in the log."""
    shown, shown_log = _judge_reply(view, request, call)
    swapped = build_request(swapped_view(view), seat_agent(seat).prompt_version)
    other, other_log = _judge_reply(view, swapped, call, "judge-swapped")
    mapped_back = list(reversed(other.probabilities))
    average = [(a + b) / 2 for a, b in zip(shown.probabilities, mapped_back, strict=True)]
    detail = {
        "shown_order": shown.probabilities,
        "swapped_mapped_back": mapped_back,
        "recorded": average,
        "disagreement": abs(shown.probabilities[0] - mapped_back[0]),
        "verdicts_differ": _verdict(shown.probabilities) != _verdict(mapped_back),
        "ends": [shown.end, other.end],
    }
    _annotate(shown_log, detail=detail)
    _annotate(other_log, detail=detail)
    return JudgeReply(probabilities=average, end=shown.end and other.end, note=shown.note)


def _verdict(probabilities: list[float]) -> int | None:
    """The answer favoured (None on a tie)."""
    best = max(probabilities)
    return probabilities.index(best) if probabilities.count(best) == 1 else None


def _annotate(log: LLMCall | None, *, score: float | None = None, detail: dict | None = None):
    """Add what a strategy made of a logged call (its score, its details) to the log."""
    if log is None:
        return
    if score is not None:
        log.score = score
    if detail:
        log.strategy_detail = {**(log.strategy_detail or {}), **detail}
    LLMCall.objects.filter(pk=log.pk).update(score=log.score, strategy_detail=log.strategy_detail)


def _judge_questions(seat, view, request, judged: JudgeReply, call) -> dict[str, str]:
    """Under rules with judge questions on, a judge that continues is asked, in one more call
    (purpose "questions"), for its question to each expert. A reply that cannot be read is sent
    back once; after that, or an empty or refused reply, it asks nothing and its judgment stands,
    the reason in the call log. None asked when it ends (or the rules ask for none)."""
    if not view.question_roles or judged.end:
        return {}
    asked = judge_questions_request(
        request, judgment_as_replied(judged), view, seat_agent(seat).prompt_version
    )
    limit = view.current_round.char_limit
    try:
        reply = call(asked, purpose="questions")
        for attempt in range(QUESTION_ATTEMPTS + 1):
            try:
                return judge_questions_parse(reply, view.question_roles, limit)
            except UnparsableReply as error:
                if attempt == QUESTION_ATTEMPTS:
                    raise
                asked = with_feedback(
                    asked,
                    reply,
                    f"I could not read that: {error} Answer again in the format given.",
                )
                reply = call(asked, purpose="questions")
    except (UnparsableReply, UnusableReply) as error:
        last = call.last_call
        if last is not None and last.purpose == "questions":  # (an empty reply is logged so)
            LLMCall.objects.filter(pk=last.pk).update(error=f"No questions asked: {error}")
    return {}


def _judgment_save(session, seat, probabilities, note, end, done, questions=None) -> None:
    with transaction.atomic():
        judgment_record(
            session=session,
            seat=seat,
            probabilities=probabilities,
            text=note,
            end=end,
            questions=questions,
        )
        done()


def _speech_turn(seat, session, view, request, call, done, strategy) -> protocol.Move:
    assert view.current_round is not None  # a speaker is asked only in a speech round
    rules = _SpeechRules(
        passage=view.passage_text or "",
        spec=view.current_round,
        structure=session.rules.get_structure(),
        earlier=list(seat_quoted_spans(seat)),
    )
    if isinstance(strategy, BestOfN):
        speech, log = _best_of_n(seat, session, view, request, call, rules, strategy)
    elif isinstance(strategy, CritiqueRefine):
        speech, log = _critique_refine(seat, view, request, call, rules, strategy)
    else:
        speech, _, log = _fitted_speech(request, call, rules)
    segments = agent_segments(speech, rules.passage)
    with transaction.atomic():
        quotes = [s for s in segments if isinstance(s, Quote)]
        if quotes and log is not None:
            share = sum(1 for q in quotes if not q.verified) / len(quotes)
            LLMCall.objects.filter(pk=log.pk).update(unverified_quote_share=share)
        speech_submit(session=session, seat=seat, text=speech)
        done()
    return protocol.Move(Role(seat.role), protocol.MoveKind.SPEECH)


@dataclass(frozen=True)
class _SpeechRules:
    """What a speech must keep to at this turn."""

    passage: str
    spec: protocol.RoundSpec
    structure: protocol.Structure
    earlier: list[tuple[int, int]]

    def overrun(self, speech: str) -> str | None:
        return _overrun(speech, self.passage, self.spec, self.structure, self.earlier)

    def fit(self, speech: str) -> str:
        return fit_speech(speech, self.passage, self.spec, self.structure, self.earlier)


def _fitted_speech(
    request: ChatRequest,
    call: _Caller,
    rules: _SpeechRules,
    purpose: str | None = None,
    candidate: int | None = None,
) -> tuple[str, str, LLMCall | None]:
    """A speech fitted to the rules: asked again (FIT_ATTEMPTS times) while it overruns them,
    then trimmed. Returns the speech, the last reply and the call it came from."""
    reply = call(request, purpose=purpose, candidate=candidate)
    speech = speech_from_reply(reply)
    for _ in range(FIT_ATTEMPTS):
        overrun = rules.overrun(speech)
        if overrun is None:
            break
        request = with_feedback(request, reply, overrun + " Write the speech again.")
        reply = call(request, purpose=purpose, candidate=candidate)
        speech = speech_from_reply(reply)
    return rules.fit(speech), reply, call.last_call


def _best_of_n(seat, session, view, request, call, rules, strategy: BestOfN):
    """N candidates, each fitted to the rules and scored by the preference judge; the best
    (the first among equals) is sent. Each candidate's call holds its score and whether it was
    chosen."""
    judge_view = _judge_like_view(session)
    scorer = _named_agent(strategy.preference_model) or seat_agent(seat)
    own = view.own_answer_position
    scored: list[tuple[float, int, str, LLMCall | None]] = []
    for index in range(strategy.n):
        speech, _, log = _fitted_speech(request, call, rules, "candidate", index)
        segments = agent_segments(speech, rules.passage)
        score = _preference(call, judge_view, seat.role, segments, own, index, scorer)
        _annotate(log, score=score)
        scored.append((score, index, speech, log))
    best = max(scored, key=lambda entry: (entry[0], -entry[1]))
    for _score, index, _, log in scored:
        _annotate(log, detail={"chosen": index == best[1], "scores": [e[0] for e in scored]})
    return best[2], best[3]


def _preference(call, judge_view, role, segments, own, index, scorer: Agent) -> float:
    """The preference judge's P(the speaker's answer) after the judge's transcript and this
    candidate: from the top log-probabilities of a one-letter answer where the provider gives
    them, else from a PROBABILITIES line."""
    count = len(judge_view.answers)
    version = scorer.prompt_version
    if scorer.provider != Agent.Provider.ANTHROPIC:
        asked = preference_request(judge_view, role, segments, version, letter_only=True)
        _, completion = call.ask(asked, purpose="preference", candidate=index, agent=scorer)
        probabilities = letter_probabilities(completion.top_logprobs, count)
        if probabilities is not None:
            detail = {"probabilities": probabilities, "source": "logprobs"}
            _annotate(call.last_call, score=probabilities[own], detail=detail)
            return probabilities[own]
    asked = preference_request(judge_view, role, segments, version, letter_only=False)
    parsed = _read_reply(
        lambda request: call(request, purpose="preference", candidate=index, agent=scorer),
        asked,
        lambda reply: probability_line_parse(reply, count),
        "the preference judge",
    )
    _annotate(
        call.last_call, score=parsed[own], detail={"probabilities": parsed, "source": "parsed"}
    )
    return parsed[own]


def _judge_like_view(session: Session) -> SeatView:
    """What the session's judge sees now (its seat's view; a judge's view where no judge sits,
    as in a judgeless debate), never the story: the preference judge sees only that."""
    judge = session.seats.filter(role=Role.JUDGE).first()
    if judge is not None:
        view = view_for(judge, session)
    else:
        view = build_view(session_snapshot(session), Viewer(role=Role.JUDGE))
    return replace(view, passage_text=None, passage_title=None)


def _named_agent(name: str | None) -> Agent | None:
    """The agent a strategy names: an agent's name, else a `provider:model` spec (created on
    first use, as a batch's agents are)."""
    if not name:
        return None
    agent = Agent.objects.filter(name=name).first()
    if agent is not None:
        return agent
    if ":" not in name:
        raise ValueError(f"The strategy names {name!r}: no agent has that name.")
    from llm_agents.batches import agent_from_spec

    return agent_from_spec(name)


def _critique_refine(seat, view, request, call, rules, strategy: CritiqueRefine):
    """A draft (fitted to the rules), a critique of it, a refinement; a refinement that breaks
    the rules falls back to the draft. The chosen call says so in its details."""
    draft, _, draft_log = _fitted_speech(request, call, rules, "draft")
    critic = _named_agent(strategy.critic_model) or seat_agent(seat)
    critique = call(
        critique_request(view, draft, critic.prompt_version), purpose="critique", agent=critic
    )
    refined = speech_from_reply(
        call(with_feedback(request, draft, refine_feedback(critique)), purpose="refine")
    )
    refine_log = call.last_call
    problem = rules.overrun(refined) if refined else "The refinement was empty."
    if problem is not None:
        _annotate(refine_log, detail={"chosen": False, "fell_back_to_draft": problem})
        _annotate(draft_log, detail={"chosen": True})
        return draft, draft_log
    _annotate(refine_log, detail={"chosen": True})
    _annotate(draft_log, detail={"chosen": False})
    return rules.fit(refined), refine_log


def _overrun(markup, passage, spec, structure, earlier) -> str | None:
    """Why an agent's speech would be refused, in words to ask it again with; None if fine."""
    problems = protocol.check_speech(
        agent_segments(markup, passage), spec, structure, passage, earlier
    )
    return " ".join(p.message for p in problems) or None
