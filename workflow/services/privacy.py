"""Erasure of a patient's personal data (SPEC §11, GDPR art. 17, DPDP Act s. 12).

The application is pseudonymised where it stands rather than deleted: its states, dates, reply
obligations, reviews and scores stay, so the SLA and outcome reports give the same figures and the
history still says who did what when. Everything that names or describes the patient goes: their
details, what they and we wrote, the rendered emails and their addresses, the free text in the
history, the questionnaire's free text, and every stored file. The export (privacy_export) is the
other half: what a patient may ask to receive before they ask to be forgotten.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast

from notifications.models import Notification, NotificationAttachment
from notifications.services import NOT_SENT_ERASED
from offices.roles import MANAGER
from security.models import IdempotencyKey
from workflow.actors import Actor
from workflow.errors import AlreadyErased, NotAllowed, TreatmentOpen
from workflow.models import (
    Application,
    ConsentSignature,
    Document,
    Message,
    MonitoringCheck,
    PortalLink,
    QuestionnaireAnswer,
    Quote,
    QuoteItem,
    Reminder,
    State,
    TransitionLog,
    TreatmentDay,
)
from workflow.services.common import lock, now_or, record
from workflow.services.obligations import close_obligations
from workflow.signals import patient_erased

# What stands where personal text was: plain, so that a reader of the history or an email list sees
# that something was erased, not that it was empty.
ERASED = "[erased]"
# History parameters that hold text someone typed about the patient; everything else in them is
# ids, codes, dates and numbers, which the audit trail keeps.
FREE_TEXT_PARAMS = frozenset({"review_notes", "reason", "summary", "note", "notes"})
# Name parts shorter than this ("Li", initials) would match inside unrelated words of the history.
MIN_NAME_PART = 3


def erased_email(application: Application) -> str:
    """A deliverable-looking address that can reach nobody (RFC 2606 reserves `.invalid`)."""
    return f"erased-{application.reference.lower()}@erased.invalid"


def treatment_open_reason(application: Application) -> str | None:
    """Why this application cannot be erased now, or None.

    The clinic needs the patient's identity while it treats them (SPEC §5): from admission to
    discharge, and from the moment an admission is scheduled — consent forms and reminders go to
    the patient by name until then. Withdrawing the application first closes a scheduled admission.
    """
    if application.state == State.ADMITTED:
        return "The patient is admitted and in treatment: their record cannot be erased until they are discharged."
    if application.state == State.QUOTED and application.admission_date is not None:
        return (
            f"An admission is scheduled for {application.admission_date:%Y-%m-%d}: withdraw the application "
            "(or wait for the discharge) before erasing the patient's data."
        )
    return None


@dataclass(frozen=True)
class Identifiers:
    """What would identify the patient in text: searched for in the history's free parameters."""

    values: tuple[str, ...]

    @classmethod
    def of(cls, application: Application) -> Identifiers:
        found = {application.full_name, application.email, application.phone}
        found.update(part for part in re.split(r"[\s,]+", application.full_name) if len(part) >= MIN_NAME_PART)
        digits = re.sub(r"\D", "", application.phone)
        if len(digits) >= MIN_NAME_PART:
            found.add(digits)
        # Longest first, so that the full name is replaced before its parts.
        return cls(tuple(sorted((v.strip() for v in found if v and v.strip()), key=len, reverse=True)))

    def _pattern(self, value: str) -> re.Pattern[str]:
        # Whole words only: a name part "Ann" is not in "annual".
        return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)

    def scrub(self, text: str) -> str:
        for value in self.values:
            text = self._pattern(value).sub(ERASED, text)
        return text

    def found_in(self, text: str) -> bool:
        return any(self._pattern(value).search(text) for value in self.values)


