"""Admin for the protocol's data: browse and edit passages, questions, rules and sessions."""

from django.contrib import admin

from debate.models import Passage, Question, Quote, Round, Rules, Seat, Session, Speech


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ("external_id", "text", "correct_index", "best_distractor_index")
    show_change_link = True


@admin.register(Passage)
class PassageAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "source", "external_id", "length", "created_at")
    list_filter = ("source",)
    search_fields = ("title", "author", "external_id")
    inlines = [QuestionInline]

    @admin.display(description="characters")
    def length(self, passage: Passage) -> int:
        return len(passage.text)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("text", "passage", "correct_index", "best_distractor_index", "external_id")
    list_select_related = ("passage",)
    search_fields = ("text", "external_id", "passage__title")
    list_filter = ("passage__source",)
    autocomplete_fields = ("passage",)


@admin.register(Rules)
class RulesAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


class SeatInline(admin.TabularInline):
    model = Seat
    extra = 0
    fields = ("role", "user", "agent", "answer_position")
    autocomplete_fields = ("user",)


class RoundInline(admin.TabularInline):
    model = Round
    extra = 0
    fields = ("index", "kind", "created_at", "completed_at")
    readonly_fields = ("created_at",)
    show_change_link = True


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("id", "protocol", "status", "question", "rules", "created_at", "finished_at")
    list_filter = ("protocol", "status", "rules")
    list_select_related = ("question", "rules")
    search_fields = ("question__text", "external_id", "seats__user__username")
    date_hierarchy = "created_at"
    autocomplete_fields = ("question",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [SeatInline, RoundInline]


class SpeechInline(admin.StackedInline):
    model = Speech
    extra = 0
    fields = ("seat", "text", "char_count", "quote_char_count")
    show_change_link = True


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ("session", "index", "kind", "created_at", "completed_at")
    list_filter = ("kind",)
    list_select_related = ("session",)
    inlines = [SpeechInline]


class QuoteInline(admin.TabularInline):
    model = Quote
    extra = 0
    fields = ("position", "start", "end", "verified", "text")


@admin.register(Speech)
class SpeechAdmin(admin.ModelAdmin):
    list_display = ("id", "round", "seat", "char_count", "quote_char_count", "created_at")
    list_select_related = ("round", "seat")
    search_fields = ("text",)
    inlines = [QuoteInline]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ("session", "role", "user", "agent", "answer_position")
    list_filter = ("role",)
    list_select_related = ("session", "user", "agent")
    search_fields = ("user__username", "agent__name")


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ("speech", "position", "start", "end", "verified")
    list_filter = ("verified",)
