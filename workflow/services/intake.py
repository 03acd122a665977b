"""New applications: routing, reference numbers, documents and the first reply obligation."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import events
from offices.models import Office
from workflow.actors import Actor
from workflow.models import Application, Document, Message, ReferenceSequence
from workflow.routing import is_country, office_code_for_country
from workflow.services.common import now_or, record
from workflow.services.obligations import open_obligation
from workflow.services.patient import patient_details_errors
from workflow.uploads import sniff_type, validate_upload

PRIVACY_NOTICE_VERSION = "2026-01"
MAX_DOCUMENTS = 10
# Staff enter phone and email requests late, but not from more than a year back: an older date is a typo.
RECEIVED_AT_HORIZON = timedelta(days=365)


def next_reference(office: Office, year: int) -> str:
    """DEL-2026-00042: per office and year, gap-free within committed transactions."""
    ReferenceSequence.objects.get_or_create(office=office, year=year)
    # The UPDATE takes the row lock, so concurrent intakes of one office queue up here.
    ReferenceSequence.objects.filter(office=office, year=year).update(last_number=F("last_number") + 1)
    number = ReferenceSequence.objects.get(office=office, year=year).last_number
    return f"{office.code[:3].upper()}-{year}-{number:05d}"


def application_submit(
    *,
    actor: Actor,
    full_name: str,
    email: str,
    date_of_birth: date,
    sex: str,
    country: str,
    condition: str,
    privacy_consent: bool,
    phone: str = "",
    preferred_language: str = "en",
    diagnosis_date: date | None = None,
    current_medications: str = "",
    medical_history: str = "",
    treatment_request: str = "",
    office: str | None = None,
    received_at: datetime | None = None,
    documents: list[UploadedFile] | None = None,
    now: datetime | None = None,
) -> Application:
    """Take in an application from the public form (patient) or entered by staff.

    Only staff may give `received_at` (a phone or email request's real arrival, never in the
    future); anyone may choose the office, and with none the country decides (SPEC §3).
    """
    now = now_or(now)
    documents = documents or []
    errors: dict[str, list[str]] = {}
    if not privacy_consent:
        errors["privacy_consent"] = ["The privacy notice must be accepted."]
    office_code = office or (office_code_for_country(country) if is_country(country) else None)
    handling_office = Office.objects.filter(code=office_code).first() if office_code else None
    if handling_office is None:
        if office is not None:
            errors["office"] = [f"Unknown office {office_code!r}."]
    elif actor.is_staff_member and handling_office.pk not in actor.office_ids:
        errors["office"] = ["You can only enter applications for your own offices."]
    # Dates are checked against the handling office's own date (a patient applying just after
    # midnight in Delhi is already on the next day there).
    today = timezone.localdate(now, handling_office.tz) if handling_office else now.date()
    details = {
        "full_name": full_name,
        "email": email,
        "phone": phone,
        "date_of_birth": date_of_birth,
        "sex": sex,
        "country": country.upper(),
        "preferred_language": preferred_language,
        "condition": condition,
        "diagnosis_date": diagnosis_date,
        "current_medications": current_medications,
        "medical_history": medical_history,
        "treatment_request": treatment_request,
    }
    for field, messages in patient_details_errors(details, today=today).items():
        errors.setdefault(field, []).extend(messages)
    if received_at is not None:
        if actor.kind != "user" or not actor.is_staff_member:
            errors["received_at"] = ["Only staff may set the time an application was received."]
        elif received_at > now:
            errors["received_at"] = ["The time received cannot be in the future."]
        elif received_at < now - RECEIVED_AT_HORIZON:
            errors["received_at"] = ["The time received cannot be more than a year ago."]
    if len(documents) > MAX_DOCUMENTS:
        errors["documents"] = [f"At most {MAX_DOCUMENTS} files."]
    total = sum(upload.size or 0 for upload in documents)
    if total > settings.MAX_INTAKE_UPLOAD_BYTES:
        # Checked before anything is stored: an anonymous request must not fill the disk.
        limit = settings.MAX_INTAKE_UPLOAD_BYTES // (1024 * 1024)
        errors.setdefault("documents", []).append(f"The files together may be at most {limit} MB.")
    for upload in documents:
        try:
            validate_upload(upload)
        except ValidationError as exc:
            errors.setdefault("documents", []).extend(f"{upload.name}: {m}" for m in exc.messages)
    if errors:
        raise ValidationError(errors)
    assert handling_office is not None  # noqa: S101 - narrowed by the checks above

    received = received_at or now
    with transaction.atomic():
        application = Application(
            reference=next_reference(handling_office, received.astimezone(handling_office.tz).year),
            office=handling_office,
            **details,
            privacy_notice_version=PRIVACY_NOTICE_VERSION,
            privacy_consent_at=now,
            received_at=received,
        )
        application.full_clean(exclude=["reference", "protocol", "state"])
        application.save()
        for upload in documents:
            Document.objects.create(
                application=application,
                file=upload,
                original_name=upload.name or "document",
                content_type=sniff_type(upload) or "application/octet-stream",
                size=upload.size or 0,
                uploaded_at=now,
            )
        channel = Message.Channel.FORM if actor.kind == "patient" else Message.Channel.EMAIL
        params: dict[str, Any] = {"office": handling_office.code, "channel": channel, "documents": len(documents)}
        if received_at is not None:
            params["received_at"] = received_at.isoformat()
        open_obligation(application, received_at=received)
        history = record(application, action="submit", actor=actor, at=now, from_state="", params=params)
        events.application_received(application, history=history, now=now)
    return application
