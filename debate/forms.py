"""Forms at the edge: they parse what staff type; the services decide what is allowed."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from debate.models import Question, Rules, Session
from debate.protocol import Protocol, Role
from debate.services import SeatAssignment, session_create


class SessionCreateForm(forms.Form):
    question = forms.ModelChoiceField(Question.objects.select_related("passage"))
    protocol = forms.ChoiceField(choices=[(p.value, p.value) for p in Protocol])
    rules = forms.ModelChoiceField(Rules.objects.all())
    judge = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Leave empty only for judgeless rules (the debaters vote on ending; the "
        "session is judged offline afterwards).",
    )
    debater_a = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Debate: argues the first answer shown. Consultancy: the consultant.",
    )
    debater_b = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Debate only: argues the second answer shown.",
    )
    consultant_honest = forms.BooleanField(
        required=False, help_text="Consultancy only: the consultant argues the correct answer."
    )

    def clean(self) -> dict:
        data = super().clean()
        rules = data.get("rules")
        judgeless = rules is not None and not rules.get_structure().has_judge
        if judgeless and data.get("judge"):
            self.add_error("judge", "These rules are judgeless: leave the judge empty.")
        if not judgeless and not data.get("judge"):
            self.add_error("judge", "Choose the judge.")
        if not data.get("debater_a"):
            self.add_error("debater_a", "Choose who argues.")
        if data.get("protocol") == Protocol.DEBATE and not data.get("debater_b"):
            self.add_error("debater_b", "A debate needs a second debater.")
        return data

    def save(self) -> Session:
        data = self.cleaned_data
        question: Question = data["question"]
        chosen = Protocol(data["protocol"])
        seats = [SeatAssignment(Role.JUDGE, user=data["judge"])] if data.get("judge") else []
        if chosen is Protocol.DEBATE:
            seats += [
                SeatAssignment(Role.DEBATER_A, user=data["debater_a"]),
                SeatAssignment(Role.DEBATER_B, user=data["debater_b"]),
            ]
            return session_create(
                question=question, protocol_name=chosen, rules=data["rules"], seats=seats
            )
        consultant = SeatAssignment(
            Role.CONSULTANT, user=data["debater_a"], honest=bool(data["consultant_honest"])
        )
        return session_create(
            question=question, protocol_name=chosen, rules=data["rules"], seats=[*seats, consultant]
        )
