"""Interactive debate: a live judgment keeps the judge's question to each expert."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("judging", "0006_offline_steps_and_authors"),
    ]

    operations = [
        migrations.AddField(
            model_name="judgment",
            name="questions",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "Rules with judge questions on: the live judge's question to each expert, "
                    "{role: text}, answered in that expert's next speech."
                ),
            ),
        ),
    ]
