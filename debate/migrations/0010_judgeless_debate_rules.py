"""The judgeless debate the NYU platform ran, so every database can run one: simultaneous
openings, then sequential A-B rounds, both debaters voting on ending after each round of
speeches; judged offline afterwards."""

from django.db import migrations

RULES = {
    "name": "judgeless-debate",
    "description": "A debate with no live judge: after each round of speeches both debaters vote "
    "on ending it; it ends when both vote to end and is judged offline.",
    "structure": {
        "opening": [
            {"kind": "simultaneous", "char_limit": 750, "quote_limit": 250},
            {"kind": "negotiate_end"},
        ],
        "repeating": [
            {"kind": "sequential", "char_limit": 750, "quote_limit": 250},
            {"kind": "negotiate_end"},
        ],
        "closing": None,
    },
    "scoring": {
        "kind": "log",
        "log_base": 2.0,
        "coefficient": 1.0,
        "constant": 0.0,
        "per_turn_penalty": 0.05,
    },
}


def create_rules(apps, schema_editor):
    Rules = apps.get_model("debate", "Rules")
    Rules.objects.get_or_create(name=RULES["name"], defaults=RULES)


def remove_rules(apps, schema_editor):
    Rules = apps.get_model("debate", "Rules")
    Rules.objects.filter(name=RULES["name"], sessions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("debate", "0009_quote_token_spans_and_scratchpad_notes")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
