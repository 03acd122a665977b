"""The workflow events that notify someone, each one line over `notify_patient` / `notify_staff`.

Called by the workflow services inside their transaction, so the outbox rows commit with the
event or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import formats, translation

from notifications.services import notify_patient, notify_staff
from offices.selectors import office_staff

if TYPE_CHECKING:
    from workflow.models import Application, Message

# Transition name -> the patient's notification kind.
TRANSITION_KINDS = {
    "approve_review": "review_approved",
    "decline": "declined",
    "send_quote": "quote_sent",
    "revise_quote": "quote_revised",
    "withdraw": "withdrawn",
}


def local_time(application: Application, moment: datetime | None, language: str) -> str:
    """A deadline in the office's time with its zone named, in the reader's language."""
    if moment is None:
        return ""
    office = application.office
    with translation.override(language):
        return f"{formats.date_format(moment.astimezone(office.tz), 'l, j F Y, H:i')} ({office.timezone})"


def application_received(application: Application, *, now: datetime) -> None:
    key = f"application-{application.pk}"
    notify_patient(
        kind="intake_acknowledgement",
        application=application,
        event_key=key,
        context={"reply_by": local_time(application, application.reply_due_at, application.preferred_language)},
        now=now,
    )
    staff_context = {"reply_by": local_time(application, application.reply_due_at, "en")}
    notify_staff(
        kind="new_application",
        application=application,
        users=office_staff(application.office_id, "coordinator"),
        event_key=key,
        context=staff_context,
        now=now,
    )
    notify_staff(
        kind="review_requested",
        application=application,
        users=office_staff(application.office_id, "physician"),
        event_key=key,
        context=staff_context,
        now=now,
    )


def message_sent(message: Message, *, now: datetime) -> None:
    notify_patient(
        kind="outbound_message",
        application=message.application,
        event_key=f"message-{message.pk}",
        context={"message": message},
        now=now,
    )


def transition_done(application: Application, *, name: str, history_id: int, now: datetime) -> None:
    kind = TRANSITION_KINDS.get(name)
    if kind is None:
        return
    quote = application.quotes.filter(superseded_at__isnull=True).first()
    notify_patient(
        kind=kind, application=application, event_key=f"history-{history_id}", context={"quote": quote}, now=now
    )
