"""The signed consent's PDF (SPEC §5): what the patient signed in the portal, frozen at signing, stored
with the signature, emailed to the patient and downloadable by the office's staff."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader
from rest_framework.test import APIClient

from notifications import delivery
from notifications.models import Notification
from tests.workflow.conftest import TINY_PDF, advance, office_staff, submit
from workflow import consent_pdf, services
from workflow.actors import Actor
from workflow.models import Application, ConsentDocument, ConsentSignature

pytestmark = pytest.mark.django_db

# Tue 24 Nov 2026, 13:05:09 UTC: 18:35 in Delhi, 14:05 in Berlin.
NOW = datetime(2026, 11, 24, 13, 5, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def quoted(**patient: Any) -> Application:
    application = advance(submit(**patient), "quoted")
    services.quote_accept(application=application, actor=office_staff(application.office)["coordinator"])
    return application


def sign(application: Application, name: str = "Priya Sharma") -> ConsentSignature:
    return services.consent_sign_portal(
        application=application, signer_name=name, ip_address="203.0.113.9", user_agent="Firefox/140.0"
    )


def pdf_text(content: bytes) -> str:
    """The PDF's text with runs of white space made single: lines wrap where the page ends."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def words(text: str) -> str:
    return " ".join(text.split())


def stored_pdf(signature: ConsentSignature) -> bytes:
    with signature.pdf.open("rb") as file:
        return file.read()


def attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    found = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        found.append((part.get_filename() or "", part.get_content_type(), content))
    return found


def test_signing_in_the_portal_stores_a_pdf_of_exactly_what_was_signed() -> None:
    application = quoted()
    signature = sign(application)
    document = ConsentDocument.objects.get(version=signature.document_version, language="en")

    content = stored_pdf(signature)
    text = pdf_text(content)

    assert content.startswith(b"%PDF-")
    name = signature.pdf.name or ""
    assert name.startswith("records/") and name.endswith(".pdf")
    assert application.reference not in name and "Priya" not in name
    assert words(document.title) in text
    assert words(document.text) in text
    assert f"version {document.version}" in text
    assert signature.document_sha256 == document.sha256
    assert document.sha256 in text
    assert "Signed by (full name as typed) Priya Sharma" in text
    assert "Signed at (UTC) 2026-11-24 13:05:09 UTC" in text
    assert "Tuesday, 24 November 2026, 18:35 (Asia/Kolkata)" in text
    assert "Electronic signature in the patient portal" in text
    assert "IP address 203.0.113.9" in text
    assert "Firefox/140.0" in text
    metadata = PdfReader(io.BytesIO(content)).metadata
    assert metadata is not None and metadata.title == document.title


def test_a_german_patient_signs_the_german_text_and_a_name_with_umlauts_and_other_latin_letters_prints() -> None:
    application = quoted(
        full_name="Jürgen Groß", country="DE", office="europe", preferred_language="de", email="jg@example.de"
    )
    signature = sign(application, name="Jürgen Groß-Dvořák Łukasiewicz")
    document = ConsentDocument.objects.get(version=signature.document_version, language="de")

    text = pdf_text(stored_pdf(signature))

    assert words(document.text) in text
    assert "Jürgen Groß-Dvořák Łukasiewicz" in text
    assert "Unterschrieben am (Ortszeit des Büros) Dienstag, 24. November 2026, 14:05 (Europe/Berlin)" in text
    assert f"SHA-256 des Textes {document.sha256}" in text
    assert "Elektronische Unterschrift im Patientenportal" in text


def test_a_name_in_greek_or_cyrillic_letters_prints_too() -> None:
    signature = sign(quoted(), name="Ελένη Παπαδοπούλου Ирина Петрова")
    assert "Ελένη Παπαδοπούλου Ирина Петрова" in pdf_text(stored_pdf(signature))


def test_a_letter_the_font_cannot_draw_is_written_as_its_code_point_never_dropped() -> None:
    signature = sign(quoted(), name="Priya प्रिया")

    text = pdf_text(stored_pdf(signature))

    assert "Priya [U+092A][U+094D][U+0930][U+093F][U+092F][U+093E]" in text
    assert "written as their Unicode code points" in text


def test_a_text_that_no_longer_has_the_signed_hash_is_never_printed_as_signed() -> None:
    signature = sign(quoted())
    ConsentDocument.objects.filter(pk=signature.document_id).update(text="Something else")
    signature.refresh_from_db()

    with pytest.raises(ValueError, match="no longer has the text"):
        consent_pdf.render(signature)


