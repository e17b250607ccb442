"""Admin for the protocol's data. Passages, questions and rules are edited here; the history of a
session (its rounds, speeches, quotes, judgments, seats' roles and answers, its answer order and
status) is read-only, since only the protocol may write it: the corrections staff need are made
through the services (give a seat to someone else), audited, and keep the history valid.
Sessions are created on the site ("Create a session"), which applies the same rules."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from debate.ai_holders import AIHolder, ai_holder_named, ai_holders
from debate.audit import audit_record, snapshot
from debate.errors import ServiceError
from debate.models import (
    AuditEvent,
    Judgment,
    Notification,
    Passage,
    PassageReading,
    PassageTokens,
    Question,
    Quote,
    Round,
    Rules,
    Seat,
    Session,
    SlackDelivery,
    SlackWebhook,
    Speech,
)
from debate.services import (
    MoveRejected,
    seat_holder_problem,
    seat_holder_replace,
    session_void,
)


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete made in the admin becomes an audit event with the row
    before and after, so a staff correction never overwrites history."""

    def save_model(self, request, obj, form, change):
        before = _stored(obj) if change else None
        super().save_model(request, obj, form, change)
        self._audit(request, "admin_change" if change else "admin_add", obj, before, snapshot(obj))

    def save_formset(self, request, form, formset, change):
        before = {f.instance.pk: _stored(f.instance) for f in formset.forms if f.instance.pk}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._audit(request, "admin_add", obj, None, snapshot(obj))
        for obj, _ in formset.changed_objects:
            self._audit(request, "admin_change", obj, before.get(obj.pk), snapshot(obj))
        for obj in formset.deleted_objects:
            self._audit(request, "admin_delete", obj, before.get(obj.pk), None)

    def delete_model(self, request, obj):
        self._audit(request, "admin_delete", obj, snapshot(obj), None)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit(request, "admin_delete", obj, snapshot(obj), None)
        super().delete_queryset(request, queryset)

    def _audit(self, request, action, obj, before, after) -> None:
        audit_record(
            action=action,
            actor=request.user,
            via="admin",
            session=_session_id(obj),
            target=obj,
            before=before,
            after=after,
        )


def _stored(obj) -> dict | None:
    """The row as stored before an edit."""
    return snapshot(type(obj)._default_manager.filter(pk=obj.pk).first())


def _session_id(obj) -> int | None:
    """The session an edited row belongs to, if any (a deleted session keeps none)."""
    if isinstance(obj, Session):
        return None
    for path in ("session_id", "round.session_id", "speech.round.session_id", "seat.session_id"):
        value = obj
        try:
            for part in path.split("."):
                value = getattr(value, part)
        except AttributeError:
            continue
        if value is not None:
            return value
    return None


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ("external_id", "text", "correct_index", "best_distractor_index")
    show_change_link = True


@admin.register(Passage)
class PassageAdmin(AuditedAdmin):
    list_display = ("title", "author", "source", "external_id", "length", "created_at")
    list_filter = ("source",)
    search_fields = ("title", "author", "external_id")
    inlines = [QuestionInline]

    @admin.display(description="characters")
    def length(self, passage: Passage) -> int:
        return len(passage.text)


@admin.register(Question)
class QuestionAdmin(AuditedAdmin):
    list_display = ("text", "passage", "correct_index", "best_distractor_index", "external_id")
    list_select_related = ("passage",)
    search_fields = ("text", "external_id", "passage__title")
    list_filter = ("passage__source",)
    autocomplete_fields = ("passage",)


class RulesForm(forms.ModelForm):
    """The rules' JSON, plus the time per turn as its own field (written into the structure)."""

    turn_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        label="Time per turn (minutes)",
        help_text="How long a person has for each turn; the room counts down and an overdue "
        "turn is flagged to staff, nothing moves by itself. Empty: no limit.",
    )

    class Meta:
        model = Rules
        fields = ("name", "description", "structure", "scoring")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        seconds = (self.instance.structure or {}).get("turn_time_limit_s")
        if seconds:
            self.fields["turn_minutes"].initial = max(1, round(seconds / 60))

    def clean(self):
        data = super().clean()
        structure = dict(data.get("structure") or {})
        minutes = data.get("turn_minutes")
        if minutes:
            structure["turn_time_limit_s"] = minutes * 60
        else:
            structure.pop("turn_time_limit_s", None)
        data["structure"] = structure
        self.instance.structure = structure
        return data


@admin.register(Rules)
class RulesAdmin(AuditedAdmin):
    form = RulesForm
    list_display = ("name", "description")
    search_fields = ("name",)


