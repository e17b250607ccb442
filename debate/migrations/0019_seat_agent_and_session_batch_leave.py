"""The foreign keys up to the AI app go (its links hold them now: llm_agents 0009); a seat is held
by exactly one user or one AI, named."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def foreign_keys_restore(apps, schema_editor):
    """Backwards: the foreign keys again, from the AI app's links (before its table goes)."""
    Seat = apps.get_model("debate", "Seat")
    Session = apps.get_model("debate", "Session")
    SeatAgent = apps.get_model("llm_agents", "SeatAgent")
    BatchSession = apps.get_model("llm_agents", "BatchSession")
    agents = SeatAgent.objects.filter(seat_id=OuterRef("pk")).values("agent_id")[:1]
    Seat.objects.filter(agent_link__isnull=False).update(agent_id=Subquery(agents))
    batches = BatchSession.objects.filter(session_id=OuterRef("pk")).values("batch_id")[:1]
    Session.objects.filter(batch_link__isnull=False).update(batch_id=Subquery(batches))


class Migration(migrations.Migration):
    dependencies = [
        ("debate", "0018_seat_ai_player"),
        ("llm_agents", "0009_seat_agent_and_batch_session_links"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="seat", name="seat_held_by_user_or_agent"),
        migrations.RunPython(migrations.RunPython.noop, foreign_keys_restore),
        migrations.RemoveField(model_name="seat", name="agent"),
        migrations.RemoveField(model_name="session", name="batch"),
        migrations.AddConstraint(
            model_name="seat",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("user__isnull", False), ("ai_player", "")),
                    models.Q(("user__isnull", True), models.Q(("ai_player", ""), _negated=True)),
                    _connector="OR",
                ),
                name="seat_held_by_user_or_ai",
            ),
        ),
    ]
