"""Judgments: a judge's probabilities over the shown answers at one turn."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from debate.models import move_author_field


class Judgment(models.Model):
    class Kind(models.TextChoices):
        LIVE = "live", "live"
        OFFLINE = "offline", "offline"

    session = models.ForeignKey(
        "debate.Session", on_delete=models.CASCADE, related_name="judgments"
    )
    round = models.ForeignKey(
        "debate.Round",
        on_delete=models.CASCADE,
        related_name="judgments",
        help_text="The judge round of a live judgment; for an offline one, the last round read.",
    )
    seat = models.ForeignKey("debate.Seat", on_delete=models.CASCADE, related_name="judgments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LIVE)
    step = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Offline judgments only: 0 for the first, 1 for the next, ...",
    )
    probabilities = models.JSONField(help_text="One probability per shown answer, in shown order.")
    text = models.TextField(blank=True, default="")
    questions = models.JSONField(
        default=dict,
        blank=True,
        help_text="Rules with judge questions on: the live judge's question to each expert, "
        "{role: text}, answered in that expert's next speech.",
    )
    end = models.BooleanField(default=False, help_text="The judge chose to end here.")
    author = move_author_field("judged")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "seat"],
                condition=Q(kind="live"),
                name="judgment_unique_seat_round",
            ),
            models.UniqueConstraint(
                fields=["seat", "step"],
                condition=Q(kind="offline"),
                name="judgment_unique_offline_step",
            ),
            models.UniqueConstraint(
                fields=["seat"], condition=Q(end=True), name="judgment_one_final_per_judge"
            ),
        ]
        ordering = ["session", "round__index", "id"]

    def __str__(self) -> str:
        shown = ", ".join(f"{p:.0%}" for p in self.probabilities)
        return f"{'final ' if self.end else ''}{self.kind} judgment [{shown}]"


class SurveyQuestion(models.Model):
    """One question of the feedback survey each seat fills in after its session (the paper's
    appendix F). Questions are data: staff edit, add and retire them in the admin."""

    class Kind(models.TextChoices):
        LIKERT = "likert", "rating 1-5"
        COMPARATIVE = "comparative", "rating 1-5 for each debater"
        TEXT = "text", "free text"

    key = models.CharField(max_length=100, unique=True, help_text="Stable key of the answers.")
    text = models.TextField(help_text="The question as shown.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    roles = models.JSONField(
        default=list, help_text="Who is asked: any of judge, debater, offline_judge."
    )
    low_label = models.CharField(max_length=100, blank=True, help_text="What 1 means.")
    high_label = models.CharField(max_length=100, blank=True, help_text="What 5 means.")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.key


class SurveyResponse(models.Model):
    """A seat's submitted survey: answers keyed by question key (Likert 1-5; comparative as
    {"debater_a": n, "debater_b": n}; text as text). Submitted once, never changed."""

    seat = models.OneToOneField("debate.Seat", on_delete=models.CASCADE, related_name="survey")
    answers = models.JSONField(default=dict)
    submitted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"survey of {self.seat}"


class ErrorCategory(models.Model):
    """Why a judge got a session wrong (the paper's Table 2 taxonomy); staff edit the list."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "error categories"

    def __str__(self) -> str:
        return self.name


class ErrorTag(models.Model):
    """Staff's reading of an incorrectly judged session: one row per category it shows."""

    session = models.ForeignKey(
        "debate.Session", on_delete=models.CASCADE, related_name="error_tags"
    )
    category = models.ForeignKey(ErrorCategory, on_delete=models.PROTECT, related_name="tags")
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "category"], name="error_tag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category} on session {self.session_id}"
