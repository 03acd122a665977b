"""Reply obligations (SPEC §4): opened when the patient waits for us, satisfied by our reply."""

from __future__ import annotations

from datetime import datetime

from workflow import sla
from workflow.models import Application, Message, ReplyObligation


def open_obligation(
    application: Application, *, received_at: datetime, message: Message | None = None
) -> ReplyObligation | None:
    """Open an obligation from `received_at` unless one is already open (the patient is already waiting)."""
    if application.is_terminal:
        return None
    current = application.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True).first()
    if current is not None:
        return None
    office = application.office
    warn, due = sla.deadlines(office, office.calendar(), received_at)
    obligation = ReplyObligation.objects.create(
        application=application, opened_at=received_at, warn_at=warn, due_at=due, opened_by=message
    )
    _set_reply_due(application, due, warn)
    return obligation


def satisfy_obligation(
    application: Application, *, at: datetime, message: Message | None = None, action: str = ""
) -> int:
    count = application.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True).update(
        satisfied_at=at, satisfied_by=message, satisfied_by_action=action
    )
    _set_reply_due(application, None, None)
    return count


def close_obligations(application: Application, *, at: datetime) -> int:
    count = application.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True).update(closed_at=at)
    _set_reply_due(application, None, None)
    return count


def _set_reply_due(application: Application, due: datetime | None, warn: datetime | None) -> None:
    if (application.reply_due_at, application.reply_warn_at) != (due, warn):
        application.reply_due_at, application.reply_warn_at = due, warn
        Application.objects.filter(pk=application.pk).update(reply_due_at=due, reply_warn_at=warn)


def recompute_open_obligations(office_id: int) -> int:
    """After the office's calendar changed: recompute its open deadlines from their start (SPEC §2)."""
    from offices.models import Office

    office = Office.objects.prefetch_related("overrides").get(pk=office_id)
    calendar = office.calendar()
    count = 0
    open_obligations = ReplyObligation.objects.select_for_update().filter(
        application__office_id=office_id, satisfied_at__isnull=True, closed_at__isnull=True
    )
    for obligation in open_obligations.select_related("application"):
        warn, due = sla.deadlines(office, calendar, obligation.opened_at)
        if (warn, due) != (obligation.warn_at, obligation.due_at):
            ReplyObligation.objects.filter(pk=obligation.pk).update(warn_at=warn, due_at=due)
            _set_reply_due(obligation.application, due, warn)
            count += 1
    return count
