"""The paper's defaults that live in the database as editable data: the feedback survey's
questions (Michael et al. 2023, appendix F) and the error categories (Table 2), in our own words.

The migrations create them; `survey_questions_ensure` and `error_categories_ensure` put them back
in a database that has none (a fresh test database, or one emptied by hand), as `paper_rules`
does for the rules. Retire a question or category with its `active` flag instead of deleting it.
"""

from __future__ import annotations

from typing import Any

JUDGE, DEBATER, OFFLINE = "judge", "debater", "offline_judge"
JUDGES = [JUDGE, OFFLINE]
EVERYONE = [JUDGE, DEBATER, OFFLINE]

QUESTIONS = [
    # key, kind, roles, text, low label, high label
    (
        "reason for outcome",
        "text",
        EVERYONE,
        "Why do you think the session ended the way it did?",
        "",
        "",
    ),
    (
        "subjective correctness",
        "likert",
        [DEBATER],
        "Before seeing the result, how sure were you that your assigned answer was correct?",
        "sure it was wrong",
        "sure it was right",
    ),
    (
        "evidence in story",
        "comparative",
        [DEBATER],
        "How strong was the evidence for each answer in the story itself?",
        "none",
        "decisive",
    ),
    (
        "evidence use",
        "comparative",
        [DEBATER],
        "How well did each debater use the evidence the story offered?",
        "poorly",
        "very well",
    ),
    (
        "evidence in debate",
        "comparative",
        JUDGES,
        "How strong was the evidence each debater showed you?",
        "none",
        "decisive",
    ),
    (
        "factual accuracy",
        "comparative",
        [DEBATER],
        "How accurate were each debater's claims about the story?",
        "often false",
        "all true",
    ),
    (
        "factual informativeness (comparative)",
        "comparative",
        JUDGES,
        "How much did each debater tell you about the facts of the story?",
        "nothing",
        "a lot",
    ),
    (
        "factual informativeness (total)",
        "likert",
        JUDGES,
        "Overall, how much did you learn about the facts of the story?",
        "nothing",
        "a lot",
    ),
    (
        "facts versus semantics",
        "comparative",
        EVERYONE,
        "Did each debater argue about facts of the story or about the wording of the question?",
        "wording",
        "facts",
    ),
    (
        "clarity",
        "comparative",
        EVERYONE,
        "How clear was each debater's argument?",
        "confusing",
        "very clear",
    ),
    (
        "clash",
        "comparative",
        EVERYONE,
        "How directly did each debater answer the other's points?",
        "ignored them",
        "head on",
    ),
    (
        "judge adaptation",
        "comparative",
        EVERYONE,
        "How well did each debater respond to the judge's questions and doubts?",
        "ignored them",
        "fully",
    ),
    (
        "judge reasoning",
        "likert",
        EVERYONE,
        "How sound was the judge's reasoning?",
        "unsound",
        "excellent",
    ),
    ("judge strategies", "text", JUDGES, "What strategies did you use as judge?", "", ""),
    ("other factors", "text", JUDGES, "What else influenced your judgment?", "", ""),
    (
        "interface",
        "text",
        EVERYONE,
        "Anything about the interface that helped or got in the way?",
        "",
        "",
    ),
    (
        "protocol",
        "text",
        EVERYONE,
        "Anything about the rules of the session you would change?",
        "",
        "",
    ),
    ("other", "text", EVERYONE, "Anything else?", "", ""),
]


CATEGORIES = [
    ("bad question", "The question or its answers are flawed: ambiguous, or both defensible."),
    ("judge inattentiveness", "The judge missed or forgot something said in the session."),
    ("misled by intuition", "The judge followed a prior belief over the evidence shown."),
    ("judge ended too early", "The judge stopped before the decisive evidence could come."),
    ("judge misinterpreted question", "The judge read the question differently than intended."),
    ("overweights honest debater style", "The judge held the honest side's manner against it."),
    ("last-minute swing", "A late speech flipped the judge without a chance to answer it."),
    ("judge bias/pathos", "Sympathy, tone or rhetoric moved the judge more than evidence."),
    ("cannot extract key evidence", "The honest side could not find or fit the decisive quote."),
    ("suboptimal honest evidence use", "The honest side had the evidence but used it poorly."),
    ("honest debater lies", "The honest side made a false claim and was caught."),
    ("debate is confusing", "The exchange was too tangled for the judge to follow."),
    ("lack of clash", "The debaters talked past each other instead of engaging."),
    ("focuses on semantics", "The session turned on wording rather than the story's facts."),
    ("correct answer is implicit", "The story implies the answer without stating it."),
]


def survey_questions_create(model: Any) -> None:
    """Create or update the paper's survey questions (``model``: SurveyQuestion, or its
    historical version in a migration)."""
    for position, (key, kind, roles, text, low, high) in enumerate(QUESTIONS):
        model.objects.update_or_create(
            key=key,
            defaults={
                "kind": kind,
                "roles": roles,
                "text": text,
                "low_label": low,
                "high_label": high,
                "required": key == "reason for outcome",
                "position": position,
            },
        )


def error_categories_create(model: Any) -> None:
    for position, (name, description) in enumerate(CATEGORIES):
        model.objects.update_or_create(
            name=name, defaults={"description": description, "position": position}
        )


def survey_questions_ensure() -> None:
    from judging.models import SurveyQuestion

    if not SurveyQuestion.objects.exists():
        survey_questions_create(SurveyQuestion)


def error_categories_ensure() -> None:
    from judging.models import ErrorCategory

    if not ErrorCategory.objects.exists():
        error_categories_create(ErrorCategory)
