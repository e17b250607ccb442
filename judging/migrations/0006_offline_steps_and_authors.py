"""Offline judgments are numbered by step (a judgeless debate's offline judge may judge twice
beside one round), and each judgment records who made it. Existing offline judgments are
numbered in the order they were given; every judgment gets its seat's holder."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    Judgment = apps.get_model("judging", "Judgment")
    step_of = {}
    for judgment in Judgment.objects.filter(kind="offline").order_by(
        "seat_id", "round__index", "id"
    ):
        judgment.step = step_of.get(judgment.seat_id, 0)
        step_of[judgment.seat_id] = judgment.step + 1
        judgment.save(update_fields=["step"])
    for judgment in Judgment.objects.filter(seat__user__isnull=False).select_related("seat"):
        judgment.author_id = judgment.seat.user_id
        judgment.save(update_fields=["author"])


class Migration(migrations.Migration):
    dependencies = [
        ("debate", "0008_votes_story_keys_offline_modes_authors"),
        ("judging", "0005_paper_error_categories"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="judgment",
            name="judgment_unique_seat_round",
        ),
        migrations.AddField(
            model_name="judgment",
            name="author",
            field=models.ForeignKey(
                blank=True,
                help_text="The person who judged (the seat's holder then); empty for an agent.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="judgment",
            name="step",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Offline judgments only: 0 for the first, 1 for the next, ...",
                null=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="judgment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "live")),
                fields=("round", "seat"),
                name="judgment_unique_seat_round",
            ),
        ),
        migrations.AddConstraint(
            model_name="judgment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "offline")),
                fields=("seat", "step"),
                name="judgment_unique_offline_step",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
