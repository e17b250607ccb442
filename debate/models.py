"""Stored state of the protocol: passages, questions, rules, sessions, seats, rounds, speeches
and quotes. The rules themselves live in `debate/protocol.py`; these models only persist what
the services have checked against it, with database constraints as the last line against races.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from debate import protocol
from debate.scoring import ScoringRule


class NaturalKeyManager(models.Manager):
    """Lets fixtures and importers address rows by their source ids instead of database ids."""

    natural_key_fields: tuple[str, ...] = ()

    def get_by_natural_key(self, *values: Any) -> models.Model:
        return self.get(**dict(zip(self.natural_key_fields, values, strict=True)))


def move_author_field(doing: str) -> models.ForeignKey:
    """Who made a move: the person holding the seat then (staff may give a seat to someone
    else later, and the move stays theirs); empty for an agent's move."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=f"The person who {doing} (the seat's holder then); empty for an agent.",
    )


class PassageManager(NaturalKeyManager):
    natural_key_fields = ("source", "external_id")


class Passage(models.Model):
    """The long text only debaters read."""

    title = models.CharField(max_length=300)
    author = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=100, help_text="Where it comes from, e.g. 'gutenberg'.")
    external_id = models.CharField(max_length=200, help_text="Its id in the source.")
    story_key = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_index=True,
        help_text="Shared by every passage that is the same story in another rendering or "
        "source (e.g. quality:63473); whoever read one of them has read the story.",
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)  # not auto_now_add: fixtures load raw

    objects = PassageManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="passage_unique_source_id"
            )
        ]
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def natural_key(self) -> tuple[str, str]:
        return (self.source, self.external_id)

    @property
    def story(self) -> str:
        """What identifies the story across renderings: its story key, else this passage."""
        return self.story_key or f"passage:{self.pk}"


class PassageTokens(models.Model):
    """A passage's tokens as a source gave them (the NYU debates' CoreNLP tokens), with each
    token's character span in our text, so token-offset quotes convert both ways. Kept apart from
    Passage so that reading a passage never loads them."""

    passage = models.OneToOneField(Passage, on_delete=models.CASCADE, related_name="tokens")
    tokens = models.JSONField(help_text="The source's tokens, in order.")
    spans = models.JSONField(help_text="Each token's [start, end) in the passage text.")

    class Meta:
        verbose_name_plural = "passage tokens"

    def __str__(self) -> str:
        return f"tokens of {self.passage}"


class QuestionManager(models.Manager["Question"]):
    def get_by_natural_key(self, source: str, passage_id: str, external_id: str) -> Question:
        return self.get(
            passage__source=source, passage__external_id=passage_id, external_id=external_id
        )


class Question(models.Model):
    passage = models.ForeignKey(Passage, on_delete=models.PROTECT, related_name="questions")
    external_id = models.CharField(max_length=200)
    text = models.TextField()
    answers = models.JSONField(help_text="The answer options, a list of strings.")
    correct_index = models.PositiveSmallIntegerField(help_text="0-based index into answers.")
    best_distractor_index = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The wrong option most often mistaken for the answer."
    )
    difficulty = models.JSONField(default=dict, blank=True)
    source_ids = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = QuestionManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["passage", "external_id"], name="question_unique_passage_id"
            )
        ]
        ordering = ["passage", "id"]

    def __str__(self) -> str:
        return self.text

    def natural_key(self) -> tuple[str, str, str]:
        return (*self.passage.natural_key(), self.external_id)

    natural_key.dependencies = ["debate.passage"]  # type: ignore[attr-defined]

    def clean(self) -> None:
        if not isinstance(self.answers, list) or len(self.answers) < 2:
            raise ValidationError({"answers": "Give at least two answer options."})
        if not all(isinstance(a, str) and a.strip() for a in self.answers):
            raise ValidationError({"answers": "Every answer option must be non-empty text."})
        for field in ("correct_index", "best_distractor_index"):
            value = getattr(self, field)
            if value is not None and value >= len(self.answers):
                raise ValidationError({field: "Must point at one of the answer options."})
        if self.best_distractor_index == self.correct_index:
            raise ValidationError({"best_distractor_index": "Must differ from the correct answer."})

    def debate_pair(self, distractor: int | None = None) -> tuple[int, int]:
        """The two options a debate uses: the correct one and the best distractor, or the
        ``distractor`` the caller chooses. A question with no best distractor (QuALITY gave no
        usable vote) has no debate pair unless the caller chooses one: silently pitting the
        correct answer against the first wrong option would change the experiment."""
        if distractor is None:
            distractor = self.best_distractor_index
        if distractor is None:
            if len(self.answers) == 2:
                return (self.correct_index, 1 - self.correct_index)  # no choice to make
            raise ValueError(
                f"Question {self.pk} has no best distractor: choose which wrong answer to debate."
            )
        if distractor == self.correct_index or not 0 <= distractor < len(self.answers):
            raise ValueError(f"Answer {distractor} is not a wrong answer of question {self.pk}.")
        return (self.correct_index, distractor)


