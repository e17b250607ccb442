"""AI turn claims become leases (llm_agents/services.py); a claim still running from before is
given the lease it would have had, so the sweeper can take it over once that has run out."""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F


def lease_running_claims(apps, schema_editor):
    AITurn = apps.get_model("llm_agents", "AITurn")
    AITurn.objects.filter(status="running").update(
        lease_until=F("updated_at") + timedelta(seconds=360)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("llm_agents", "0003_batch_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="aiturn",
            name="attempts",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="aiturn",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(lease_running_claims, migrations.RunPython.noop),
    ]
