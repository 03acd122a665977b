"""Uploaded records (SPEC §3, §11): type checked by content, size-limited, stored under generated names."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ConsentSignature, Document
from workflow.uploads import sniff_type, upload_to, validate_upload

NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A valid 1×1 grey PNG, a minimal JFIF JPEG, a minimal PDF, and two executables.
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    + _png_chunk(b"IEND", b"")
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 16 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
LINUX_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    # The browser's content type is the patient's claim; validation must not trust it.
    return SimpleUploadedFile(name, content, content_type=content_type)


def code_of(error: pytest.ExceptionInfo[ValidationError]) -> str | None:
    return error.value.code


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("lab-results.pdf", PDF, "application/pdf"),
        ("MRI.JPG", JPEG, "image/jpeg"),
        ("scan.jpeg", JPEG, "image/jpeg"),
        ("x-ray.png", PNG, "image/png"),
    ],
)
def test_pdf_jpeg_and_png_are_accepted_by_their_content(name: str, content: bytes, mime: str) -> None:
    file = upload(name, content, content_type="application/octet-stream")

    validate_upload(file)

    assert sniff_type(file) == mime


def test_sniffing_leaves_the_file_where_it_was() -> None:
    file = upload("x-ray.png", PNG)
    file.seek(5)

    assert sniff_type(file) == "image/png"
    assert file.tell() == 5


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", PNG),
        ("photo.png", JPEG),
        ("photo.jpg", PDF),
        ("report.pdf", WINDOWS_EXE),
        ("report.pdf", LINUX_ELF),
        ("report.pdf", b"just some text pretending to be a PDF"),
    ],
    ids=["png-named-pdf", "jpeg-named-png", "pdf-named-jpg", "exe-named-pdf", "elf-named-pdf", "text-named-pdf"],
)
def test_a_file_whose_content_is_not_what_its_name_says_is_rejected(name: str, content: bytes) -> None:
    with pytest.raises(ValidationError) as error:
        validate_upload(upload(name, content))

    assert code_of(error) == "file_content"


@pytest.mark.parametrize("name", ["setup.exe", "records.zip", "notes.docx", "no-extension", "report.pdf.exe"])
def test_other_types_are_rejected_by_name(name: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_upload(upload(name, PDF))

    assert code_of(error) == "file_type"


def test_an_empty_file_is_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        validate_upload(upload("empty.pdf", b""))

    assert code_of(error) == "file_empty"


def test_a_file_over_the_size_limit_is_rejected(settings: Any) -> None:
    settings.MAX_UPLOAD_BYTES = 100
    at_limit = PDF + b"%" * (100 - len(PDF))

    validate_upload(upload("at-limit.pdf", at_limit))
    with pytest.raises(ValidationError) as error:
        validate_upload(upload("too-big.pdf", at_limit + b"%"))

    assert code_of(error) == "file_too_large"


@pytest.mark.parametrize(
    ("name", "extension"),
    [("Priya Sharma - lupus.pdf", "pdf"), ("../../etc/passwd.PDF", "pdf"), ("MRI.jpeg", "jpg"), ("a.exe", "bin")],
)
def test_stored_names_are_generated_never_the_patients(name: str, extension: str, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)

    first, second = upload_to(None, name), upload_to(None, name)

    assert re.fullmatch(rf"records/2026/03/[0-9a-f]{{32}}\.{extension}", first)
    assert first != second


@pytest.mark.django_db
def test_documents_sent_with_an_application_are_kept_under_generated_names(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)

    app = submit(documents=[upload("Priya Sharma biopsy.pdf", PDF, "image/png"), upload("rash.png", PNG)])

    documents = list(app.documents.order_by("id"))
    assert [(d.original_name, d.content_type, d.size) for d in documents] == [
        ("Priya Sharma biopsy.pdf", "application/pdf", len(PDF)),
        ("rash.png", "image/png", len(PNG)),
    ]
    assert re.fullmatch(r"records/2026/03/[0-9a-f]{32}\.pdf", str(documents[0].file.name))
    assert re.fullmatch(r"records/2026/03/[0-9a-f]{32}\.png", str(documents[1].file.name))
    assert "Priya" not in str(documents[0].file.name)
    assert documents[0].file.read() == PDF
    assert app.history.get().params["documents"] == 2


@pytest.mark.django_db
def test_an_application_with_a_disguised_file_is_refused_whole() -> None:
    with pytest.raises(ValidationError) as error:
        submit(documents=[upload("lab.pdf", PDF), upload("invoice.pdf", WINDOWS_EXE)])

    assert "documents" in error.value.message_dict
    assert "invoice.pdf" in error.value.message_dict["documents"][0]
    assert not Application.objects.exists()
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_too_many_documents_are_refused(settings: Any) -> None:
    with pytest.raises(ValidationError) as error:
        submit(documents=[upload(f"page-{n}.pdf", PDF) for n in range(11)])

    assert "documents" in error.value.message_dict


@pytest.mark.django_db
def test_a_paper_consent_scan_is_checked_like_any_upload(delhi_coordinator: Any, time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    app = advance(submit(), "quoted")
    coordinator = Actor.staff(delhi_coordinator)

    with pytest.raises(ValidationError) as error:
        services.consent_record_paper(
            application=app,
            actor=coordinator,
            signer_name="Priya Sharma",
            signed_at=NOW - timedelta(hours=1),
            scan=upload("consent.pdf", PNG),
        )
    assert "scan" in error.value.message_dict
    assert not ConsentSignature.objects.exists()

    signature = services.consent_record_paper(
        application=app,
        actor=coordinator,
        signer_name="Priya Sharma",
        signed_at=NOW - timedelta(hours=1),
        scan=upload("Priya consent.png", PNG),
    )
    assert re.fullmatch(r"records/2026/03/[0-9a-f]{32}\.png", str(signature.scan.name))
    assert (signature.method, signature.recorded_by) == ("paper", delhi_coordinator)
