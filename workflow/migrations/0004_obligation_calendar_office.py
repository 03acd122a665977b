"""Store which office's calendar each reply obligation runs on (SPEC §4: a transfer keeps the deadline)."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps: Any, schema_editor: Any) -> None:
    """The office that handled the application when the obligation opened.

    That is the `from` office of the first transfer after the opening, or the current office when the
    application has not moved since.
    """
    ReplyObligation = apps.get_model("workflow", "ReplyObligation")
    TransitionLog = apps.get_model("workflow", "TransitionLog")
    Office = apps.get_model("offices", "Office")
    office_ids = dict(Office.objects.values_list("code", "pk"))
    for obligation in ReplyObligation.objects.select_related("application").iterator():
        transfer = (
            TransitionLog.objects.filter(
                application_id=obligation.application_id, action="transfer", at__gte=obligation.opened_at
            )
            .order_by("at", "id")
            .first()
        )
        source = office_ids.get(transfer.params.get("from")) if transfer is not None else None
        obligation.calendar_office_id = source or obligation.application.office_id
        obligation.save(update_fields=["calendar_office"])


class Migration(migrations.Migration):
    dependencies = [
        ("offices", "0003_calendar_change"),
        ("workflow", "0003_sla_sweep_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="replyobligation",
            name="calendar_office",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="offices.office",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="replyobligation",
            name="calendar_office",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="offices.office",
            ),
        ),
    ]
