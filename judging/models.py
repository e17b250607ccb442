"""Judgments: a judge's probabilities over the shown answers at one turn."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


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
    probabilities = models.JSONField(help_text="One probability per shown answer, in shown order.")
    text = models.TextField(blank=True, default="")
    end = models.BooleanField(default=False, help_text="The judge chose to end here.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "seat"], name="judgment_unique_seat_round"),
            models.UniqueConstraint(
                fields=["seat"], condition=Q(end=True), name="judgment_one_final_per_judge"
            ),
        ]
        ordering = ["session", "round__index", "id"]

    def __str__(self) -> str:
        shown = ", ".join(f"{p:.0%}" for p in self.probabilities)
        return f"{'final ' if self.end else ''}{self.kind} judgment [{shown}]"
