"""Uploaded medical records and scans: type checked by content, size-limited, stored under new names."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
ALLOWED_EXTENSIONS = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_BYTES)


def sniff_type(file: Any) -> str | None:
    """The MIME type the file's first bytes prove, or None."""
    position = file.tell() if hasattr(file, "tell") else 0
    file.seek(0)
    head = file.read(8192)
    file.seek(position)
    kind = filetype.guess(head)
    return kind.mime if kind is not None else None


def validate_upload(file: Any) -> None:
    size = getattr(file, "size", None)
    limit = max_upload_bytes()
    if size is not None and size > limit:
        raise ValidationError(f"The file is {size} bytes; the limit is {limit} bytes.", code="file_too_large")
    if size == 0:
        raise ValidationError("The file is empty.", code="file_empty")
    name = getattr(file, "name", "") or ""
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError("Only PDF, JPEG and PNG files are accepted.", code="file_type")
    # A file is opened lazily by its storage; only fresh uploads can be sniffed without a read.
    if isinstance(file, UploadedFile) or hasattr(file, "file") and isinstance(file.file, UploadedFile):
        sniffed = sniff_type(file)
        if sniffed not in ALLOWED_TYPES or ALLOWED_EXTENSIONS[extension] != sniffed:
            raise ValidationError("The file's content is not the PDF, JPEG or PNG its name says.", code="file_content")


def upload_to(instance: Any, filename: str) -> str:
    """A generated name: the patient's file name never reaches the storage."""
    extension = PurePath(filename).suffix.lower().lstrip(".")
    extension = ALLOWED_TYPES.get(ALLOWED_EXTENSIONS.get(extension, ""), "bin")
    return f"records/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"
