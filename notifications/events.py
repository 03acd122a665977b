"""The workflow events that notify someone, each one call of `notify_patient` / `notify_staff`.

Called by the workflow services inside their transaction, so the outbox rows commit with the
event or not at all. Each row links the history row of the step that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.utils import formats, translation

from notifications import calendar_files
from notifications.models import Notification
from notifications.services import Attachment, Draft, notify_patient, notify_staff, patient_draft
from offices.roles import Role
from offices.selectors import office_staff

if TYPE_CHECKING:
    from workflow.models import (
        Application,
        ConsentSignature,
        FollowUpReview,
        Message,
        MonitoringCheck,
        Quote,
        TransitionLog,
    )


def local_time(application: Application, moment: datetime | None, language: str) -> str:
    """A deadline in the office's time with its zone named, in the reader's language."""
    if moment is None:
        return ""
    office = application.office
    with translation.override(language):
        # German writes the day with a full stop: "Donnerstag, 26. November 2026".
        pattern = "l, j. F Y, H:i" if translation.get_language() == "de" else "l, j F Y, H:i"
        return f"{formats.date_format(moment.astimezone(office.tz), pattern)} ({office.timezone})"


# Which portal page a patient email's link lands on (the default: the status page).
LANDINGS = {
    "quote_sent": "quote",
    "quote_revised": "quote",
    "quote_expiring": "quote",
    "consent_form": "consent",
    "consent_reminder": "consent",
    "outbound_message": "messages",
    "follow_up_due": "questionnaire",
    "follow_up_reminder": "questionnaire",
}


def local_day(day: date | None, language: str) -> str:
    """A calendar date in words, in the reader's language: "Thursday, 26 November 2026"."""
    if day is None:
        return ""
    with translation.override(language):
        pattern = "l, j. F Y" if translation.get_language() == "de" else "l, j F Y"
        return formats.date_format(day, pattern)


def portal_context(application: Application, kind: str, now: datetime) -> dict[str, Any]:
    """A fresh private link for one patient email (SPEC §7: every patient email carries its link)."""
    from workflow.services.portal import portal_url_for  # the workflow services import this module

    landing = LANDINGS.get(kind, "status")
    if application.erased_at is not None:
        # Its email is withheld (notifications.services): no link to open an erased record.
        return {"portal_url": "", "portal_landing": landing}
    return {"portal_url": portal_url_for(application, now=now, landing=landing), "portal_landing": landing}


def application_received(application: Application, *, history: TransitionLog, now: datetime) -> None:
    """The patient's acknowledgement (a receipt, not a reply: the promise stays open) and the staff's alerts."""
    notify_patient(
        kind="intake_acknowledgement",
        application=application,
        history=history,
        context={
            "reply_by": local_time(application, application.reply_due_at, application.preferred_language),
            **portal_context(application, "intake_acknowledgement", now),
        },
        now=now,
    )
    staff_context = {"reply_by": local_time(application, application.reply_due_at, "en")}
    for kind, role in (("new_application", Role.COORDINATOR), ("review_requested", Role.PHYSICIAN)):
        notify_staff(
            kind=kind,
            application=application,
            users=office_staff(application.office_id, role),
            history=history,
            context=staff_context,
            now=now,
        )


def quote_expiring(application: Application, *, quote: Quote | None, event_key: str, now: datetime) -> Notification:
    """The reminder that the quote runs out in 3 days, from its swept row (`workflow.services.reminders`).

    A reminder, not an answer: it satisfies no reply obligation.
    """
    return notify_patient(
        kind="quote_expiring",
        application=application,
        event_key=event_key,
        context={**quote_expiring_context(application, quote), **portal_context(application, "quote_expiring", now)},
        now=now,
    )


def quote_expiring_context(application: Application, quote: Quote | None) -> dict[str, Any]:
    return {
        "quote": quote,
        "valid_until_day": local_day(quote.valid_until if quote else None, application.preferred_language),
    }


def consent_reminder(application: Application, *, event_key: str, now: datetime) -> Notification:
    """The reminder 3 days before admission that the consent form is still unsigned; answers nothing."""
    return notify_patient(
        kind="consent_reminder",
        application=application,
        event_key=event_key,
        context={**consent_reminder_context(application), **portal_context(application, "consent_reminder", now)},
        now=now,
    )


def consent_reminder_context(application: Application) -> dict[str, Any]:
    return {"admission_day": local_day(application.admission_date, application.preferred_language)}


# One patient email a sweep writes: (application, kind, event key, context without the portal link).
PatientItem = tuple["Application", str, str, dict[str, Any]]


def patient_drafts(items: Sequence[PatientItem], *, now: datetime) -> list[Draft]:
    """The sweeps' patient emails, each with a fresh portal link, the links issued in one insert."""
    from workflow.services.portal import portal_links_issue_many, portal_url  # the services import this module

    tokens = portal_links_issue_many([application for application, *_ in items], now=now)
    drafts = []
    for (application, kind, event_key, context), token in zip(items, tokens, strict=True):
        landing = LANDINGS.get(kind, "status")
        link = {"portal_url": portal_url(token, landing), "portal_landing": landing}
        drafts.append(
            patient_draft(kind=kind, application=application, event_key=event_key, context={**context, **link}, now=now)
        )
    return drafts


def _patient_context(application: Application, kind: str, message: Message | None) -> dict[str, Any]:
    if kind == "outbound_message":
        return {"message": message}
    if kind == "admission_confirmed":
        return {"days": list(application.treatment_days.order_by("day"))}
    if kind == "consent_form":
        return {"admission_day": local_day(application.admission_date, application.preferred_language)}
    if kind == "discharge_summary":
        return {"reviews": review_days(application)}
    return {"quote": application.quotes.filter(superseded_at__isnull=True).prefetch_related("items").first()}


