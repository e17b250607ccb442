"""Background tasks: thin wrappers over the services (Celery in production, the in-process
runner in embedded mode; config/background.py chooses)."""

from celery import shared_task

from llm_agents import services


@shared_task(name="llm_agents.ai_turn", acks_late=True)
def ai_turn(session_id: int, seat_id: int, turn_key: str) -> str:
    return services.ai_turn_take(session_id=session_id, seat_id=seat_id, turn_key=turn_key)


@shared_task(name="llm_agents.ai_turns_sweep")
def ai_turns_sweep() -> int:
    """Beat (every AI_TURN_SWEEP_S): enqueue the due AI turns nobody holds."""
    return services.ai_turns_sweep()


@shared_task(name="llm_agents.nightly_batches")
def nightly_batches() -> list[str]:
    """Celery beat's nightly job: the batches configured in NIGHTLY_BATCHES."""
    from django.conf import settings
    from django.utils import timezone

    from llm_agents.batches import nightly_batches_run

    day = timezone.now().date().isoformat()
    return [s.status for s in nightly_batches_run(settings.NIGHTLY_BATCHES, day)]