def test_a_paper_consent_keeps_its_scan_and_gets_no_generated_pdf() -> None:
    application = quoted()
    signature = services.consent_record_paper(
        application=application,
        actor=office_staff(application.office)["coordinator"],
        signer_name="Priya Sharma",
        signed_at=NOW,
        scan=SimpleUploadedFile("signed.pdf", TINY_PDF, content_type="application/pdf"),
    )

    assert not signature.pdf
    assert not Notification.objects.filter(application=application, kind="consent_signed").exists()


def test_the_patient_is_emailed_the_signed_pdf_with_a_portal_link_from_the_office() -> None:
    application = quoted()
    signature = sign(application)
    email = Notification.objects.get(application=application, kind="consent_signed")

    assert email.history is not None and email.history.action == "sign_consent"
    assert delivery.deliver(email.pk)[0] == delivery.SENT

    (sent,) = [m for m in mail.outbox if m.extra_headers["Message-ID"] == email.message_id]
    message = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "priya@example.org"
    assert message["From"] == "Delhi clinic office <delhi@clinic.example>"
    assert message["Subject"] == f"Your signed consent form: {application.reference}"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "(version 1) on Tuesday, 24 November 2026, 18:35 (Asia/Kolkata)" in text.get_content()
    assert "/portal/open/" in text.get_content()
    assert "/portal/open/" in html.get_content()
    ((filename, content_type, content),) = attachments(message)
    assert filename == f"consent-{application.reference}-v1-{signature.pk}.pdf"
    assert content_type == "application/pdf"
    assert content == stored_pdf(signature)
    assert signature.document_sha256 in pdf_text(content)


def test_a_german_patient_reads_the_email_in_german() -> None:
    application = quoted(
        full_name="Jürgen Groß", country="DE", office="europe", preferred_language="de", email="jg@example.de"
    )
    sign(application, name="Jürgen Groß")
    email = Notification.objects.get(application=application, kind="consent_signed")

    assert email.subject == f"Ihre unterschriebene Einwilligungserklärung: {application.reference}"
    assert "Dienstag, 24. November 2026, 14:05 (Europe/Berlin)" in email.body_text
    assert "Im Anhang finden Sie ein PDF" in email.body_html


def test_the_signed_email_is_a_receipt_that_leaves_the_reply_promise_open() -> None:
    application = quoted()
    services.message_receive(application=application, actor=Actor.patient(), body="Is my date fixed?")

    sign(application)

    assert application.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True).count() == 1


# ---- the staff download ----


def client_for(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def pdf_path(application: Application, signature: ConsentSignature) -> str:
    return f"/api/v1/applications/{application.reference}/consent-signatures/{signature.pk}/pdf/"


def test_staff_of_the_office_download_the_signed_pdf_as_an_uncached_unsniffed_attachment(delhi_coordinator) -> None:
    application = quoted()
    signature = sign(application)

    response = client_for(delhi_coordinator).get(pdf_path(application, signature))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored_pdf(signature)  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    expected = f'attachment; filename="consent-{application.reference}-v1-{signature.pk}.pdf"'
    assert response["Content-Disposition"] == expected
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_the_signed_pdf_is_a_404_for_another_office_and_a_401_without_credentials(europe_coordinator) -> None:
    application = quoted()
    signature = sign(application)

    assert client_for(europe_coordinator).get(pdf_path(application, signature)).status_code == 404
    assert client_for().get(pdf_path(application, signature)).status_code == 401


def test_a_signature_of_another_application_is_not_reachable_through_this_one(delhi_coordinator) -> None:
    signed = quoted()
    signature = sign(signed)
    other = submit()

    assert client_for(delhi_coordinator).get(pdf_path(other, signature)).status_code == 404


def test_a_paper_signature_has_no_pdf_to_download(delhi_coordinator) -> None:
    application = quoted()
    signature = services.consent_record_paper(
        application=application,
        actor=office_staff(application.office)["coordinator"],
        signer_name="Priya Sharma",
        signed_at=NOW,
        scan=SimpleUploadedFile("signed.pdf", TINY_PDF, content_type="application/pdf"),
    )

    assert client_for(delhi_coordinator).get(pdf_path(application, signature)).status_code == 404


def test_the_application_detail_says_which_signature_has_a_pdf(delhi_coordinator) -> None:
    application = quoted()
    sign(application)

    (served,) = client_for(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/").json()["signatures"]

    assert served["has_pdf"] is True
    assert served["has_scan"] is False


def test_the_admin_signature_list_links_to_the_signed_pdf(client, delhi_coordinator) -> None:
    application = quoted()
    signature = sign(application)
    client.force_login(delhi_coordinator)

    page = client.get(f"/admin/workflow/application/{application.pk}/change/")

    assert page.status_code == 200
    assert pdf_path(application, signature).encode() in page.content
