# Aftercare (SPEC §5): monitoring checks, follow-up reviews, questionnaire answers and the auto-start column.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('offices', '0004_office_address'),
        ('workflow', '0007_reminders'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FollowUpReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('months', models.PositiveSmallIntegerField(choices=[(1, '1 months'), (3, '3 months'), (6, '6 months'), (12, '12 months'), (24, '24 months')])),
                ('due_date', models.DateField()),
                ('window_opens', models.DateField()),
                ('window_closes', models.DateField()),
                ('invite_at', models.DateTimeField()),
                ('invited_at', models.DateTimeField(blank=True, null=True)),
                ('remind_at', models.DateTimeField()),
                ('reminded_at', models.DateTimeField(blank=True, null=True)),
                ('overdue_at', models.DateTimeField()),
                ('overdue_alerted_at', models.DateTimeField(blank=True, null=True)),
                ('closes_at', models.DateTimeField()),
                ('missed_at', models.DateTimeField(blank=True, null=True)),
                ('answered_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['application', 'months'],
            },
        ),
        migrations.CreateModel(
            name='MonitoringCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hours_after', models.PositiveSmallIntegerField(choices=[(24, '24 h'), (48, '48 h')])),
                ('due_at', models.DateTimeField()),
                ('alerted_at', models.DateTimeField(blank=True, null=True)),
                ('outcome', models.CharField(blank=True, choices=[('well', 'Well'), ('concern', 'Concern')], max_length=8)),
                ('note', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['application', 'hours_after'],
            },
        ),
        migrations.CreateModel(
            name='QuestionnaireAnswer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveSmallIntegerField()),
                ('overall_change', models.SmallIntegerField(choices=[(-3, 'Very much worse'), (-2, 'Much worse'), (-1, 'A little worse'), (0, 'No change'), (1, 'A little better'), (2, 'Much better'), (3, 'Very much better')])),
                ('fatigue', models.PositiveSmallIntegerField()),
                ('joint_pain', models.PositiveSmallIntegerField()),
                ('flares', models.PositiveSmallIntegerField()),
                ('current_medications', models.TextField(blank=True)),
                ('comments', models.TextField(blank=True)),
                ('channel', models.CharField(choices=[('portal', 'Portal'), ('phone', 'Phone')], max_length=8)),
                ('submitted_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['review', 'version'],
            },
        ),
        migrations.AddField(
            model_name='application',
            name='follow_up_due_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='application',
            index=models.Index(condition=models.Q(('follow_up_due_at__isnull', False), ('state', 'discharged')), fields=['follow_up_due_at'], name='follow_up_to_start'),
        ),
        migrations.AddField(
            model_name='followupreview',
            name='application',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='workflow.application'),
        ),
        migrations.AddField(
            model_name='monitoringcheck',
            name='application',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='monitoring_checks', to='workflow.application'),
        ),
        migrations.AddField(
            model_name='monitoringcheck',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='questionnaireanswer',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='questionnaireanswer',
            name='review',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='answers', to='workflow.followupreview'),
        ),
        migrations.AddIndex(
            model_name='followupreview',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('invited_at__isnull', True), ('missed_at__isnull', True)), fields=['invite_at'], name='reviews_to_invite'),
        ),
        migrations.AddIndex(
            model_name='followupreview',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('missed_at__isnull', True), ('reminded_at__isnull', True)), fields=['remind_at'], name='reviews_to_remind'),
        ),
        migrations.AddIndex(
            model_name='followupreview',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('missed_at__isnull', True), ('overdue_alerted_at__isnull', True)), fields=['overdue_at'], name='reviews_to_alert_overdue'),
        ),
        migrations.AddIndex(
            model_name='followupreview',
            index=models.Index(condition=models.Q(('answered_at__isnull', True), ('missed_at__isnull', True)), fields=['closes_at'], name='reviews_to_close'),
        ),
        migrations.AddConstraint(
            model_name='followupreview',
            constraint=models.UniqueConstraint(fields=('application', 'months'), name='one_review_per_point'),
        ),
        migrations.AddConstraint(
            model_name='followupreview',
            constraint=models.CheckConstraint(condition=models.Q(('answered_at__isnull', True), ('missed_at__isnull', True), _connector='OR'), name='review_answered_or_missed_not_both'),
        ),
        migrations.AddIndex(
            model_name='monitoringcheck',
            index=models.Index(condition=models.Q(('alerted_at__isnull', True), ('recorded_at__isnull', True)), fields=['due_at'], name='monitoring_checks_to_alert'),
        ),
        migrations.AddConstraint(
            model_name='monitoringcheck',
            constraint=models.UniqueConstraint(fields=('application', 'hours_after'), name='one_monitoring_check_per_hour'),
        ),
        migrations.AddConstraint(
            model_name='monitoringcheck',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('outcome', ''), ('recorded_at__isnull', True)), models.Q(('outcome__in', ['well', 'concern']), ('recorded_at__isnull', False)), _connector='OR'), name='monitoring_outcome_with_its_time'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireanswer',
            constraint=models.UniqueConstraint(fields=('review', 'version'), name='one_answer_per_version'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireanswer',
            constraint=models.CheckConstraint(condition=models.Q(('version__gte', 1)), name='answer_version_from_one'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireanswer',
            constraint=models.CheckConstraint(condition=models.Q(('overall_change__gte', -3), ('overall_change__lte', 3)), name='overall_change_on_scale'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireanswer',
            constraint=models.CheckConstraint(condition=models.Q(('fatigue__lte', 10)), name='fatigue_on_scale'),
        ),
        migrations.AddConstraint(
            model_name='questionnaireanswer',
            constraint=models.CheckConstraint(condition=models.Q(('joint_pain__lte', 10)), name='joint_pain_on_scale'),
        ),
    ]
