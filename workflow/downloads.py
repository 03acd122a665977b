"""Stored files served to staff (SPEC §11 "Uploads"): the API's and the staff pages' downloads.

Each is an attachment, never rendered inline, never sniffed, never cached. Which row may be
downloaded is the caller's scoped lookup; this module only says how a file leaves the server.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.http import FileResponse

from workflow import consent_pdf
from workflow.models import ConsentSignature, Document
from workflow.uploads import ALLOWED_EXTENSIONS


def attachment(file: Any, *, filename: str, content_type: str) -> FileResponse:
    """A stored record for download only: never rendered inline, never sniffed, never cached."""
    response = FileResponse(file.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def document_download(document: Document) -> FileResponse:
    """A medical record under the name the patient gave it, with the type checked at upload."""
    return attachment(document.file, filename=document.original_name, content_type=document.content_type)


def consent_scan_download(signature: ConsentSignature) -> FileResponse:
    """The scan of a paper consent, named after the application, not after the patient."""
    # Stored under a generated name whose extension was checked against the content at upload.
    extension = PurePath(signature.scan.name or "").suffix.lstrip(".")
    return attachment(
        signature.scan,
        filename=f"consent-{signature.application.reference}-{signature.pk}.{extension}",
        content_type=ALLOWED_EXTENSIONS.get(extension, "application/octet-stream"),
    )


def consent_pdf_download(signature: ConsentSignature) -> FileResponse:
    """The PDF frozen when the patient signed in the portal."""
    return attachment(signature.pdf, filename=consent_pdf.filename(signature), content_type="application/pdf")
