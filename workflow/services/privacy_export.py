"""Everything the clinic holds about one patient, as one ZIP (SPEC §11, GDPR art. 15 and 20, DPDP Act s. 11).

`manifest.json` holds every row about the application (the application, its conversation, the
history with its parameters, the emails as they were rendered with their delivery status, the
protocol and schedule, quotes, consent signatures, aftercare and every version of every
questionnaire answer, the access log); the files beside it are the uploaded records, the signed
consent PDFs and scans, and the emails' attachments. A file missing from storage is named in the
manifest (`missing_files`), never a failure: the export is most needed when something went wrong.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile

from notifications.models import Notification
from offices.roles import MANAGER
from security.access_log import access_log_for_application
from workflow.actors import Actor
from workflow.errors import NotAllowed
from workflow.models import Application, FollowUpReview
from workflow.services.common import now_or

FORMAT = "clinic-patient-export/1"
# Stored field values that are never the patient's and mean nothing outside the database.
INTERNAL_FIELDS = frozenset({"token_sha256", "dedup_key", "claimed_at", "next_attempt_at"})


def export_permitted(application: Application, actor: Actor) -> None:
    """Only a manager of the application's office exports it (the caller found it in their offices)."""
    if actor.role_in(application.office_id) != MANAGER:
        raise NotAllowed("Only a manager of the application's office can export a patient's data.")


def _value(instance: models.Model, field: models.Field[Any, Any]) -> Any:
    if isinstance(field, models.ForeignKey):
        try:
            if field.related_model is User:
                user = getattr(instance, field.name)
                return user.get_username() if user is not None else None
            if field.name == "office":
                office = getattr(instance, field.name)
                return office.code if office is not None else None
        except ObjectDoesNotExist:
            # The access log keeps rows whose user or office is gone (no database constraint).
            pass
        return getattr(instance, field.attname)
    value = getattr(instance, field.attname)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, bytes | memoryview):
        return None  # attachments' bytes are files in the ZIP
    return value


def row(instance: models.Model, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """A row as JSON-ready values: every concrete field, users by username, files by stored name."""
    skipped = {*INTERNAL_FIELDS, *exclude}
    return {
        field.name: _value(instance, field)
        for field in instance._meta.concrete_fields
        if field.name not in skipped and not isinstance(field, models.BinaryField)
    }


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"


class _Zip:
    """Files copied into the archive as they are found, each noted in the manifest or as missing."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.missing: list[dict[str, Any]] = []

    def add_file(self, file: FieldFile, path: str, *, what: str) -> str | None:
        if not file.name:
            return None
        try:
            with file.storage.open(file.name, "rb") as source, self.archive.open(path, "w") as target:
                shutil.copyfileobj(source, target)
        except (FileNotFoundError, OSError):
            self.missing.append({"what": what, "stored_name": file.name})
            return None
        return path

    def add_bytes(self, content: bytes, path: str) -> str:
        self.archive.writestr(path, content)
        return path


def _documents(application: Application, files: _Zip) -> list[dict[str, Any]]:
    rows = []
    for document in application.documents.all():
        data = row(document, exclude={"application"})
        data["file"] = files.add_file(
            document.file, f"documents/{document.pk}-{_safe(document.original_name)}", what=f"document {document.pk}"
        )
        rows.append(data)
    return rows


def _signatures(application: Application, files: _Zip) -> list[dict[str, Any]]:
    rows = []
    for signature in application.signatures.all():
        data = row(signature, exclude={"application"})
        data["pdf"] = files.add_file(
            signature.pdf, f"consent/{signature.pk}-signed.pdf", what=f"signature {signature.pk} pdf"
        )
        extension = _safe(signature.scan.name.rsplit(".", 1)[-1]) if signature.scan.name else "bin"
        data["scan"] = files.add_file(
            signature.scan, f"consent/{signature.pk}-scan.{extension}", what=f"signature {signature.pk} scan"
        )
        rows.append(data)
    return rows


def _notifications(application: Application, files: _Zip) -> list[dict[str, Any]]:
    rows = []
    for notification in Notification.objects.filter(application=application).prefetch_related("attachments"):
        data = row(notification, exclude={"application"})
        data["attachments"] = [
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "file": files.add_bytes(
                    bytes(attachment.content),
                    f"notifications/{notification.pk}/{attachment.pk}-{_safe(attachment.filename)}",
                )
                if attachment.size
                else None,
            }
            for attachment in notification.attachments.all()
        ]
        rows.append(data)
    return rows


def _reviews(application: Application) -> list[dict[str, Any]]:
    reviews: Iterable[FollowUpReview] = application.reviews.prefetch_related("answers")
    return [
        {
            **row(review, exclude={"application"}),
            "status": review.status,
            # Every version: a correction does not hide what was first answered.
            "answers": [row(answer, exclude={"review"}) for answer in review.answers.all()],
        }
        for review in reviews
    ]


def _access_log(application: Application) -> list[dict[str, Any]]:
    # Who read the record, when and how; not the staff's own addresses, which are theirs, not the patient's.
    return [row(entry, exclude={"application", "client_address"}) for entry in access_log_for_application(application)]


def application_export(
    *, application: Application, actor: Actor, out: IO[bytes], now: datetime | None = None
) -> dict[str, Any]:
    """Write the application's ZIP to `out` (a temporary file: documents can be large); returns the manifest.

    The caller looked the application up in the actor's offices (DoesNotExist, a 404, otherwise).
    """
    export_permitted(application, actor)
    now = now_or(now)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        files = _Zip(archive)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "exported_at": now,
            "exported_by": actor.user.get_username() if actor.user else None,
            "reference": application.reference,
            "application": row(application),
            "documents": _documents(application, files),
            "messages": [row(message, exclude={"application"}) for message in application.messages.all()],
            "history": [row(entry, exclude={"application"}) for entry in application.history.order_by("at", "id")],
            "notifications": _notifications(application, files),
            "treatment_days": [row(day, exclude={"application"}) for day in application.treatment_days.all()],
            "quotes": [
                {
                    **row(quote, exclude={"application"}),
                    "items": [row(item, exclude={"quote"}) for item in quote.items.all()],
                }
                for quote in application.quotes.prefetch_related("items")
            ],
            "consent_signatures": _signatures(application, files),
            "reply_obligations": [row(o, exclude={"application"}) for o in application.obligations.all()],
            "reminders": [row(r, exclude={"application"}) for r in application.reminders.all()],
            "monitoring_checks": [row(c, exclude={"application"}) for c in application.monitoring_checks.all()],
            "follow_up_reviews": _reviews(application),
            "portal_links": [row(link, exclude={"application"}) for link in application.portal_links.all()],
            "access_log": _access_log(application),
        }
        manifest["missing_files"] = files.missing
        archive.writestr("manifest.json", json.dumps(manifest, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))
    return manifest
