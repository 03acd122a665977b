"""Actions on an application that are not state transitions: they still lock, check and log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from notifications import events
from offices.models import Membership, Office
from workflow import consent_pdf
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, ConsentDocument, ConsentSignature, Message, Quote, Reminder
from workflow.selectors import assignable_staff
from workflow.services.common import lock, now_or, record
from workflow.services.obligations import open_obligation
from workflow.services.patient import PATIENT_FIELDS, name_errors, patient_details_errors
from workflow.services.reminders import cancel_reminders, plan_consent_reminder
from workflow.services.replies import answer_patient
from workflow.services.rules import check_action, live_quote
from workflow.services.transitions import HORIZON
from workflow.uploads import validate_upload


def message_post(
    *, application: Application | int, actor: Actor, kind: str, body: str, now: datetime | None = None
) -> Message:
    """Staff write to the patient (`reply`, emailed and satisfying the promise) or a `note` for colleagues."""
    body = (body or "").strip()
    if kind not in {"reply", "note"}:
        raise ValidationError({"kind": ["Choose reply or note."]})
    if not body:
        raise ValidationError({"body": ["The message is empty."]})
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, kind, now=now)
        direction = Message.Direction.OUTBOUND if kind == "reply" else Message.Direction.INTERNAL
        message = Message.objects.create(
            application=app,
            direction=direction,
            channel=Message.Channel.EMAIL if kind == "reply" else Message.Channel.PORTAL,
            body=body,
            author=actor.user,
            created_at=now,
        )
        history = record(app, action=f"message_{kind}", actor=actor, at=now, params={"message": message.pk})
        if kind == "reply":
            answer_patient(app, step="message_reply", history=history, now=now, message=message)
    return message


def message_receive(
    *,
    application: Application | int,
    actor: Actor,
    body: str,
    channel: str = Message.Channel.PORTAL,
    received_at: datetime | None = None,
    now: datetime | None = None,
) -> Message:
    """A message from the patient: the portal, or staff recording an email or call. Opens an obligation."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["The message is empty."]})
    if channel not in Message.Channel.values:
        raise ValidationError({"channel": [f"Choose one of {', '.join(Message.Channel.values)}."]})
    now = now_or(now)
    received = received_at or now
    if received > now:
        raise ValidationError({"received_at": ["The time received cannot be in the future."]})
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "record_inbound", now=now)
        message = Message.objects.create(
            application=app,
            direction=Message.Direction.INBOUND,
            channel=channel,
            body=body,
            author=actor.user if actor.kind == "user" else None,
            created_at=received,
        )
        open_obligation(app, received_at=received, message=message)
        record(app, action="message_inbound", actor=actor, at=now, params={"message": message.pk, "channel": channel})
    return message


def application_assign(
    *, application: Application | int, actor: Actor, user_id: int | None, now: datetime | None = None
) -> Application:
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "assign", now=now)
        assignee = None
        if user_id is not None:
            assignee = assignable_staff(app).filter(pk=user_id).first()
            if assignee is None:
                raise ValidationError({"user": ["Not an active staff member of this application's office."]})
        previous = app.assigned_to_id
        app.assigned_to = assignee
        app.save(update_fields=["assigned_to", "updated_at"])
        record(app, action="assign", actor=actor, at=now, params={"from": previous, "to": user_id})
    return app


def application_transfer(
    *, application: Application | int, actor: Actor, office_code: str, now: datetime | None = None
) -> Application:
    """Hand the case to the other office. The open reply obligation keeps its deadline (SPEC §4)."""
    now = now_or(now)
    target = Office.objects.filter(code=office_code).first()
    if target is None:
        raise ValidationError({"office": [f"Unknown office {office_code!r}."]})
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "transfer", now=now)
        if isinstance(application, Application) and app.office_id != application.office_id:
            raise Conflict("The application was transferred meanwhile; reload and try again.")
        if target.pk == app.office_id:
            raise ValidationError({"office": ["The application is already handled by this office."]})
        source = app.office.code
        app.office = target
        fields = ["office", "updated_at"]
        # An assignee who does not work at the new office can no longer see the case.
        if app.assigned_to_id and not Membership.objects.filter(user_id=app.assigned_to_id, office=target).exists():
            app.assigned_to = None
            fields.append("assigned_to")
        app.save(update_fields=fields)
        record(app, action="transfer", actor=actor, at=now, params={"from": source, "to": target.code})
    return app


