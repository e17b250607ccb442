"""The baselines of Khan et al. (2024), so every database can run them: a judge alone, with no
speeches, whose first judgment is final; blind (the question and answers only) or oracle (it
reads the story too). The analysis' names for these settings are another engineer's."""

from django.db import migrations

SCORING = {
    "kind": "log",
    "log_base": 2.0,
    "coefficient": 1.0,
    "constant": 0.0,
    "per_turn_penalty": 0.05,
}
JUDGE_ONLY = {"opening": [{"kind": "judge", "char_limit": 750}], "repeating": [], "closing": None}
RULES = [
    {
        "name": "blind-judge",
        "description": "A baseline with no speeches: the judge sees only the question and answers "
        "and gives one final judgment (Khan et al. 2024).",
        "structure": JUDGE_ONLY,
        "scoring": SCORING,
    },
    {
        "name": "oracle-judge",
        "description": "A baseline with no speeches: the judge reads the story and gives one "
        "final judgment (Khan et al. 2024).",
        "structure": {**JUDGE_ONLY, "judge_reads_passage": True},
        "scoring": SCORING,
    },
]


def create_rules(apps, schema_editor):
    Rules = apps.get_model("debate", "Rules")
    for rules in RULES:
        Rules.objects.get_or_create(name=rules["name"], defaults=rules)


def remove_rules(apps, schema_editor):
    Rules = apps.get_model("debate", "Rules")
    Rules.objects.filter(name__in=[r["name"] for r in RULES], sessions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("debate", "0014_session_void")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
