"""The paper's two rule sets, so every new database can run a debate and a consultancy."""

from django.db import migrations

JUDGE = {"kind": "judge", "char_limit": 750}
PAPER_SCORING = {
    "kind": "log",
    "log_base": 2.0,
    "coefficient": 1.0,
    "constant": 0.0,
    "per_turn_penalty": 0.05,
}
RULES = [
    {
        "name": "paper-debate",
        "description": "Michael et al. 2023: prior, simultaneous openings, then sequential A-B "
        "rounds with a judge turn after each. 750 characters per speech, 250 quoted.",
        "structure": {
            "opening": [
                JUDGE,
                {"kind": "simultaneous", "char_limit": 750, "quote_limit": 250},
                JUDGE,
            ],
            "repeating": [{"kind": "sequential", "char_limit": 750, "quote_limit": 250}, JUDGE],
            "closing": None,
        },
        "scoring": PAPER_SCORING,
    },
    {
        "name": "paper-consultancy",
        "description": "Michael et al. 2023: prior, then consultant speech and judge turn until "
        "the judge ends. 1500 characters per speech, 500 quoted.",
        "structure": {
            "opening": [JUDGE],
            "repeating": [{"kind": "sequential", "char_limit": 1500, "quote_limit": 500}, JUDGE],
            "closing": None,
        },
        "scoring": PAPER_SCORING,
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
    dependencies = [("debate", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