def patient_notice(
    application: Application,
    *,
    kind: str,
    history: TransitionLog,
    now: datetime,
    message: Message | None = None,
    context: dict[str, Any] | None = None,
) -> Notification:
    """The email a workflow step writes to the patient (`workflow.services.replies` says which step writes which).

    `context` adds what only the step knows (the consent document it sends).
    """
    return notify_patient(
        kind=kind,
        application=application,
        history=history,
        context={
            **_patient_context(application, kind, message),
            **(context or {}),
            **portal_context(application, kind, now),
        },
        now=now,
        attachments=_patient_attachments(application, kind, now),
    )


def _patient_attachments(application: Application, kind: str, now: datetime) -> list[Attachment]:
    if kind == "admission_confirmed":
        return [calendar_files.treatment_schedule(application, now=now)]
    if kind == "discharge_summary":
        return [calendar_files.follow_up_reviews(application, now=now)]
    return []


def consent_signed(
    application: Application, *, signature: ConsentSignature, pdf: Attachment, history: TransitionLog, now: datetime
) -> Notification:
    """The patient's copy of the consent they signed in the portal, its PDF attached.

    A receipt, like the intake acknowledgement: it answers no question and leaves the promise open.
    """
    return notify_patient(
        kind="consent_signed",
        application=application,
        history=history,
        context={
            "signature": signature,
            "signed_at": local_time(application, signature.signed_at, application.preferred_language),
            **portal_context(application, "consent_signed", now),
        },
        now=now,
        attachments=[pdf],
    )


def review_days(application: Application) -> list[dict[str, Any]]:
    """The follow-up reviews with their due dates in words, in the patient's language."""
    return [
        {"months": review.months, "day": local_day(review.due_date, application.preferred_language)}
        for review in application.reviews.order_by("months")
    ]


def follow_up_due(application: Application, *, review: FollowUpReview, reminder: bool, now: datetime) -> Notification:
    """The questionnaire link on a review's due date, or the reminder 7 days later (swept rows)."""
    kind, event_key, context = follow_up_due_item(application, review=review, reminder=reminder)
    return notify_patient(
        kind=kind,
        application=application,
        event_key=event_key,
        context={**context, **portal_context(application, kind, now)},
        now=now,
    )


def follow_up_due_item(
    application: Application, *, review: FollowUpReview, reminder: bool
) -> tuple[str, str, dict[str, Any]]:
    """The kind, event key and context (without its link) of a review's invitation or reminder."""
    language = application.preferred_language
    context = {
        "review": review,
        "due_day": local_day(review.due_date, language),
        "closes_day": local_day(review.window_closes, language),
    }
    return (
        ("follow_up_reminder" if reminder else "follow_up_due"),
        f"review-{review.pk}-{review.due_date:%Y%m%d}",
        context,
    )


def _staff_alert(
    application: Application, *, kind: str, role: str, event_key: str, context: dict[str, Any], now: datetime
) -> list[Notification]:
    # Staff alerts name the reference, the office and what is due, never health data (SPEC §6).
    return notify_staff(
        kind=kind,
        application=application,
        users=office_staff(application.office_id, role),
        event_key=event_key,
        context=context,
        now=now,
    )


def monitoring_due(application: Application, *, check: MonitoringCheck, now: datetime) -> list[Notification]:
    """The coordinators: a monitoring check is due (held for office hours)."""
    return _staff_alert(
        application, kind="monitoring_due", role=Role.COORDINATOR, now=now, **monitoring_due_item(application, check)
    )


def monitoring_due_item(application: Application, check: MonitoringCheck) -> dict[str, Any]:
    """The event key and context of a monitoring check's alert."""
    return {
        "event_key": f"monitoring-{check.pk}",
        "context": {"check": check, "due_local": local_time(application, check.due_at, "en")},
    }


def monitoring_concern(
    application: Application, *, check: MonitoringCheck, history: TransitionLog, now: datetime
) -> list[Notification]:
    """The office's physicians: a monitoring check was recorded as a concern (the note stays in the app)."""
    return notify_staff(
        kind="monitoring_concern",
        application=application,
        users=office_staff(application.office_id, Role.PHYSICIAN),
        history=history,
        context={"check": check},
        now=now,
    )


def follow_up_overdue(application: Application, *, review: FollowUpReview, now: datetime) -> list[Notification]:
    """The coordinators: a review is unanswered 14 days after its due date."""
    return _staff_alert(
        application, kind="follow_up_overdue", role=Role.COORDINATOR, now=now, **follow_up_overdue_item(review)
    )


def follow_up_overdue_item(review: FollowUpReview) -> dict[str, Any]:
    """The event key and context of an unanswered review's alert to the coordinators."""
    return {
        "event_key": f"review-{review.pk}-{review.due_date:%Y%m%d}",
        "context": {
            "review": review,
            "due_day": local_day(review.due_date, "en"),
            "closes_day": local_day(review.window_closes, "en"),
        },
    }


def follow_up_dates_changed(application: Application, *, history: TransitionLog, now: datetime) -> Notification:
    """The patient's new review dates after a corrected discharge date, with the calendar file again.

    A notice, not an answer: it satisfies no reply obligation (it is not in `PATIENT_NOTICES`).
    """
    return notify_patient(
        kind="follow_up_dates_changed",
        application=application,
        history=history,
        context={
            "reviews": review_days(application),
            "discharge_day": local_day(application.discharge_date, application.preferred_language),
            **portal_context(application, "follow_up_dates_changed", now),
        },
        now=now,
        attachments=[calendar_files.follow_up_reviews(application, now=now)],
    )
