"""Records and consent files from the staff pages: staff of the office only, as attachments (SPEC §11)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.workflow.conftest import TINY_PDF, advance, submit
from workflow.models import Application

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def with_record() -> Application:
    return submit(documents=[SimpleUploadedFile("labs.pdf", TINY_PDF, content_type="application/pdf")])


def document_url(application: Application) -> str:
    return reverse("staff:document", args=[application.reference, application.documents.get().pk])


def test_the_page_links_each_record_and_it_downloads_as_an_uncached_unsniffed_attachment(
    with_record: Application, delhi_physician: User
) -> None:
    client = signed_in(delhi_physician)
    page = client.get(reverse("staff:application", args=[with_record.reference])).content.decode()
    assert f'href="{document_url(with_record)}"' in page

    response = client.get(document_url(with_record))

    assert response.status_code == 200
    assert response.getvalue() == TINY_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="labs.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_staff_of_another_office_get_the_404_page(with_record: Application, europe_coordinator: User) -> None:
    response = signed_in(europe_coordinator).get(document_url(with_record))

    assert response.status_code == 404
    assert "Application not found" in response.content.decode()


def test_a_record_of_another_application_is_not_reachable_through_this_one(
    with_record: Application, delhi_coordinator: User
) -> None:
    other = submit()
    url = reverse("staff:document", args=[other.reference, with_record.documents.get().pk])

    assert signed_in(delhi_coordinator).get(url).status_code == 404


def test_signed_out_a_download_sends_to_the_sign_in_page(with_record: Application) -> None:
    response = Client().get(document_url(with_record))

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_the_signed_consent_pdf_downloads_from_the_page(delhi_coordinator: User) -> None:
    application = advance(submit(), "admitted")
    signature = application.signatures.get()
    url = reverse("staff:consent_pdf", args=[application.reference, signature.pk])
    client = signed_in(delhi_coordinator)
    assert f'href="{url}"' in client.get(reverse("staff:application", args=[application.reference])).content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response.getvalue().startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    # A portal signature has no scan: its scan address is not found.
    scan = reverse("staff:consent_scan", args=[application.reference, signature.pk])
    assert client.get(scan).status_code == 404
