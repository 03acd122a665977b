# Data protection (SPEC §11): when the patient's personal data was erased.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0008_aftercare'),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='erased_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