def quote_accept(*, application: Application | int, actor: Actor, now: datetime | None = None) -> Quote:
    """The patient accepts the live quote: in the portal, or by phone/email recorded by staff."""
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "accept_quote", now=now)
        quote = live_quote(app)
        assert quote is not None  # noqa: S101 - the action's check requires a live quote
        quote.accepted_at = now
        quote.save(update_fields=["accepted_at"])
        cancel_reminders(app, at=now, reason="quote accepted", kind=Reminder.Kind.QUOTE_EXPIRING)
        record(app, action="accept_quote", actor=actor, at=now, params={"quote": quote.pk, "total": str(quote.total)})
    return quote


def admission_schedule(
    *, application: Application | int, actor: Actor, admission_date: date, now: datetime | None = None
) -> Application:
    """Staff set (or move) the admission date. The patient is sent the consent form to read and sign, which
    answers the reply promise, and the consent reminder is planned 3 days before the date (SPEC §5)."""
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "schedule_admission", now=now)
        today = timezone.localdate(now, app.office.tz)
        if admission_date < today:
            raise ValidationError({"admission_date": ["The admission date cannot be in the past."]})
        if admission_date > today + HORIZON:
            raise ValidationError({"admission_date": ["The admission cannot be scheduled more than a year ahead."]})
        previous = app.admission_date
        app.admission_date = admission_date
        app.save(update_fields=["admission_date", "updated_at"])
        document = current_consent_document(app.preferred_language)
        history = record(
            app,
            action="schedule_admission",
            actor=actor,
            at=now,
            params={
                "admission_date": admission_date.isoformat(),
                "previous": previous.isoformat() if previous else None,
            },
        )
        answer_patient(app, step="schedule_admission", history=history, now=now, context={"document": document})
        plan_consent_reminder(app, now=now)
    return app


def current_consent_document(language: str) -> ConsentDocument:
    latest = ConsentDocument.objects.order_by("-version").values_list("version", flat=True).first()
    if latest is None:
        raise Conflict("No consent document has been published.")
    documents = {d.language: d for d in ConsentDocument.objects.filter(version=latest)}
    return documents.get(language) or documents.get("en") or next(iter(documents.values()))


def _sign(
    app: Application,
    *,
    actor: Actor,
    signer_name: str,
    signed_at: datetime,
    method: str,
    now: datetime,
    extra: dict[str, Any],
    expected_sha256: str | None = None,
) -> ConsentSignature:
    paper = method == ConsentSignature.Method.PAPER
    check_action(app, actor, "record_paper_consent" if paper else "sign_consent", now=now)
    problems = name_errors(signer_name or "")
    if problems:
        raise ValidationError({"signer_name": problems})
    signer_name = signer_name.strip()
    document = current_consent_document(app.preferred_language)
    if expected_sha256 is not None and expected_sha256 != document.sha256:
        # A new version was published after the patient opened the page: they read another text.
        raise Conflict("The consent document changed since it was shown; read the current version and sign again.")
    signature = ConsentSignature(
        application=app,
        document=document,
        document_version=document.version,
        document_sha256=document.sha256,
        signer_name=signer_name,
        signed_at=signed_at,
        method=method,
        **extra,
    )
    signature.save()
    history = record(
        app,
        action="sign_consent",
        actor=actor,
        at=now,
        params={"signature": signature.pk, "method": method, "version": document.version, "sha256": document.sha256},
    )
    if not paper:
        # Signed online: freeze what was signed as a PDF, keep it, and send the patient a copy (SPEC §5).
        pdf = consent_pdf.render(signature)
        signature.pdf.save(consent_pdf.filename(signature), ContentFile(pdf), save=False)
        signature.save(update_fields=["pdf"])
        events.consent_signed(
            app,
            signature=signature,
            pdf=(consent_pdf.filename(signature), "application/pdf", pdf),
            history=history,
            now=now,
        )
    return signature


