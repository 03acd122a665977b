"""Each notification names its event: a link to the history row and an event key column."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps: Any, schema_editor: Any) -> None:
    """Rows written before this migration carry their event only inside `dedup_key` (kind:event:recipient)."""
    Notification = apps.get_model("notifications", "Notification")
    TransitionLog = apps.get_model("workflow", "TransitionLog")
    for notification in Notification.objects.iterator():
        event = notification.dedup_key.split(":")[1] if notification.dedup_key.count(":") >= 2 else ""
        history_id = None
        if event.startswith("history-") and event[8:].isdigit():
            history_id = int(event[8:])
        elif event.startswith("application-") and notification.application_id:
            history_id = (
                TransitionLog.objects.filter(application_id=notification.application_id, action="submit")
                .values_list("pk", flat=True)
                .first()
            )
        elif event.startswith("message-") and event[8:].isdigit():
            history_id = (
                TransitionLog.objects.filter(
                    application_id=notification.application_id, action="message_reply", params__message=int(event[8:])
                )
                .values_list("pk", flat=True)
                .first()
            )
        notification.event_key = event[:100]
        notification.history_id = history_id
        notification.save(update_fields=["event_key", "history"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("workflow", "0004_obligation_calendar_office"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="history",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="notifications",
                to="workflow.transitionlog",
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="event_key",
            field=models.CharField(default="", max_length=100),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
