"""The Judgment model leaves for the protocol app (debate 0017 takes it with its rows): only the
state is removed here; the table stays for debate to rename."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("judging", "0007_judgment_questions")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Judgment")],
            database_operations=[],
        )
    ]
