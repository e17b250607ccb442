"""Forms of the staff analysis pages: filters, and error tags on one session."""

from __future__ import annotations

from django import forms

from debate.protocol import SURVEY_TEXT_CHARS
from judging.analysis import AnalysisFilters
from judging.metrics import ALL_SETTINGS, SPLITS, setting_label
from judging.models import ErrorCategory


class AnalysisFilterForm(forms.Form):
    included_in_paper = forms.BooleanField(required=False, label="Only sessions the paper used")
    setting = forms.MultipleChoiceField(
        required=False,
        choices=[(s, setting_label(s)) for s in ALL_SETTINGS],
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every setting.",
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    split = forms.ChoiceField(
        required=False, choices=[("", "setting only")] + [(s, f"setting and {s}") for s in SPLITS]
    )
    no_offline = forms.BooleanField(required=False, label="Leave offline judgments out")

    def filters(self) -> AnalysisFilters:
        data = self.cleaned_data
        return AnalysisFilters(
            included_in_paper=True if data.get("included_in_paper") else None,
            settings=tuple(data.get("setting") or ()),
            since=data.get("since"),
            split=data.get("split") or None,
            offline=not data.get("no_offline"),
        )


class ErrorTagForm(forms.Form):
    categories = forms.ModelMultipleChoiceField(
        queryset=ErrorCategory.objects.filter(active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Why the judge got it wrong",
    )


class SurveyForm(forms.Form):
    """The feedback survey of one seat, built from the survey questions (data, edited by staff):
    a 1-5 choice, one 1-5 choice per debater, or free text."""

    SCALE = [(str(i), str(i)) for i in range(1, 6)]

    def __init__(self, *args, questions, experts: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.experts = experts
        for q in questions:
            help_text = f"1 = {q.low_label}, 5 = {q.high_label}" if q.low_label else ""
            if q.kind == "text":
                self.fields[q.key] = forms.CharField(
                    label=q.text,
                    required=q.required,
                    max_length=SURVEY_TEXT_CHARS,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
            elif q.kind == "likert":
                self.fields[q.key] = forms.ChoiceField(
                    label=q.text,
                    required=q.required,
                    choices=self.SCALE,
                    widget=forms.RadioSelect,
                    help_text=help_text,
                )
            else:
                for role, label in experts:
                    self.fields[f"{q.key}::{role}"] = forms.ChoiceField(
                        label=f"{q.text} — {label}",
                        required=q.required,
                        choices=self.SCALE,
                        widget=forms.RadioSelect,
                        help_text=help_text,
                    )

    def items(self) -> list[dict]:
        """The questions in order, as the page lays them out: each with its kind, its scale's
        end labels, its fields (one per debater for a comparative question, labelled by
        role), whether it is required, and its errors (shown beside it)."""
        items = []
        for q in self.questions:
            if q.kind == "comparative":
                rows = [(label, self[f"{q.key}::{role}"]) for role, label in self.experts]
            else:
                rows = [("", self[q.key])]
            if not rows:
                continue
            errors = [e for _, bound in rows for e in bound.errors]
            items.append(
                {
                    "question": q,
                    "kind": q.kind,
                    "rows": rows,
                    "required": q.required,
                    "errors": list(dict.fromkeys(errors)),
                    "id": f"q-{q.pk}",
                }
            )
        return items

    def answers(self) -> dict:
        """The cleaned data in the shape `survey_submit` takes."""
        answers: dict = {}
        for name, value in self.cleaned_data.items():
            if "::" in name:
                key, role = name.split("::", 1)
                answers.setdefault(key, {})[role] = value
            else:
                answers[name] = value
        return answers
