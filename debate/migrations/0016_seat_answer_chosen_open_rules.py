"""Open consultancy and open debate (Kenton et al. 2024; Arnesen et al. 2024): the expert chooses
the answer it argues before round 1. The chooser's seat records when it chose (its move in the
history); the two built-in rule sets are created so every database can run them."""

from django.db import migrations, models

SCORING = {
    "kind": "log",
    "log_base": 2.0,
    "coefficient": 1.0,
    "constant": 0.0,
    "per_turn_penalty": 0.05,
}
JUDGE = {"kind": "judge", "char_limit": 750}
RULES = [
    {
        "name": "open-consultancy",
        "description": "The paper's consultancy rules, except that the consultant chooses the "
        "answer it argues after reading the story (Kenton et al. 2024).",
        "structure": {
            "opening": [JUDGE],
            "repeating": [{"kind": "sequential", "char_limit": 1500, "quote_limit": 500}, JUDGE],
            "closing": None,
            "open_choice": True,
        },
        "scoring": SCORING,
    },
    {
        "name": "open-debate",
        "description": "The paper's debate rules, except that debater A chooses the answer it "
        "argues after reading the story (Kenton et al. 2024).",
        "structure": {
            "opening": [
                JUDGE,
                {"kind": "simultaneous", "char_limit": 750, "quote_limit": 250},
                JUDGE,
            ],
            "repeating": [{"kind": "sequential", "char_limit": 750, "quote_limit": 250}, JUDGE],
            "closing": None,
            "open_choice": True,
        },
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
    dependencies = [("debate", "0015_judge_baseline_rules")]

    operations = [
        migrations.AddField(
            model_name="seat",
            name="answer_chosen_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Open consultancy or debate: when this seat chose the answer it argues.",
                null=True,
            ),
        ),
        migrations.RunPython(create_rules, remove_rules),
    ]
