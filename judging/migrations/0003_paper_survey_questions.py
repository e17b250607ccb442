"""The feedback survey of the paper (appendix F): judging/defaults.py holds the questions."""

from django.db import migrations

from judging.defaults import QUESTIONS, survey_questions_create


def create(apps, schema_editor):
    survey_questions_create(apps.get_model("judging", "SurveyQuestion"))


def remove(apps, schema_editor):
    apps.get_model("judging", "SurveyQuestion").objects.filter(
        key__in=[q[0] for q in QUESTIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("judging", "0002_surveys")]
    operations = [migrations.RunPython(create, remove)]
