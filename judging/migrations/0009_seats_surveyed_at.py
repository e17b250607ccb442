"""Each seat whose survey is in gets the time it was submitted (debate 0017's Seat.surveyed_at),
the fact the protocol reads for who may see whose names."""

from django.db import migrations


def surveyed_at_fill(apps, schema_editor):
    Seat = apps.get_model("debate", "Seat")
    SurveyResponse = apps.get_model("judging", "SurveyResponse")
    for seat_id, submitted_at in SurveyResponse.objects.values_list("seat_id", "submitted_at"):
        Seat.objects.filter(pk=seat_id).update(surveyed_at=submitted_at)


class Migration(migrations.Migration):
    dependencies = [
        ("judging", "0008_judgment_leaves_for_debate"),
        ("debate", "0017_judgment_moves_here_seat_surveyed_at"),
    ]

    operations = [migrations.RunPython(surveyed_at_fill, migrations.RunPython.noop)]
