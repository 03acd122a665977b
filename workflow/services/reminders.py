"""Patient reminders (SPEC §5): the quote about to expire, the consent still unsigned before admission.

Each is a `Reminder` row with its due instant, planned by the step that makes it needed (a quote
sent or revised, an admission date scheduled) and swept by beat through `config.scheduling` (§11: no
countdown task). The steps that make one moot cancel it where they happen (a quote superseded or
accepted, an admission moved, the application leaving `quoted`); the sweep still re-checks each row
on the locked application before it writes, so a reminder goes only if it is still true then.
Reminders are not answers: they satisfy no reply obligation.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from notifications import events
from notifications.services import write_many
from offices.models import Office
from workflow.models import Application, Quote, Reminder, State
from workflow.models.consent import ConsentDocument, ConsentSignature
from workflow.services.common import SWEEP_BATCH_SIZE, sweep_batch_size

Kind = Reminder.Kind

# SPEC §5: three days before the quote expires, three days before admission.
LEAD = timedelta(days=3)
# At a civil hour of the office's day: a reminder at midnight UTC would reach Delhi at 05:30.
LOCAL_HOUR = time(9, 0)
# A reminder that would come less than a day after the email it follows would only repeat it.
MIN_GAP = timedelta(days=1)
PENDING = Q(sent_at__isnull=True, cancelled_at__isnull=True)

# The default batch (settings.SWEEP_BATCH_SIZE sets it).
BATCH_SIZE = SWEEP_BATCH_SIZE


def due_instant(office: Office, day: date) -> datetime:
    """09:00 in the office's zone, `LEAD` before `day` (an expiry date, an admission date)."""
    return datetime.combine(day - LEAD, LOCAL_HOUR, tzinfo=office.tz)


def _worth_planning(due: datetime, now: datetime) -> bool:
    return due >= now + MIN_GAP


def cancel_reminders(application: Application, *, at: datetime, reason: str, kind: str | None = None) -> int:
    """Cancel the application's pending reminders (of one kind, or all), saying why."""
    pending = Reminder.objects.filter(PENDING, application=application)
    if kind is not None:
        pending = pending.filter(kind=kind)
    return pending.update(cancelled_at=at, cancel_reason=reason[:40])


def plan_quote_expiry(application: Application, quote: Quote, *, now: datetime) -> Reminder | None:
    """The reminder 3 days before the quote's last valid day, once per quote. Call with the application locked."""
    due = due_instant(application.office, quote.valid_until)
    if not _worth_planning(due, now):
        return None
    reminder, _ = Reminder.objects.get_or_create(
        kind=Kind.QUOTE_EXPIRING,
        quote=quote,
        defaults={"application": application, "due_at": due, "created_at": now},
    )
    return reminder


def plan_consent_reminder(application: Application, *, now: datetime) -> Reminder | None:
    """The reminder 3 days before the scheduled admission date; a reschedule moves it.

    Once per date: a pending reminder for another date is cancelled, and going back to a date whose
    reminder was already sent plans nothing new. Call with the application locked.
    """
    scheduled = application.admission_date
    moved = Reminder.objects.filter(PENDING, application=application, kind=Kind.CONSENT_REMINDER)
    if scheduled is not None:
        moved = moved.exclude(admission_date=scheduled)
    moved.update(cancelled_at=now, cancel_reason="admission rescheduled")
    if scheduled is None:
        return None
    due = due_instant(application.office, scheduled)
    if not _worth_planning(due, now):
        return None
    reminder, created = Reminder.objects.get_or_create(
        kind=Kind.CONSENT_REMINDER,
        application=application,
        admission_date=scheduled,
        defaults={"due_at": due, "created_at": now},
    )
    if not created and reminder.sent_at is None and reminder.cancelled_at is not None:
        # Back to a date planned once before: its reminder never went, so it is due again.
        reminder.cancelled_at, reminder.cancel_reason, reminder.due_at = None, "", due
        reminder.save(update_fields=["cancelled_at", "cancel_reason", "due_at"])
    return reminder


def _consented(batch: list[Reminder]) -> set[int]:
    """Of the batch's applications, those with an unwithdrawn signature of the current consent: one query."""
    current = ConsentDocument.objects.aggregate(v=Max("version"))["v"]
    return set(
        ConsentSignature.objects.filter(
            application_id__in={r.application_id for r in batch}, document_version=current, withdrawn_at__isnull=True
        ).values_list("application_id", flat=True)
    )


def _moot(reminder: Reminder, now: datetime, consented: set[int]) -> str | None:
    """Why the reminder must not go now (its application is locked), or None when it still applies."""
    application = reminder.application
    if application.state != State.QUOTED:
        return f"application {application.state}"
    today = timezone.localdate(now, application.office.tz)
    if reminder.kind == Kind.QUOTE_EXPIRING:
        quote = reminder.quote
        assert quote is not None  # noqa: S101 - a check constraint guarantees it
        if quote.superseded_at is not None:
            return "quote superseded"
        if quote.accepted_at is not None:
            return "quote accepted"
        if quote.expired(today):
            return "quote expired"
        return None
    assert reminder.admission_date is not None  # noqa: S101 - a check constraint guarantees it
    if application.admission_date != reminder.admission_date:
        return "admission rescheduled"
    if reminder.admission_date < today:
        return "admission date passed"
    if application.pk in consented:  # has_valid_consent, read for the whole batch
        return "consent signed"
    return None


def _email(reminder: Reminder) -> events.PatientItem:
    application = reminder.application
    if reminder.kind == Kind.QUOTE_EXPIRING:
        context = events.quote_expiring_context(application, reminder.quote)
        return application, "quote_expiring", reminder.event_key, context
    return application, "consent_reminder", reminder.event_key, events.consent_reminder_context(application)


def reminder_sweep(now: datetime) -> dict[str, int]:
    """Send every pending reminder due by `now` that still applies, each once; cancel the rest.

    Beat and `run_scheduled` may overlap: rows are claimed with SKIP LOCKED together with their
    application's row, so a sweep never sends what another sweep holds, never waits for a
    transition in progress (that reminder is taken at the next sweep), and re-checks each reminder
    against an application no one can change meanwhile.
    """
    sent = cancelled = 0
    while True:
        with transaction.atomic():
            batch = list(
                Reminder.objects.filter(PENDING, due_at__lte=now)
                .select_for_update(skip_locked=True, of=("self", "application"))
                .select_related("application__office", "quote")
                .order_by("due_at")[: sweep_batch_size()]
            )
            if not batch:
                return {"sent": sent, "cancelled": cancelled}
            consented = _consented(batch)
            emails = []
            for reminder in batch:
                reason = _moot(reminder, now, consented)
                if reason is None:
                    emails.append(_email(reminder))
                    reminder.sent_at = now
                    sent += 1
                else:
                    reminder.cancelled_at, reminder.cancel_reason = now, reason[:40]
                    cancelled += 1
            # The batch in a constant number of queries: its portal links, its emails (ON CONFLICT
            # DO NOTHING on their dedup key), its stamps, and one publish after commit.
            write_many(events.patient_drafts(emails, now=now), now=now)
            Reminder.objects.bulk_update(batch, ["sent_at", "cancelled_at", "cancel_reason"])
