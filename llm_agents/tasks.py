"""Background tasks: thin wrappers over the services (Celery in production, the in-process
runner in embedded mode; config/background.py chooses)."""

from celery import shared_task

from llm_agents import batches, services


@shared_task(name="llm_agents.ai_turn", acks_late=True)
def ai_turn(session_id: int, seat_id: int, turn_key: str) -> str:
    """One AI turn (the session's next is enqueued when its move commits); a queued batch's last
    turn settles the batch."""
    outcome = services.ai_turn_take(session_id=session_id, seat_id=seat_id, turn_key=turn_key)
    batches.batch_turn_taken(session_id)
    return outcome


@shared_task(name="llm_agents.ai_turns_sweep")
def ai_turns_sweep() -> int:
    """Beat (every AI_TURN_SWEEP_S): enqueue the due AI turns nobody holds, and settle the queued
    batches with nothing left to play."""
    enqueued = services.ai_turns_sweep()
    batches.queued_batches_settle()
    return enqueued


@shared_task(name="llm_agents.nightly_batches")
def nightly_batches() -> list[str]:
    """Celery beat's nightly job: the batches configured in NIGHTLY_BATCHES (on the celery
    engine only enqueued: the workers play them)."""
    from typing import cast

    from django.conf import settings
    from django.utils import timezone

    day = timezone.now().date().isoformat()
    configs = cast(list[dict], settings.NIGHTLY_BATCHES)  # a JSON list (config/settings.py)
    return [s.status for s in batches.nightly_batches_run(configs, day)]