class HistoryReadOnly:
    """A part of a session's history: shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SeatInline(HistoryReadOnly, admin.TabularInline):
    model = Seat
    extra = 0
    fields = ("role", "user", "ai_player", "answer_position")
    show_change_link = True  # the seat's own page gives it to someone else


class RoundInline(HistoryReadOnly, admin.TabularInline):
    model = Round
    extra = 0
    fields = ("index", "kind", "created_at", "completed_at")
    show_change_link = True


@admin.register(Session)
class SessionAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = (
        "id", "protocol", "status", "question", "rules", "created_at", "finished_at", "voided_at",
        "on_site",
    )  # fmt: skip
    list_filter = ("protocol", "status", "rules", ("voided_at", admin.EmptyFieldListFilter))
    list_select_related = ("question", "rules")
    search_fields = ("question__text", "external_id", "seats__user__username")
    date_hierarchy = "created_at"
    autocomplete_fields = ("question",)
    inlines = [SeatInline, RoundInline]

    @admin.display(description="page")
    def on_site(self, session: Session) -> str:
        url = reverse("debate:session", args=[session.pk])
        return format_html('<a href="{}">open on the site</a>', url)

    def view_on_site(self, session: Session) -> str:
        return reverse("debate:session", args=[session.pk])

    actions = ["void"]  # the judging app adds its exports (judging/admin.py)

    @admin.action(description="Void the selected sessions (with a reason)")
    def void(self, request, queryset):
        """Asks for the reason, then voids each session through the service."""
        form = VoidForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = []
            for session in queryset:
                try:
                    session_void(
                        session=session, reason=form.cleaned_data["reason"], actor=request.user
                    )
                    done.append(session.pk)
                except ServiceError as refused:
                    self.message_user(request, str(refused), level="error")
            if done:
                self.message_user(request, f"Voided: {', '.join(map(str, done))}.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Void sessions",
            "sessions": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/debate/session/void.html", context)


class SpeechInline(HistoryReadOnly, admin.StackedInline):
    model = Speech
    extra = 0
    fields = ("seat", "text", "char_count", "quote_char_count")
    show_change_link = True


@admin.register(Round)
class RoundAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = ("session", "index", "kind", "created_at", "completed_at")
    list_filter = ("kind",)
    list_select_related = ("session",)
    inlines = [SpeechInline]


class QuoteInline(HistoryReadOnly, admin.TabularInline):
    model = Quote
    extra = 0
    fields = ("position", "start", "end", "verified", "text")


@admin.register(Speech)
class SpeechAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = ("id", "round", "seat", "char_count", "quote_char_count", "created_at")
    list_select_related = ("round", "seat")
    search_fields = ("text",)
    inlines = [QuoteInline]


@admin.register(Judgment)
class JudgmentAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = ("session", "round", "seat", "kind", "probabilities", "end", "created_at")
    list_filter = ("kind", "end")
    list_select_related = ("session", "round", "seat")
    search_fields = ("text",)


class VoidForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown in the session's room and kept in the audit trail.",
    )


class SeatHolderForm(forms.ModelForm):
    """Only the holder of a seat may change, by the rules of `seat_holder_replace`: a person, or
    one of the AIs that may hold seats (the AI app's agents)."""

    agent = forms.ChoiceField(
        choices=lambda: [("", "—"), *((a.name, a.name) for a in ai_holders())],
        required=False,
        label="AI",
        help_text="Or an AI agent instead of a person.",
    )

    class Meta:
        model = Seat
        fields = ("user",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("agent", self.instance.ai_player)

    def clean_agent(self) -> AIHolder | None:
        name = self.cleaned_data.get("agent") or ""
        return ai_holder_named(name) if name else None

    def clean(self):
        data = super().clean()
        problem = seat_holder_problem(self.instance, user=data.get("user"), agent=data.get("agent"))
        if problem:
            raise forms.ValidationError(problem)
        return data


@admin.register(Seat)
class SeatAdmin(AuditedAdmin):
    """A seat's page gives it to someone else; its role and answer are the session's history."""

    form = SeatHolderForm
    list_display = ("session", "role", "user", "ai_player", "answer_position")
    list_filter = ("role",)
    list_select_related = ("session", "user")
    search_fields = ("user__username", "ai_player")
    fields = ("session", "role", "answer_position", "user", "agent")
    readonly_fields = ("session", "role", "answer_position")
    autocomplete_fields = ("user",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # seats come with their session

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        """Through the service: audited there, and the open pages hear of it at once (the
        former holder's stream closes, their lobby drops the session)."""
        try:
            seat_holder_replace(
                seat=Seat.objects.get(pk=obj.pk),
                user=form.cleaned_data.get("user"),
                agent=form.cleaned_data.get("agent"),
                actor=request.user,
            )
        except MoveRejected as refused:  # a race since the form was checked
            self.message_user(request, str(refused), level="error")


@admin.register(Quote)
class QuoteAdmin(HistoryReadOnly, AuditedAdmin):
    list_display = ("speech", "position", "start", "end", "verified")
    list_filter = ("verified",)


@admin.register(PassageTokens)
class PassageTokensAdmin(AuditedAdmin):
    list_display = ("passage", "token_count")
    list_select_related = ("passage",)
    readonly_fields = ("passage", "tokens", "spans")

    @admin.display(description="tokens")
    def token_count(self, obj: PassageTokens) -> int:
        return len(obj.tokens)


@admin.register(PassageReading)
class PassageReadingAdmin(AuditedAdmin):
    list_display = ("user", "passage", "note", "created_at")
    list_select_related = ("user", "passage")
    search_fields = ("user__username", "passage__title")
    autocomplete_fields = ("passage",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "text", "created_at", "done_at", "emailed_at")
    list_filter = ("kind",)
    list_select_related = ("user",)


@admin.register(SlackWebhook)
class SlackWebhookAdmin(AuditedAdmin):
    """A group's webhook is set here by staff (a person sets their own on /me/notifications/)."""

    list_display = ("__str__", "url", "last_ok_at", "last_error")
    list_select_related = ("user", "group")
    fields = ("group", "user", "url", "last_ok_at", "last_error")
    readonly_fields = ("last_ok_at", "last_error")
    autocomplete_fields = ("user",)


@admin.register(SlackDelivery)
class SlackDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "notification",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status",)
    list_select_related = ("notification__user", "webhook__user", "webhook__group")
    readonly_fields = [f.name for f in SlackDelivery._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the trail is only ever added to."""

    list_display = ("created_at", "action", "actor", "via", "session", "target_type", "target_id")
    list_filter = ("action", "via")
    list_select_related = ("actor", "session")
    search_fields = ("action", "target_id", "actor__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
