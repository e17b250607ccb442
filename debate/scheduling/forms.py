"""The scheduling page's form: it parses what staff choose; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from debate.ai_holders import ai_holders
from debate.models import Passage, Question, Rules
from debate.protocol import Protocol
from debate.scheduling.plan import DEFAULT_MAX_DEBATING, DEFAULT_MAX_JUDGING


class QuestionChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Question) -> str:
        text = obj.text if len(obj.text) <= 80 else obj.text[:77] + "..."
        return f"{obj.passage.title}: {text}"


class ScheduleForm(forms.Form):
    questions = QuestionChoiceField(
        Question.objects.select_related("passage").order_by("passage__title", "pk"),
        widget=forms.SelectMultiple(attrs={"size": 10}),
    )
    participants = forms.ModelMultipleChoiceField(
        get_user_model().objects.filter(is_active=True).order_by("username"),
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Judges, debaters and consultants come from these people.",
    )
    agents = forms.MultipleChoiceField(
        choices=lambda: [(a.name, a.name) for a in ai_holders()],  # read when the form is shown
        required=False,
        help_text="Optional: AI agents argue when too few people who read the passage are free.",
    )
    protocols = forms.MultipleChoiceField(
        choices=[(p.value, p.value) for p in Protocol],
        initial=[Protocol.DEBATE.value],
        widget=forms.CheckboxSelectMultiple,
    )
    per_question = forms.IntegerField(
        min_value=1, max_value=20, initial=1, help_text="Sessions per question and protocol."
    )
    max_judging = forms.IntegerField(
        min_value=0, initial=DEFAULT_MAX_JUDGING, help_text="Open judge seats per person, at most."
    )
    max_debating = forms.IntegerField(
        min_value=0,
        initial=DEFAULT_MAX_DEBATING,
        help_text="Open debater or consultant seats per person, at most.",
    )
    seed = forms.IntegerField(initial=0, help_text="The same inputs and seed give the same plan.")
    debate_rules = forms.ModelChoiceField(
        Rules.objects.all(), required=False, empty_label="paper-debate"
    )
    consultancy_rules = forms.ModelChoiceField(
        Rules.objects.all(), required=False, empty_label="paper-consultancy"
    )
    partial = forms.BooleanField(
        required=False,
        label="Create only the sessions that can be made",
        help_text="Otherwise nothing is written while any session cannot be made.",
    )

    def plan_inputs(self) -> dict[str, Any]:
        """The planner's inputs, as `schedule_preview` and `schedule_create` take them."""
        data = self.cleaned_data
        return {
            "questions": list(data["questions"]),
            "participants": list(data["participants"]),
            "agents": [a for a in ai_holders() if a.name in set(data["agents"])],
            "protocols": data["protocols"],
            "per_question": data["per_question"],
            "max_judging": data["max_judging"],
            "max_debating": data["max_debating"],
            "seed": data["seed"],
        }

    def rules(self) -> dict[Protocol, Rules]:
        data = self.cleaned_data
        chosen = {
            Protocol.DEBATE: data["debate_rules"],
            Protocol.CONSULTANCY: data["consultancy_rules"],
        }
        return {protocol: rules for protocol, rules in chosen.items() if rules is not None}


class PassageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Passage) -> str:
        return f"{obj.title} ({obj.author})" if obj.author else obj.title


class ReadingForm(forms.Form):
    """Staff mark that a person has read a passage (they will never be offered as its judge)."""

    user = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True).order_by("username"), label="Person"
    )
    passage = PassageChoiceField(Passage.objects.order_by("title", "pk"), label="Has read")
    note = forms.CharField(
        required=False, max_length=200, help_text="How you know, e.g. 'read it in the pilot'."
    )
