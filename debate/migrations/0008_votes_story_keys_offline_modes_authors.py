"""Votes of negotiate-end rounds (judgeless debates), story keys shared by renderings of one story,
offline judging modes, and who made each speech. Existing rows get what they imply: each speech
its seat's holder, each offline judge the stepped mode, QuALITY and NYU passages the story key of
their QuALITY article, and NYU passages an id naming their tokenisation (one story may come in
several)."""

import hashlib
import json

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def tokens_digest(tokens):
    return hashlib.sha1(
        json.dumps(list(tokens), ensure_ascii=False).encode(), usedforsecurity=False
    ).hexdigest()[:12]


def forwards(apps, schema_editor):
    Passage = apps.get_model("debate", "Passage")
    PassageTokens = apps.get_model("debate", "PassageTokens")
    Seat = apps.get_model("debate", "Seat")
    Speech = apps.get_model("debate", "Speech")
    for passage in Passage.objects.filter(source="quality"):
        passage.story_key = f"quality:{passage.external_id}"
        passage.save(update_fields=["story_key"])
    for stored in PassageTokens.objects.filter(passage__source="nyu-debate").select_related(
        "passage"
    ):
        passage = stored.passage
        if ":" not in passage.external_id:
            article = passage.external_id
            passage.external_id = f"{article}:{tokens_digest(stored.tokens)}"
            passage.story_key = f"quality:{article}"
            passage.save(update_fields=["external_id", "story_key"])
    Seat.objects.filter(role="offline_judge", judging_mode="").update(judging_mode="stepped")
    for speech in (
        Speech.objects.filter(author__isnull=True, seat__user__isnull=False)
        .only("seat")
        .select_related("seat")
    ):
        speech.author_id = speech.seat.user_id
        speech.save(update_fields=["author"])


class Migration(migrations.Migration):
    dependencies = [
        ("debate", "0007_readings_notifications_audit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="passage",
            name="story_key",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                help_text="Shared by every passage that is the same story in another rendering or source (e.g. quality:63473); whoever read one of them has read the story.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="seat",
            name="judging_mode",
            field=models.CharField(
                blank=True,
                choices=[
                    ("stepped", "stepped: round by round, a judgment after each"),
                    ("timed", "timed: the whole transcript at once, one judgment"),
                ],
                default="",
                help_text="Offline judges only: how they read the transcript.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="seat",
            name="judging_started_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Offline judges only: when they began reading (a timed judging's clock).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="speech",
            name="author",
            field=models.ForeignKey(
                blank=True,
                help_text="The person who gave it (the seat's holder then); empty for an agent.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="round",
            name="kind",
            field=models.CharField(
                choices=[
                    ("judge", "judge"),
                    ("simultaneous", "simultaneous"),
                    ("sequential", "sequential"),
                    ("negotiate_end", "negotiate_end"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="EndVote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("end", models.BooleanField(help_text="True: vote to end the session now.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "author",
                    models.ForeignKey(
                        blank=True,
                        help_text="The person who voted (the seat's holder then); empty for an agent.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="votes",
                        to="debate.round",
                    ),
                ),
                (
                    "seat",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="votes",
                        to="debate.seat",
                    ),
                ),
            ],
            options={
                "ordering": ["round", "created_at", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("round", "seat"), name="vote_unique_seat_round")
                ],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