JUDGE_QUESTIONS_KEY = "judge_questions"  # the rules' structure JSON key of `Rules.judge_questions`


class Rules(models.Model):
    """A named, reusable rule set: round structure, limits and scoring."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    structure = models.JSONField(help_text="opening, repeating and optional closing round lists.")
    scoring = models.JSONField(default=dict, blank=True, help_text="Scoring rule parameters.")

    class Meta:
        verbose_name_plural = "rules"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        parsed = protocol.structure_from_dict(self.structure or {})
        if isinstance(parsed, protocol.Rejection):
            raise ValidationError({"structure": parsed.message})
        asks = (self.structure or {}).get(JUDGE_QUESTIONS_KEY, False)
        if not isinstance(asks, bool):
            raise ValidationError(
                {"structure": f"{JUDGE_QUESTIONS_KEY} must be true or false, not {asks!r}"}
            )
        try:
            ScoringRule.from_dict(self.scoring or {})
        except (ValueError, TypeError) as error:
            raise ValidationError({"scoring": str(error)}) from error

    def get_structure(self) -> protocol.Structure:
        parsed = protocol.structure_from_dict(self.structure)
        if isinstance(parsed, protocol.Rejection):
            raise ValueError(f"Rules {self.name!r}: {parsed.message}")
        return parsed

    def get_scoring(self) -> ScoringRule:
        return ScoringRule.from_dict(self.scoring or {})

    @property
    def judge_questions(self) -> bool:
        """Interactive debate (Khan et al. 2024): each live judge turn that continues may put a
        question to each expert, answered in its next speech. Kept in the structure JSON beside
        the round lists (``"judge_questions": true``) rather than in `protocol.Structure`: it
        changes what is written and shown, not the order of moves. Off unless exactly true."""
        return (self.structure or {}).get(JUDGE_QUESTIONS_KEY) is True


class Session(models.Model):
    """One debate or consultancy on one question."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "not started"
        IN_PROGRESS = "in_progress", "in progress"
        FINISHED = "finished", "finished"

    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="sessions")
    protocol = models.CharField(
        max_length=20, choices=[(p.value, p.value) for p in protocol.Protocol]
    )
    rules = models.ForeignKey(Rules, on_delete=models.PROTECT, related_name="sessions")
    answer_order = models.JSONField(
        help_text="Question option indices in the order the answers are shown, e.g. [3, 1]."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    attention = models.TextField(
        blank=True, help_text="Why the session needs staff attention (e.g. an AI turn failed)."
    )
    external_id = models.CharField(max_length=200, blank=True, default="")
    included_in_paper = models.BooleanField(
        null=True,
        blank=True,
        help_text="For imported sessions: whether the source's paper used it.",
    )
    # Defaults, not auto_now_add: an importer keeps the times things really happened.
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Voided by staff (services.session_void): no more moves, left out of the analysis and the
    # leaderboards, its history kept as it was.
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.protocol} #{self.pk}: {self.question}"

    def clean(self) -> None:
        answers = self.question.answers if self.question_id else []
        order = self.answer_order
        if (
            not isinstance(order, list)
            or len(order) < 2
            or len(set(order)) != len(order)
            or not all(isinstance(i, int) and 0 <= i < len(answers) for i in order)
        ):
            raise ValidationError(
                {"answer_order": "List two or more distinct indices of the question's answers."}
            )
        if self.question_id and self.question.correct_index not in order:
            raise ValidationError(
                {"answer_order": "The correct answer must be one of those shown."}
            )

    @property
    def answers(self) -> list[str]:
        """The answers in the order this session shows them."""
        return [self.question.answers[i] for i in self.answer_order]

    @property
    def correct_position(self) -> int:
        """Which shown answer (0-based, in session order) is correct."""
        return self.answer_order.index(self.question.correct_index)


