"""A batch's budget across every worker: before a batch turn calls its model, it counts, under a
lock on the batch's row, what all workers have spent (the calls logged) and reserved (the turns in
flight), and is refused when that reaches the budget; otherwise it reserves what it is expected to
cost. So only a turn that starts below the budget, every turn in flight counted, may pass it, and
a batch stops within one turn's cost of its budget however many workers (processes, machines)
play it (and within one call's, where a turn makes several calls: `call_allowed` checks again
before each of its later calls), where a single worker checking only what was spent would let
each of N workers start a turn at $budget - 1 cent.

The reservation lives on the turn's claim (`AITurn.reserved_usd`) and counts only while the claim
runs and its lease lasts: a finished turn's calls are in the call log instead (their
`cost_usd`, cached tokens priced as the provider reported them), and a worker killed mid-turn
holds nothing once its lease runs out.

The estimate is the agent's mean cost per turn so far (in this batch, else in any session), or,
for an agent never seen, a guess from the passage's length at the agent's prices. A turn in
flight that costs more than its estimate (a long transcript, re-asks) lets the batch pass the
budget by the difference; one that costs less may stop it that much early.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Length
from django.utils import timezone

from debate.models import Seat, Session
from llm_agents.models import Agent, AITurn, BatchRun, LLMCall, seat_agent

# A first turn's guess: the passage (about 4 characters a token) plus the prompt's instructions
# and transcript, and a reply.
PROMPT_TOKENS_BESIDES_PASSAGE = 1000
REPLY_TOKENS = 300


def turn_reserve(claim: AITurn, seat: Seat, batch_id: int) -> bool:
    """Reserve the turn's expected cost against its batch's budget; False (nothing reserved)
    when what was spent and what is reserved already reach the budget. A batch without a
    budget reserves nothing."""
    with transaction.atomic():
        # The row lock orders every worker's check-and-reserve (SQLite's IMMEDIATE
        # transactions order them anyway).
        batch = BatchRun.objects.select_for_update().get(pk=batch_id)
        if batch.budget_usd is None:
            return True
        if batch_spent(batch) + batch_reserved(batch, but=claim.pk) >= batch.budget_usd:
            return False
        AITurn.objects.filter(pk=claim.pk).update(reserved_usd=turn_estimate(batch, seat))
    return True


def call_allowed(claim_pk: int, batch_id: int) -> bool:
    """Before each call of a turn after its first (a strategy's candidates and judges, a re-ask):
    whether the batch may still spend. The turn's own calls so far are in what was spent, in
    place of its reservation; so, with every other turn in flight counted, a turn that costs more
    than its estimate stops within one call of the budget instead of running on."""
    with transaction.atomic():
        batch = BatchRun.objects.select_for_update().get(pk=batch_id)
        if batch.budget_usd is None:
            return True
        return batch_spent(batch) + batch_reserved(batch, but=claim_pk) < batch.budget_usd


def batch_spent(batch: BatchRun) -> Decimal:
    """What the batch's calls cost, on every worker."""
    total = LLMCall.objects.filter(session__batch_link__batch=batch).aggregate(c=Sum("cost_usd"))[
        "c"
    ]
    return total or Decimal(0)


def batch_reserved(batch: BatchRun, *, but: int | None = None) -> Decimal:
    """What the batch's turns in flight have reserved (claims running, leases not run out)."""
    live = AITurn.objects.filter(
        session__batch_link__batch=batch,
        status=AITurn.Status.RUNNING,
        lease_until__gte=timezone.now(),
    )
    if but is not None:
        live = live.exclude(pk=but)
    return live.aggregate(r=Sum("reserved_usd"))["r"] or Decimal(0)


def turn_estimate(batch: BatchRun, seat: Seat) -> Decimal:
    """What a turn of the seat's agent is expected to cost."""
    agent = seat_agent(seat)
    for scope in ({"session__batch_link__batch": batch}, {}):
        calls = LLMCall.objects.filter(agent=agent, **scope).aggregate(c=Sum("cost_usd"))["c"]
        turns = AITurn.objects.filter(
            seat__agent_link__agent=agent, status=AITurn.Status.DONE, **scope
        ).aggregate(n=Count("pk"))["n"]
        if calls is not None and turns:
            return calls / turns
    return _first_guess(agent, seat.session_id)


def _first_guess(agent: Agent, session_id: int) -> Decimal:
    passage_chars = (
        Session.objects.filter(pk=session_id)
        .annotate(n=Length("question__passage__text"))
        .values_list("n", flat=True)
        .first()
    ) or 0
    prompt_tokens = passage_chars // 4 + PROMPT_TOKENS_BESIDES_PASSAGE
    return (
        agent.cost_input_per_mtok * prompt_tokens + agent.cost_output_per_mtok * REPLY_TOKENS
    ) / Decimal(1_000_000)