def scrub_params(value: Any, identifiers: Identifiers, key: str | None = None) -> Any:
    """A history row's parameters without personal text: typed text erased, identifiers replaced."""
    if key == "changes" and isinstance(value, dict):
        # `update_details`: which fields were corrected stays; their old and new values were the patient's.
        return {name: {"from": ERASED, "to": ERASED} for name in value}
    if isinstance(value, dict):
        return {k: scrub_params(v, identifiers, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_params(item, identifiers, key) for item in value]
    if isinstance(value, str):
        if key in FREE_TEXT_PARAMS and value.strip():
            return ERASED
        return identifiers.scrub(value)
    return value


def _delete_file(file: FieldFile) -> None:
    """Delete a stored file; one already gone is what was wanted."""
    with contextlib.suppress(FileNotFoundError):
        file.storage.delete(str(file.name))


def erase_permitted(application: Application, actor: Actor) -> None:
    """Only a manager of the application's office erases it (the caller found it in their offices)."""
    if actor.role_in(application.office_id) != MANAGER:
        raise NotAllowed("Only a manager of the application's office can erase a patient's data.")


def _erase_errors(
    application: Application, *, reason: str, confirm: str, identifiers: Identifiers
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the patient's data is erased (e.g. the patient's request and its date)."]
    elif identifiers.found_in(reason):
        # The reason stays in the history for good: it must not bring back what it erases.
        errors["reason"] = ["Do not repeat the patient's name, email or phone in the reason."]
    if confirm != application.reference:
        errors["confirm"] = [f"Type the application's reference ({application.reference}) to confirm."]
    return errors


def application_erase(
    *,
    application: Application | int,
    actor: Actor,
    reason: str,
    confirm: str,
    now: datetime | None = None,
) -> Application:
    """A manager of the application's office pseudonymises the patient's personal data everywhere it is stored.

    Raises DoesNotExist outside the actor's offices (404), NotAllowed for other roles (403),
    AlreadyErased for a second erasure (409, nothing changes), TreatmentOpen while the patient is
    in treatment (409), ValidationError for a missing reason or a wrong confirmation (400).
    """
    now = now_or(now)
    reason = (reason or "").strip()
    confirm = (confirm or "").strip()
    with transaction.atomic():
        app = lock(application, actor)
        erase_permitted(app, actor)
        if app.erased_at is not None:
            raise AlreadyErased(
                f"The patient's personal data was already erased on {app.erased_at:%Y-%m-%d %H:%M} UTC; "
                "nothing was changed."
            )
        blocker = treatment_open_reason(app)
        if blocker is not None:
            raise TreatmentOpen(blocker)
        identifiers = Identifiers.of(app)
        errors = _erase_errors(app, reason=reason, confirm=confirm, identifiers=identifiers)
        if errors:
            raise ValidationError(errors)

        files = _files_of(app)
        counts = _pseudonymise(app, identifiers, now=now)
        app.refresh_from_db()
        record(app, action="erase", actor=actor, at=now, params={"reason": reason, **counts, "files": len(files)})
        patient_erased.send(sender=Application, application=app, now=now)
        # Last, inside the transaction: if a deletion fails, the erasure rolls back and can be run
        # again (after a commit a failure would leave files no row points at, behind an erased_at).
        for file in files:
            _delete_file(file)
        _clear_file_fields(app)
    return app


def _files_of(app: Application) -> list[FieldFile]:
    files: list[FieldFile] = [document.file for document in Document.objects.filter(application=app)]
    for signature in ConsentSignature.objects.filter(application=app):
        files.extend([signature.pdf, signature.scan])
    return [file for file in files if file.name]


def _clear_file_fields(app: Application) -> None:
    Document.objects.filter(application=app).update(file="")
    ConsentSignature.objects.filter(application=app).update(pdf="", scan="")


def _pseudonymise(app: Application, identifiers: Identifiers, *, now: datetime) -> dict[str, int]:
    """Every row of the application that holds personal data, rewritten; returns how many of each."""
    email = erased_email(app)
    birth_year = app.date_of_birth.year
    Application.objects.filter(pk=app.pk).update(
        full_name=ERASED,
        email=email,
        phone="",
        # The year stays for age statistics; the day identifies.
        date_of_birth=date(birth_year, 1, 1),
        sex=Application.Sex.UNDISCLOSED,
        condition=ERASED,
        diagnosis_date=None,
        current_medications="",
        medical_history="",
        treatment_request="",
        review_notes=_erased_if(app.review_notes),
        decline_reason=_erased_if(app.decline_reason),
        withdraw_reason=_erased_if(app.withdraw_reason),
        discharge_summary=_erased_if(app.discharge_summary),
        erased_at=now,
        updated_at=now,
    )
    counts = {
        "messages": Message.objects.filter(application=app).update(body=ERASED),
        "documents": Document.objects.filter(application=app).count(),
        "signatures": ConsentSignature.objects.filter(application=app).update(
            signer_name=ERASED, ip_address=None, user_agent=""
        ),
    }
    for document in Document.objects.filter(application=app):
        # The patient's own file name ("Priya Sharma MRI.pdf"); the type stays readable.
        extension = document.original_name.rsplit(".", 1)[-1].lower() if "." in document.original_name else "bin"
        Document.objects.filter(pk=document.pk).update(original_name=f"document-{document.pk}.{extension[:8]}")
    Quote.objects.filter(application=app).exclude(notes="").update(notes=ERASED)
    for item in QuoteItem.objects.filter(quote__application=app).only("pk", "description"):
        # Priced lines ("Protocol for Priya Sharma"): the amounts stay for the books.
        if identifiers.found_in(item.description):
            QuoteItem.objects.filter(pk=item.pk).update(description=identifiers.scrub(item.description))
    TreatmentDay.objects.filter(application=app).exclude(notes="").update(notes=ERASED)
    MonitoringCheck.objects.filter(application=app).exclude(note="").update(note=ERASED)
    counts["notifications"] = _erase_notifications(app, email=email, identifiers=identifiers, now=now)
    counts["history"] = _erase_history(app, identifiers)
    counts["answers"] = _erase_answers(app)
    counts["portal_links_revoked"] = PortalLink.objects.filter(application=app, revoked_at__isnull=True).update(
        revoked_at=now
    )
    # Nobody can answer an erased patient (workflow.services.rules.NEEDS_PATIENT): an open promise would
    # only breach and escalate. Closed unanswered, as a terminal state closes it; met and breached stay.
    counts["obligations_closed"] = close_obligations(app, at=now)
    Reminder.objects.filter(application=app, sent_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=now, cancel_reason="erased"
    )
    _erase_admin_log(app, identifiers)
    counts["idempotent_answers"] = _erase_idempotent_answers(app, identifiers)
    return counts


def _erased_if(text: str) -> str:
    return ERASED if text.strip() else ""


def _erase_notifications(app: Application, *, email: str, identifiers: Identifiers, now: datetime) -> int:
    rows = Notification.objects.filter(application=app)
    # Not sent after the erasure: to the patient it would go to no one; to staff it would say nothing.
    # The row stays, failed, so that the outbox says what happened to it.
    rows.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.FAILED, last_error=NOT_SENT_ERASED, next_attempt_at=None
    )
    for row in rows.only("pk", "audience", "dedup_key", "recipient_email", "last_error"):
        changes: dict[str, Any] = {
            "subject": ERASED,
            "body_text": ERASED,
            "body_html": "",
            # An SMTP refusal quotes the address it refused.
            "last_error": identifiers.scrub(row.last_error),
        }
        if row.audience == Notification.Audience.PATIENT:
            changes["recipient_email"] = email
            # The key ends with the recipient's address (notifications.services._create).
            changes["dedup_key"] = identifiers.scrub(row.dedup_key.replace(row.recipient_email.lower(), email))
        Notification.objects.filter(pk=row.pk).update(**changes)
    # The files sent with them: the signed consent's PDF, calendar files naming the treatment.
    NotificationAttachment.objects.filter(notification__application=app).update(content=b"", size=0)
    return rows.count()