class Seat(models.Model):
    """A place in a session, held by exactly one user or one AI (see `debate/ai_holders.py`)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="seats")
    role = models.CharField(max_length=20, choices=[(r.value, r.value) for r in protocol.Role])
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="seats",
    )
    # Which agent an AI's seat is, is the AI app's link (llm_agents.SeatAgent); the protocol
    # keeps the name, for who held the seat once the names are shown, and the analysis.
    ai_player = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="The AI that holds this seat, by its name when it took the seat; empty for a "
        "person's seat.",
    )
    answer_position = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The shown answer (0-based) this seat argues; none for judges.",
    )
    # Open rules: when the expert chose the answer it argues (its choice move, replayed before
    # round 1); on the seat that chose only. None under rules that assign the answers.
    answer_chosen_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Open consultancy or debate: when this seat chose the answer it argues.",
    )
    # The survey itself (its answers) is the judging app's; the protocol needs only the fact,
    # for the rule that a seat sees who held the others once its own survey is in.
    surveyed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this seat's holder submitted its feedback survey after the session.",
    )

    class JudgingMode(models.TextChoices):
        STEPPED = "stepped", "stepped: round by round, a judgment after each"
        TIMED = "timed", "timed: the whole transcript at once, one judgment"

    judging_mode = models.CharField(
        max_length=10,
        choices=JudgingMode.choices,
        blank=True,
        default="",
        help_text="Offline judges only: how they read the transcript.",
    )
    judging_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Offline judges only: when they began reading (a timed judging's clock).",
    )
    assigned_judging_mode = models.CharField(
        max_length=10,
        choices=JudgingMode.choices,
        blank=True,
        default="",
        help_text="Offline judges only: the mode the assignment prescribed; empty when it left "
        "the choice to the judge (NYU files write null), who then judged as judging_mode says.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "role"],
                condition=~Q(role=protocol.Role.OFFLINE_JUDGE),
                name="seat_unique_live_role",
            ),
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(ai_player=""))
                | (Q(user__isnull=True) & ~Q(ai_player="")),
                name="seat_held_by_user_or_ai",
            ),
        ]
        ordering = ["session", "role"]

    def __str__(self) -> str:
        return f"{self.role} in session {self.session_id}"

    @property
    def holder_name(self) -> str:
        return str(self.user) if self.user_id else self.ai_player

    @property
    def is_ai(self) -> bool:
        return self.ai_player != ""


class Round(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="rounds")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in protocol.RoundKind])
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="round_unique_index")
        ]
        ordering = ["session", "index"]

    def __str__(self) -> str:
        return f"round {self.index} ({self.kind}) of session {self.session_id}"


class Speech(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="speeches")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="speeches")
    author = move_author_field("gave it")
    text = models.TextField(help_text="The speech with <quote>...</quote> around each quote.")
    char_count = models.PositiveIntegerField(help_text="Characters as rendered, quotes included.")
    quote_char_count = models.PositiveIntegerField(
        help_text="Passage characters quoted, once each."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "seat"], name="speech_unique_seat_round")
        ]
        ordering = ["round", "created_at", "id"]

    def __str__(self) -> str:
        return f"speech by {self.seat.role} in round {self.round.index}"


class Quote(models.Model):
    speech = models.ForeignKey(Speech, on_delete=models.CASCADE, related_name="quotes")
    position = models.PositiveSmallIntegerField(help_text="Order of the quote within its speech.")
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    verified = models.BooleanField()
    text = models.TextField(help_text="The text as revealed.")
    token_start = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Quotes of a tokenised story (NYU imports): the token span [start, end) as the "
        "source gave it; the text is then the source's rendering of those tokens.",
    )
    token_end = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["speech", "position"], name="quote_unique_position"),
            models.CheckConstraint(
                condition=Q(verified=False)
                | (Q(start__isnull=False) & Q(end__isnull=False) & Q(start__lt=models.F("end"))),
                name="quote_verified_has_span",
            ),
        ]
        ordering = ["speech", "position"]

    def __str__(self) -> str:
        return f"quote {self.start}-{self.end}" if self.verified else "unverified quote"


class EndVote(models.Model):
    """A speaking seat's vote in a negotiate-end round: end the session now, or go on."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="votes")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="votes")
    end = models.BooleanField(help_text="True: vote to end the session now.")
    author = move_author_field("voted")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "seat"], name="vote_unique_seat_round")
        ]
        ordering = ["round", "created_at", "id"]

    def __str__(self) -> str:
        return f"vote to {'end' if self.end else 'go on'} by {self.seat.role} in {self.round}"


