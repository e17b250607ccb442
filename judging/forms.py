"""Forms of the staff analysis pages: filters, and error tags on one session."""

from __future__ import annotations

from django import forms

from judging.analysis import AnalysisFilters
from judging.metrics import SETTINGS, SPLITS
from judging.models import ErrorCategory


class AnalysisFilterForm(forms.Form):
    included_in_paper = forms.BooleanField(required=False, label="Only sessions the paper used")
    setting = forms.MultipleChoiceField(
        required=False,
        choices=[(s, s) for s in SETTINGS] + [(f"{s}_offline", f"{s}_offline") for s in SETTINGS],
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
