"""Each seat whose survey is in gets the time it was submitted (debate 0017's Seat.surveyed_at),
the fact the protocol reads for who may see whose names."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def surveyed_at_fill(apps, schema_editor):
    """One statement for every surveyed seat."""
    Seat = apps.get_model("debate", "Seat")
    SurveyResponse = apps.get_model("judging", "SurveyResponse")
    submitted = SurveyResponse.objects.filter(seat_id=OuterRef("pk")).values("submitted_at")[:1]
    Seat.objects.filter(survey__isnull=False).update(surveyed_at=Subquery(submitted))


class Migration(migrations.Migration):
    dependencies = [
        ("judging", "0008_judgment_leaves_for_debate"),
        ("debate", "0017_judgment_moves_here_seat_surveyed_at"),
    ]

    operations = [migrations.RunPython(surveyed_at_fill, migrations.RunPython.noop)]