class Judgment(models.Model):
    """A judge's probabilities over the shown answers at one turn: a live judge's at a judge
    round, or an offline judge's at one of its points."""

    class Kind(models.TextChoices):
        LIVE = "live", "live"
        OFFLINE = "offline", "offline"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="judgments")
    round = models.ForeignKey(
        Round,
        on_delete=models.CASCADE,
        related_name="judgments",
        help_text="The judge round of a live judgment; for an offline one, the last round read.",
    )
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="judgments")
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


class Scratchpad(models.Model):
    """A seat's private notes; only that seat ever sees them."""

    seat = models.OneToOneField(Seat, on_delete=models.CASCADE, related_name="scratchpad")
    text = models.TextField(blank=True, default="")
    source_notes = models.JSONField(
        null=True,
        blank=True,
        help_text="The notes as an imported file held them (NYU: a list of notes, each a list of "
        "text and quote segments); written back as they were while the text is unchanged.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scratchpad of {self.seat}"


class Draft(models.Model):
    """What a seat is writing and has not yet submitted, saved as it is typed: a speech, or a
    judge's note. Only its author ever sees it; a submitted move clears it."""

    class Kind(models.TextChoices):
        SPEECH = "speech", "speech"
        NOTE = "note", "judge's note"

    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="drafts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seat", "kind"], name="draft_unique_seat_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} draft of {self.seat}"


class PassageReading(models.Model):
    """A person has read a passage (debaters read it; a judge of it must never have)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="readings"
    )
    passage = models.ForeignKey(Passage, on_delete=models.CASCADE, related_name="readings")
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True, help_text="How we know, e.g. 'debated'.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "passage"], name="reading_unique_user_passage")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.passage}"


class Notification(models.Model):
    """Something a participant should act on: their turn, a survey to fill in."""

    class Kind(models.TextChoices):
        TURN = "turn", "your turn"
        SURVEY = "survey", "survey to fill in"
        ASSIGNED = "assigned", "new assignment"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    key = models.CharField(
        max_length=100, help_text="What it is about, e.g. the turn; one notification per key."
    )
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True, help_text="When the user acted.")
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="notification_unique_key")
        ]
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "done_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user}: {self.text}"


class SlackWebhook(models.Model):
    """A Slack incoming webhook that "your turn" and "survey due" notifications are posted to:
    a person's own, or one for a group of people (set by staff)."""

    url = models.URLField(
        max_length=500,
        help_text="The incoming-webhook URL Slack gives, https://hooks.slack.com/...",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="slack_webhook",
    )
    group = models.OneToOneField(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="slack_webhook"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Slack's answer to the last failed post.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="slack_webhook_of_user_or_group",
            )
        ]

    def __str__(self) -> str:
        return f"Slack webhook of {self.user or self.group}"

    def clean(self) -> None:
        from debate.slack import webhook_url_problem

        problem = webhook_url_problem(self.url)
        if problem:
            raise ValidationError({"url": problem})


class SlackDelivery(models.Model):
    """One notification posted to one webhook: posted once, retried when Slack or the network
    fails for a while, given up on when Slack refuses it for good."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting to be posted"
        SENT = "sent", "posted"
        SKIPPED = "skipped", "not posted: already done"
        FAILED = "failed", "gave up"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="slack_deliveries"
    )
    webhook = models.ForeignKey(SlackWebhook, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="A worker is posting it (a stale claim is retaken)."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "webhook"], name="slack_delivery_once_per_webhook"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "Slack deliveries"

    def __str__(self) -> str:
        return f"{self.notification} to {self.webhook}: {self.status}"


class AuditEvent(models.Model):
    """One recorded change: who did what, when, to what, with the state before and after.
    Rows are only ever added; corrections are new events, never edits of old ones."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        help_text="Empty for the system or an AI agent (see 'via').",
    )
    via = models.CharField(max_length=100, blank=True, help_text="e.g. admin, agent:gpt-4o")
    action = models.CharField(max_length=50)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["session", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_id} by {self.actor or self.via}"
