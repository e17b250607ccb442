"""The feedback survey of the paper (Michael et al. 2023, appendix F), in our own words. Keys are
the dataset's, so imported answers line up with the questions; staff may edit the texts."""

from django.db import migrations

J, D, O = "judge", "debater", "offline_judge"
JUDGES = [J, O]
EVERYONE = [J, D, O]

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
        [D],
        "Before seeing the result, how sure were you that your assigned answer was correct?",
        "sure it was wrong",
        "sure it was right",
    ),
    (
        "evidence in story",
        "comparative",
        [D],
        "How strong was the evidence for each answer in the story itself?",
        "none",
        "decisive",
    ),
    (
        "evidence use",
        "comparative",
        [D],
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
        [D],
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


def create(apps, schema_editor):
    SurveyQuestion = apps.get_model("judging", "SurveyQuestion")
    for position, (key, kind, roles, text, low, high) in enumerate(QUESTIONS):
        SurveyQuestion.objects.update_or_create(
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


def remove(apps, schema_editor):
    apps.get_model("judging", "SurveyQuestion").objects.filter(
        key__in=[q[0] for q in QUESTIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("judging", "0002_surveys")]
    operations = [migrations.RunPython(create, remove)]
