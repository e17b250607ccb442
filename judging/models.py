"""The judging app's records: the feedback surveys after a session and staff's error tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


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