def _erase_history(app: Application, identifiers: Identifiers) -> int:
    changed = 0
    for row in TransitionLog.objects.filter(application=app).only("pk", "params"):
        params = scrub_params(row.params, identifiers)
        if params != row.params:
            # The one sanctioned rewrite of the append-only history (whose manager refuses updates):
            # the rows, actors, times and states stay; only the personal text in them goes.
            models.QuerySet(TransitionLog).filter(pk=row.pk).update(params=params)
            changed += 1
    return changed


def _erase_answers(app: Application) -> int:
    # Answers are append-only too; their scores stay for the outcome report, their free text goes.
    answers: models.QuerySet[QuestionnaireAnswer] = models.QuerySet(QuestionnaireAnswer).filter(review__application=app)
    typed = answers.filter(~Q(current_medications="") | ~Q(comments=""))
    count = typed.count()
    answers.exclude(current_medications="").update(current_medications=ERASED)
    answers.exclude(comments="").update(comments=ERASED)
    return count


def _erase_idempotent_answers(app: Application, identifiers: Identifiers) -> int:
    """Answers kept for an `Idempotency-Key` replay (security.idempotency) repeat the application as
    it was. Deleted, not rewritten: a retry with such a key acts again, and every action about an
    erased patient is refused."""
    as_text = Cast("response_body", output_field=TextField())
    mentions = Q(body_text__contains=app.reference)
    for value in identifiers.values:
        mentions |= Q(body_text__icontains=value)
    deleted, _ = IdempotencyKey.objects.annotate(body_text=as_text).filter(mentions).delete()
    return deleted


def _erase_admin_log(app: Application, identifiers: Identifiers) -> None:
    """The admin's change list names objects by their __str__ (a signer's name, a file's name)."""
    mentions = Q(pk__in=[])
    for value in identifiers.values:
        mentions |= Q(object_repr__icontains=value) | Q(change_message__icontains=value)
    for entry in LogEntry.objects.filter(mentions).only("pk", "object_repr", "change_message"):
        LogEntry.objects.filter(pk=entry.pk).update(
            object_repr=identifiers.scrub(entry.object_repr), change_message=identifiers.scrub(entry.change_message)
        )
