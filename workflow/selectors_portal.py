"""What the patient portal may read of one application (SPEC §7): nothing internal, no staff names.

The portal holds no rule; what a patient may see of the history and the conversation is decided
here, once, beside the other selectors. Every function takes the one application the portal
session is bound to; none looks an application up by reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import (
    Application,
    ConsentDocument,
    ConsentSignature,
    FollowUpReview,
    Message,
    PortalLink,
    QuestionnaireAnswer,
    Quote,
    TransitionLog,
)
from workflow.services.actions import current_consent_document
from workflow.services.rules import available_actions

# The steps of the history a patient sees, with nothing of their parameters but what is named in
# `_details`: review notes, reasons and staff are internal (SPEC §7). Internal notes
# (`message_note`), assignment, transfers and link housekeeping are left out.
PATIENT_EVENTS = frozenset(
    {
        "submit",
        "approve_review",
        "decline",
        "send_quote",
        "revise_quote",
        "accept_quote",
        "schedule_admission",
        "sign_consent",
        "withdraw_consent",
        "admit",
        "discharge",
        "withdraw",
        "message_reply",
        "message_inbound",
    }
)
PATIENT_DIRECTIONS = (Message.Direction.INBOUND, Message.Direction.OUTBOUND)

QuoteStatus = Literal["open", "accepted", "expired", "closed"]


@dataclass(frozen=True)
class TimelineEntry:
    action: str
    at: datetime
    # Who did it, as the patient sees it: themselves, the office (never a staff member), or the clinic's system.
    by: Literal["patient", "office", "system"]
    admission_date: date | None = None
    consent_version: int | None = None
    channel: str = ""


@dataclass(frozen=True)
class PortalQuote:
    quote: Quote
    status: QuoteStatus


@dataclass(frozen=True)
class PortalConsent:
    # None when no consent document has been published.
    document: ConsentDocument | None
    # The patient's unwithdrawn signature of that document's version, if any.
    signature: ConsentSignature | None
    can_sign: bool


def portal_application(*, application_id: int) -> Application | None:
    return Application.objects.select_related("office").filter(pk=application_id).first()


def portal_session_valid(*, application_id: int, opened_at: datetime) -> bool:
    """A portal session dies when staff revoke the application's links after it was opened (SPEC §7),
    and when the patient's data is erased (which revokes them too, but a session may outlive its link)."""
    if Application.objects.filter(pk=application_id, erased_at__isnull=False).exists():
        return False
    return not PortalLink.objects.filter(application_id=application_id, revoked_at__gte=opened_at).exists()


def _entry(log: TransitionLog) -> TimelineEntry:
    by: Literal["patient", "office", "system"] = (
        "patient" if log.actor_kind == "patient" else "system" if log.actor_kind == "system" else "office"
    )
    params = log.params or {}
    admission = params.get("admission_date") if log.action == "schedule_admission" else None
    version = params.get("version") if log.action == "sign_consent" else None
    return TimelineEntry(
        action=log.action,
        at=log.at,
        by=by,
        admission_date=date.fromisoformat(str(admission)) if admission else None,
        consent_version=int(version) if version is not None else None,
        channel=str(params.get("channel") or "") if log.action == "message_inbound" else "",
    )


def patient_timeline(*, application: Application) -> list[TimelineEntry]:
    """The history as the patient may see it, oldest first."""
    rows = TransitionLog.objects.filter(application=application, action__in=PATIENT_EVENTS).order_by("at", "id")
    return [_entry(log) for log in rows.only("action", "at", "actor_kind", "params")]


def patient_conversation(*, application: Application) -> list[Message]:
    """Messages to and from the patient, oldest first; internal notes never leave the clinic."""
    return list(
        Message.objects.filter(application=application, direction__in=PATIENT_DIRECTIONS)
        .only("direction", "channel", "body", "created_at")
        .order_by("created_at", "id")
    )


def portal_quote(*, application: Application, now: datetime) -> PortalQuote | None:
    """The live quote with its items, and whether the patient can still accept it.

    `expired` is read from the rules, not recomputed: a live, unaccepted quote of a quoted
    application that the patient may not accept has run past its date.
    """
    quote = (
        application.quotes.filter(superseded_at__isnull=True)
        .prefetch_related("items")
        .order_by("-created_at", "-id")
        .first()
    )
    if quote is None:
        return None
    status: QuoteStatus
    if quote.accepted_at is not None:
        status = "accepted"
    elif "accept_quote" in available_actions(application, Actor.patient(), now=now):
        status = "open"
    elif application.state == "quoted":
        status = "expired"
    else:
        status = "closed"
    return PortalQuote(quote=quote, status=status)


def portal_consent(*, application: Application, now: datetime) -> PortalConsent:
    """The consent form the patient signs (the current version in their language) and their signature of it."""
    try:
        document = current_consent_document(application.preferred_language)
    except Conflict:
        return PortalConsent(document=None, signature=None, can_sign=False)
    signature = (
        application.signatures.filter(document_version=document.version, withdrawn_at__isnull=True)
        .order_by("-signed_at", "-id")
        .first()
    )
    can_sign = signature is None and "sign_consent" in available_actions(application, Actor.patient(), now=now)
    return PortalConsent(document=document, signature=signature, can_sign=can_sign)


@dataclass(frozen=True)
class PortalReview:
    """The follow-up review the patient can answer now, and their latest answer to it, if any."""

    review: FollowUpReview
    latest: QuestionnaireAnswer | None


def portal_open_review(*, application: Application, now: datetime) -> PortalReview | None:
    """The review whose answer window is open on the office's date (answered or not: an answer can be corrected)."""
    today = now.astimezone(application.office.tz).date()
    review = (
        application.reviews.filter(
            window_opens__lte=today, window_closes__gte=today, closes_at__gt=now, missed_at__isnull=True
        )
        .order_by("due_date")
        .first()
    )
    if review is None:
        return None
    return PortalReview(review=review, latest=review.answers.order_by("-version").first())


def portal_next_review(*, application: Application, now: datetime) -> FollowUpReview | None:
    """The next review whose window has not opened yet, to say when we will ask."""
    today = now.astimezone(application.office.tz).date()
    return (
        application.reviews.filter(window_opens__gt=today, answered_at__isnull=True, missed_at__isnull=True)
        .order_by("due_date")
        .first()
    )


@dataclass(frozen=True)
class ReviewEntry:
    """A follow-up review on the patient's timeline: answered (version 1), corrected (later versions), missed."""

    at: datetime
    months: int
    kind: Literal["answered", "corrected", "missed"]
    channel: str = ""


def patient_review_timeline(*, application: Application) -> list[ReviewEntry]:
    """The follow-up reviews' events for the timeline, from the review and answer rows themselves."""
    entries = [
        ReviewEntry(
            at=answer.submitted_at,
            months=answer.review.months,
            kind="answered" if answer.version == 1 else "corrected",
            channel=answer.channel,
        )
        for answer in QuestionnaireAnswer.objects.filter(review__application=application).select_related("review")
    ]
    entries += [
        ReviewEntry(at=review.missed_at, months=review.months, kind="missed")
        for review in application.reviews.filter(missed_at__isnull=False)
        if review.missed_at is not None
    ]
    return sorted(entries, key=lambda entry: entry.at)
