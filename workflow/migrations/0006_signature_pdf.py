# The signed consent, frozen as a PDF of exactly what the patient signed (SPEC §5).

from django.db import migrations, models

import workflow.uploads


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0005_portal_link'),
    ]

    operations = [
        migrations.AddField(
            model_name='consentsignature',
            name='pdf',
            field=models.FileField(blank=True, editable=False, upload_to=workflow.uploads.upload_to),
        ),
    ]
