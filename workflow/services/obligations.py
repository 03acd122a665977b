"""Reply obligations (SPEC §4): opened when the patient waits for us, satisfied by our reply.

Only `workflow.services.replies.answer_patient` satisfies an obligation, together with the email.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from offices.models import Office
from offices.promise import reply_deadlines
from workflow.models import Application, Message, ReplyObligation

OPEN = Q(satisfied_at__isnull=True, closed_at__isnull=True)


def open_obligation(
    application: Application, *, received_at: datetime, message: Message | None = None
) -> ReplyObligation | None:
    """Open an obligation from `received_at` unless one is already open (the patient is already waiting)."""
    if application.is_terminal:
        return None
    if application.obligations.filter(OPEN).exists():
        return None
    # Share-lock the office against a concurrent calendar change (workflow.services.calendars): it
    # would not see this obligation yet, so the deadline must come from the calendar it leaves.
    office = Office.objects.select_for_update(no_key=True).prefetch_related("overrides").get(pk=application.office_id)
    deadlines = reply_deadlines(office, received_at)
    obligation = ReplyObligation.objects.create(
        application=application,
        calendar_office=office,
        opened_at=received_at,
        warn_at=deadlines.warn_at,
        due_at=deadlines.due_at,
        opened_by=message,
    )
    _set_reply_due(application, deadlines.due_at, deadlines.warn_at)
    return obligation


def satisfy_obligation(
    application: Application, *, at: datetime, message: Message | None = None, action: str = ""
) -> int:
    count = application.obligations.filter(OPEN).update(
        satisfied_at=at, satisfied_by=message, satisfied_by_action=action
    )
    _set_reply_due(application, None, None)
    return count


def close_obligations(application: Application, *, at: datetime) -> int:
    count = application.obligations.filter(OPEN).update(closed_at=at)
    _set_reply_due(application, None, None)
    return count


def _set_reply_due(application: Application, due: datetime | None, warn: datetime | None) -> None:
    if (application.reply_due_at, application.reply_warn_at) != (due, warn):
        application.reply_due_at, application.reply_warn_at = due, warn
        Application.objects.filter(pk=application.pk).update(reply_due_at=due, reply_warn_at=warn)


def recompute_open_obligations(office: Office, *, now: datetime) -> int:
    """After the office's calendar changed: recompute the deadlines that run on it from their start (SPEC §2).

    Locks the applications first, then their obligations, each in id order: the order a transition
    takes (application row, then its obligation), so a concurrent transition waits or goes first and
    neither deadlocks. A warning or breach whose new instant lies in the future again is cleared, so
    that the queue, the sweep and the report agree; the sweep then alerts again when it comes.
    Returns how many obligations moved.
    """
    office = Office.objects.prefetch_related("overrides").get(pk=office.pk)
    calendar = office.calendar()
    open_here = ReplyObligation.objects.filter(OPEN, calendar_office=office)
    list(
        Application.objects.filter(pk__in=open_here.values("application_id"))
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = 0
    for obligation in open_here.select_for_update(of=("self",)).select_related("application").order_by("pk"):
        new = reply_deadlines(office, obligation.opened_at, calendar)
        if (new.warn_at, new.due_at) == (obligation.warn_at, obligation.due_at):
            continue
        changes: dict[str, datetime | None] = {"warn_at": new.warn_at, "due_at": new.due_at}
        if obligation.warned_at is not None and new.warn_at > now:
            changes["warned_at"] = None
        if obligation.breached_at is not None and new.due_at > now:
            changes["breached_at"] = None
        ReplyObligation.objects.filter(pk=obligation.pk).update(**changes)
        _set_reply_due(obligation.application, new.due_at, new.warn_at)
        count += 1
    return count
