"""A batch that ran to the end with sessions that did not complete is "failed", not "done"."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("llm_agents", "0004_ai_turn_lease"),
    ]

    operations = [
        migrations.AlterField(
            model_name="batchrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("running", "running"),
                    ("interrupted", "interrupted"),
                    ("budget", "stopped at budget"),
                    ("done", "done"),
                    ("failed", "failed"),
                ],
                default="running",
                max_length=20,
            ),
        ),
    ]
