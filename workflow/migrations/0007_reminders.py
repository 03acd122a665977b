# Patient reminders as rows with a due time, swept by beat (SPEC §5, §11).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0006_signature_pdf'),
    ]

    operations = [
        migrations.CreateModel(
            name='Reminder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('quote_expiring', 'Quote expiring'), ('consent_reminder', 'Consent form still unsigned')], max_length=20)),
                ('admission_date', models.DateField(blank=True, null=True)),
                ('due_at', models.DateTimeField()),
                ('created_at', models.DateTimeField()),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('cancel_reason', models.CharField(blank=True, max_length=40)),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='workflow.application')),
                ('quote', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='workflow.quote')),
            ],
            options={
                'ordering': ['due_at', 'id'],
                'indexes': [models.Index(condition=models.Q(('cancelled_at__isnull', True), ('sent_at__isnull', True)), fields=['due_at'], name='pending_reminders_by_due')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('admission_date__isnull', True), ('kind', 'quote_expiring'), ('quote__isnull', False)), models.Q(('admission_date__isnull', False), ('kind', 'consent_reminder'), ('quote__isnull', True)), _connector='OR'), name='reminder_names_what_it_is_for'), models.CheckConstraint(condition=models.Q(('sent_at__isnull', True), ('cancelled_at__isnull', True), _connector='OR'), name='reminder_sent_or_cancelled_not_both'), models.UniqueConstraint(condition=models.Q(('kind', 'quote_expiring')), fields=('quote',), name='one_expiry_reminder_per_quote'), models.UniqueConstraint(condition=models.Q(('kind', 'consent_reminder')), fields=('application', 'admission_date'), name='one_consent_reminder_per_date')],
            },
        ),
    ]
