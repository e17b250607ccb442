"""The paper's error taxonomy (Michael et al. 2023, Table 2), described in our own words."""

from django.db import migrations

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


def create(apps, schema_editor):
    ErrorCategory = apps.get_model("judging", "ErrorCategory")
    for position, (name, description) in enumerate(CATEGORIES):
        ErrorCategory.objects.update_or_create(
            name=name, defaults={"description": description, "position": position}
        )


def remove(apps, schema_editor):
    apps.get_model("judging", "ErrorCategory").objects.filter(
        name__in=[name for name, _ in CATEGORIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("judging", "0004_error_categories")]
    operations = [migrations.RunPython(create, remove)]
