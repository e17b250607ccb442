"""A seat held by an AI records it by name (Seat.ai_player), filled from its agent; the agent
link itself moves to the AI app (llm_agents 0009), and debate 0019 drops the foreign keys."""

from django.db import migrations, models


def ai_player_fill(apps, schema_editor):
    Seat = apps.get_model("debate", "Seat")
    for seat in Seat.objects.filter(agent__isnull=False).select_related("agent"):
        Seat.objects.filter(pk=seat.pk).update(ai_player=seat.agent.name)


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