def consent_sign_portal(
    *,
    application: Application | int,
    signer_name: str,
    ip_address: str | None,
    user_agent: str,
    expected_sha256: str | None = None,
    now: datetime | None = None,
) -> ConsentSignature:
    """The patient's e-signature. `expected_sha256`: the hash of the text they were shown, checked under
    the lock, so a version published meanwhile is never signed unread."""
    now = now_or(now)
    actor = Actor.patient()
    with transaction.atomic():
        app = lock(application, actor)
        return _sign(
            app,
            actor=actor,
            signer_name=signer_name,
            signed_at=now,
            method=ConsentSignature.Method.PORTAL,
            now=now,
            extra={"ip_address": ip_address, "user_agent": (user_agent or "")[:400]},
            expected_sha256=expected_sha256,
        )


def consent_record_paper(
    *,
    application: Application | int,
    actor: Actor,
    signer_name: str,
    signed_at: datetime,
    scan: UploadedFile,
    now: datetime | None = None,
) -> ConsentSignature:
    now = now_or(now)
    if signed_at > now:
        raise ValidationError({"signed_at": ["The signing time cannot be in the future."]})
    try:
        validate_upload(scan)
    except ValidationError as exc:
        raise ValidationError({"scan": exc.messages}) from exc
    with transaction.atomic():
        app = lock(application, actor)
        return _sign(
            app,
            actor=actor,
            signer_name=signer_name,
            signed_at=signed_at,
            method=ConsentSignature.Method.PAPER,
            now=now,
            extra={"scan": scan, "recorded_by": actor.user},
        )


def consent_withdraw(
    *,
    application: Application | int,
    actor: Actor,
    signature_id: int,
    reason: str = "",
    now: datetime | None = None,
) -> ConsentSignature:
    """The patient withdraws a consent: in the portal, or by phone or email recorded by staff.

    The signature stays on record with its withdrawal time; `admit` then needs a new signature.
    """
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        signature = app.signatures.select_for_update().filter(pk=signature_id).first()
        if signature is None:
            raise ConsentSignature.DoesNotExist("No such signature on this application.")
        if signature.withdrawn_at is not None:
            raise Conflict("This consent was already withdrawn.")
        check_action(app, actor, "withdraw_consent", now=now)
        signature.withdrawn_at = now
        signature.save(update_fields=["withdrawn_at"])
        record(
            app,
            action="withdraw_consent",
            actor=actor,
            at=now,
            params={"signature": signature.pk, "reason": (reason or "").strip()},
        )
    return signature


def application_update_details(
    *, application: Application | int, actor: Actor, changes: dict[str, Any], now: datetime | None = None
) -> Application:
    """Staff correct the patient's details (SPEC §3). The history names each changed field, old and new.

    Only the patient's own fields may change here; the workflow's fields change through their services.
    """
    now = now_or(now)
    unknown = sorted(set(changes) - set(PATIENT_FIELDS))
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "update_details", now=now)
        values = {name: getattr(app, name) for name in PATIENT_FIELDS}
        cleaned = {name: value.strip() if isinstance(value, str) else value for name, value in changes.items()}
        if isinstance(cleaned.get("country"), str):
            cleaned["country"] = cleaned["country"].upper()
        errors = patient_details_errors({**values, **cleaned}, today=timezone.localdate(now, app.office.tz))
        if errors:
            raise ValidationError(errors)
        changed = {name: value for name, value in cleaned.items() if values[name] != value}
        if not changed:
            return app
        for name, value in changed.items():
            setattr(app, name, value)
        app.full_clean(exclude=[f.name for f in Application._meta.fields if f.name not in changed])
        app.save(update_fields=[*changed, "updated_at"])
        record(
            app,
            action="update_details",
            actor=actor,
            at=now,
            params={"changes": {name: {"from": values[name], "to": value} for name, value in changed.items()}},
        )
    return app
