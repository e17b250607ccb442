"""The links from the protocol app's rows up to this app become this app's own: which agent holds
a seat (SeatAgent) and which batch owns a session (BatchSession), filled from the foreign keys
that debate 0019 then drops."""

import django.db.models.deletion
from django.db import migrations, models


def links_fill(apps, schema_editor):
    Seat = apps.get_model("debate", "Seat")
    Session = apps.get_model("debate", "Session")
    SeatAgent = apps.get_model("llm_agents", "SeatAgent")
    BatchSession = apps.get_model("llm_agents", "BatchSession")
    SeatAgent.objects.bulk_create(
        SeatAgent(seat_id=seat_id, agent_id=agent_id)
        for seat_id, agent_id in Seat.objects.filter(agent__isnull=False).values_list(
            "pk", "agent_id"
        )
    )
    BatchSession.objects.bulk_create(
        BatchSession(session_id=session_id, batch_id=batch_id)
        for session_id, batch_id in Session.objects.filter(batch__isnull=False).values_list(
            "pk", "batch_id"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("debate", "0018_seat_ai_player"),
        ("llm_agents", "0008_agent_strategies"),
    ]

    operations = [
        migrations.CreateModel(
            name="BatchSession",
            fields=[
                (
                    "session",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="batch_link",
                        serialize=False,
                        to="debate.session",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="session_links",
                        to="llm_agents.batchrun",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="SeatAgent",
            fields=[
                (
                    "seat",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="agent_link",
                        serialize=False,
                        to="debate.seat",
                    ),
                ),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="seat_links",
                        to="llm_agents.agent",
                    ),
                ),
            ],
        ),
        migrations.RunPython(links_fill, migrations.RunPython.noop)  # debate 0019 restores,
    ]
