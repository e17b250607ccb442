"""Forms at the edge: they parse what staff type; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from debate.ai_holders import ai_holders
from debate.models import Question, Rules, Session
from debate.protocol import LIVE_ROLES, Protocol, RejectionCode, Role, live_roles
from debate.selectors import judge_eligibility
from debate.services import MoveRejected, SeatAssignment, paper_rules, session_create

# Which seats each protocol fills, and how the form names them.
# The form's field for each live seat; which seats a session takes is the protocol's rule
# (`protocol.live_roles`: the speakers, the judge unless judgeless, only the judge when blind).
SEAT_FIELDS = {
    Role.JUDGE: "judge",
    Role.DEBATER_A: "debater_a",
    Role.DEBATER_B: "debater_b",
    Role.CONSULTANT: "consultant",
}


class QuestionChoice(forms.ModelChoiceField):
    """A question shown with its story and the answers a session would put to the judge."""

    def label_from_instance(self, question: Question) -> str:
        try:
            correct, distractor = question.debate_pair()
            answers = f"{question.answers[correct]} / {question.answers[distractor]}"
        except ValueError:
            answers = "no best distractor: cannot be debated"
        return f"{question.passage.title}: {question.text} ({answers})"


class HolderField(forms.ChoiceField):
    """Who holds a seat: a person (user:ID, or a bare ID) or an agent (agent:ID)."""

    def __init__(self, *, users, agents, **kwargs) -> None:
        choices: list[tuple[str, Any]] = [("", "—")]
        choices.append(("People", [(f"user:{u.pk}", u.get_username()) for u in users]))
        if agents:
            choices.append(("AI agents", [(f"agent:{a.pk}", f"{a.name} (AI)") for a in agents]))
        super().__init__(choices=choices, **kwargs)
        self.users = {u.pk: u for u in users}
        self.agents = {a.pk: a for a in agents}

    def valid_value(self, value: str) -> bool:
        return self.holder(value) is not None or value == ""

    def holder(self, value: str):
        kind, _, key = str(value).rpartition(":")
        if not key.isdigit():
            return None
        table = self.agents if kind == "agent" else self.users if kind in ("user", "") else {}
        return table.get(int(key))

    def is_ai(self, value: str) -> bool:
        return str(value).startswith("agent:")


class SessionCreateForm(forms.Form):
    question = QuestionChoice(Question.objects.select_related("passage"))
    protocol = forms.ChoiceField(choices=[(p.value, p.value) for p in Protocol])
    rules = forms.ModelChoiceField(
        Rules.objects.all(),
        required=False,
        empty_label="the paper's rules for the protocol",
        help_text="Judgeless rules (e.g. judgeless-debate) take no judge.",
    )
    consultant_honest = forms.BooleanField(
        required=False,
        label="Honest consultant",
        help_text="Consultancy only: the consultant argues the correct answer.",
    )

    def __init__(self, data=None, question: Question | None = None, **kwargs) -> None:
        super().__init__(data, **kwargs)
        people = list(get_user_model().objects.filter(is_active=True).order_by("username"))
        agents = ai_holders()
        self.not_offered: list = []
        judges = people
        if question is not None:
            # Only people who may judge this question are offered; staff see why the rest are not.
            judges, self.not_offered = judge_eligibility(question=question, users=people)
        for name, label, who, help_text in (
            ("judge", "Judge", judges, "Leave empty only for judgeless rules."),
            ("debater_a", "Debater A", people, "Debate: argues the first answer shown."),
            ("debater_b", "Debater B", people, "Debate: argues the second answer shown."),
            ("consultant", "Consultant", people, "Consultancy: the one expert."),
        ):
            self.fields[name] = HolderField(
                users=who, agents=agents, required=False, label=label, help_text=help_text
            )
        order = ["question", "protocol", "rules", "judge", "debater_a", "debater_b"]
        self.order_fields([*order, "consultant", "consultant_honest"])

    # The fields the page shows or hides by the seats the chosen rules take (`seat_plan`).
    seat_fields = (*SEAT_FIELDS.values(), "consultant_honest")

    def seat_plan(self) -> dict[str, list[str]]:
        """For each protocol and rule set ("<protocol>:<rules id>", "" for the paper's rules),
        the fields of the seats those rules take (`protocol.live_roles`), and the consultant's
        honesty where an answer is assigned: the page shows exactly these."""
        plan = {}
        every: list[Rules | None] = [None, *Rules.objects.order_by("pk")]
        for chosen in Protocol:
            for rules in every:
                structure = (rules or paper_rules(chosen)).get_structure()
                roles = live_roles(chosen, structure)
                names = [SEAT_FIELDS[role] for role in roles]
                if Role.CONSULTANT in roles and not structure.open_choice:
                    names.append("consultant_honest")
                plan[f"{chosen.value}:{rules.pk if rules else ''}"] = names
        return plan

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        protocol_name = data.get("protocol")
        if not protocol_name:
            return data
        rules = data.get("rules") or paper_rules(protocol_name)
        data["rules"] = rules
        chosen = Protocol(protocol_name)
        taken = live_roles(chosen, rules.get_structure())
        for role, name in SEAT_FIELDS.items():
            label = str(self.fields[name].label).lower()
            if role in taken and not data.get(name):
                self.add_error(name, f"Choose the {label}.")
            elif (
                role in LIVE_ROLES[Protocol(protocol_name)] and role not in taken and data.get(name)
            ):
                # (another protocol's seats are ignored: the page hides them)
                why = "are judgeless" if role is Role.JUDGE else "have no speeches"
                self.add_error(name, f"These rules {why}: leave the {label} empty.")
        return data

    def save(self) -> Session:
        data = self.cleaned_data
        chosen = Protocol(data["protocol"])
        seats = []
        for role in live_roles(chosen, data["rules"].get_structure()):
            # Under open rules the consultant chooses its answer in the session: none is assigned.
            assigned = role is Role.CONSULTANT and not data["rules"].get_structure().open_choice
            honest = bool(data["consultant_honest"]) if assigned else None
            seats.append(self._assignment(SEAT_FIELDS[role], role, honest=honest))
        try:
            return session_create(
                question=data["question"], protocol_name=chosen, rules=data["rules"], seats=seats
            )
        except MoveRejected as error:
            field = "judge" if error.code is RejectionCode.JUDGE_CONFLICT else None
            self.add_error(field, error.message)
            raise

    def _assignment(self, name: str, role: Role, honest: bool | None = None) -> SeatAssignment:
        field = self.fields[name]
        assert isinstance(field, HolderField)
        holder = field.holder(self.cleaned_data[name])
        if field.is_ai(self.cleaned_data[name]):
            return SeatAssignment(role, agent=holder, honest=honest)
        return SeatAssignment(role, user=holder, honest=honest)


class SessionFilterForm(forms.Form):
    """Staff's filter of the session list (the all-sessions page and a batch's page)."""

    STATUS_CHOICES = [
        ("", "any status"),
        *Session.Status.choices,
        ("attention", "needs attention"),
        ("overdue", "a person's turn is overdue"),
    ]
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    protocol = forms.ChoiceField(
        required=False, choices=[("", "debate and consultancy")] + [(p, p) for p in Protocol]
    )
    q = forms.CharField(required=False, label="Question or story contains", max_length=200)


class SlackWebhookForm(forms.Form):
    """A participant's own Slack incoming webhook (empty: none)."""

    url = forms.CharField(
        required=False,
        max_length=500,
        label="Slack incoming-webhook URL",
        help_text="In Slack: Apps → Incoming WebHooks → Add to Slack, pick yourself or a channel, "
        "copy the URL (https://hooks.slack.com/services/...). Leave empty to stop.",
        widget=forms.URLInput(
            attrs={"placeholder": "https://hooks.slack.com/services/...", "size": 60}
        ),
    )
