"""The paper's error taxonomy (Table 2): judging/defaults.py holds the categories."""

from django.db import migrations

from judging.defaults import CATEGORIES, error_categories_create


def create(apps, schema_editor):
    error_categories_create(apps.get_model("judging", "ErrorCategory"))


def remove(apps, schema_editor):
    apps.get_model("judging", "ErrorCategory").objects.filter(
        name__in=[name for name, _ in CATEGORIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("judging", "0004_error_categories")]
    operations = [migrations.RunPython(create, remove)]
