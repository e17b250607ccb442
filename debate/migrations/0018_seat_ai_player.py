"""A seat held by an AI records it by name (Seat.ai_player), filled from its agent; the agent
link itself moves to the AI app (llm_agents 0009), and debate 0019 drops the foreign keys."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def ai_player_fill(apps, schema_editor):
    """One statement, however many seats agents hold (a batch makes thousands a night)."""
    Seat = apps.get_model("debate", "Seat")
    Agent = apps.get_model("llm_agents", "Agent")
    names = Agent.objects.filter(pk=OuterRef("agent_id")).values("name")[:1]
    Seat.objects.filter(agent__isnull=False).update(ai_player=Subquery(names))


class Migration(migrations.Migration):
    dependencies = [
        ("debate", "0017_judgment_moves_here_seat_surveyed_at"),
        ("llm_agents", "0008_agent_strategies"),
    ]

    operations = [
        migrations.AddField(
            model_name="seat",
            name="ai_player",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The AI that holds this seat, by its name when it took the seat; empty "
                "for a person's seat.",
                max_length=100,
            ),
        ),
        migrations.RunPython(ai_player_fill, migrations.RunPython.noop),
    ]
