"""The judge's moves become the protocol app's: the Judgment model moves here from the judging app
(its rows kept: the state moves, and the table is renamed from judging_judgment). And a seat
records when its feedback survey was submitted (filled in from the surveys by judging 0009)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('debate', '0016_seat_answer_chosen_open_rules'),
        ('judging', '0008_judgment_leaves_for_debate'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='seat',
            name='surveyed_at',
            field=models.DateTimeField(blank=True, help_text="When this seat's holder submitted its feedback survey after the session.", null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.CreateModel(
            name='Judgment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('live', 'live'), ('offline', 'offline')], default='live', max_length=10)),
                ('step', models.PositiveSmallIntegerField(blank=True, help_text='Offline judgments only: 0 for the first, 1 for the next, ...', null=True)),
                ('probabilities', models.JSONField(help_text='One probability per shown answer, in shown order.')),
                ('text', models.TextField(blank=True, default='')),
                ('questions', models.JSONField(blank=True, default=dict, help_text="Rules with judge questions on: the live judge's question to each expert, {role: text}, answered in that expert's next speech.")),
                ('end', models.BooleanField(default=False, help_text='The judge chose to end here.')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('author', models.ForeignKey(blank=True, help_text="The person who judged (the seat's holder then); empty for an agent.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('round', models.ForeignKey(help_text='The judge round of a live judgment; for an offline one, the last round read.', on_delete=django.db.models.deletion.CASCADE, related_name='judgments', to='debate.round')),
                ('seat', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='judgments', to='debate.seat')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='judgments', to='debate.session')),
            ],
            options={
                'ordering': ['session', 'round__index', 'id'],
                'db_table': 'judging_judgment',
                'constraints': [models.UniqueConstraint(condition=models.Q(('kind', 'live')), fields=('round', 'seat'), name='judgment_unique_seat_round'), models.UniqueConstraint(condition=models.Q(('kind', 'offline')), fields=('seat', 'step'), name='judgment_unique_offline_step'), models.UniqueConstraint(condition=models.Q(('end', True)), fields=('seat',), name='judgment_one_final_per_judge')],
            },
            )],
            database_operations=[],  # the table is there, under the judging app's name
        ),
        migrations.AlterModelTable(name='judgment', table=None),  # judging_judgment -> debate_judgment
    ]
