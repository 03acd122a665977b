"""Uploaded records are served only to staff of the application's office, as attachments (SPEC §11)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.workflow.conftest import INTAKE_FORM, TINY_PDF, advance, office_staff, submit
from workflow import services
from workflow.models import Application

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def application_with_record() -> Application:
    response = client_for().post(
        "/api/v1/applications/",
        {**INTAKE_FORM, "documents": [SimpleUploadedFile("labs.pdf", TINY_PDF, content_type="application/pdf")]},
        format="multipart",
    )
    return Application.objects.get(reference=response.json()["reference"])


def download(client: APIClient, application: Application):
    document = application.documents.get()
    return client.get(f"/api/v1/applications/{application.reference}/documents/{document.pk}/")


def test_staff_of_the_office_download_a_record_as_an_uncached_unsniffed_attachment(
    application_with_record, delhi_physician
):
    response = download(client_for(delhi_physician), application_with_record)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="labs.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_staff_of_another_office_get_a_404(application_with_record, europe_coordinator):
    assert download(client_for(europe_coordinator), application_with_record).status_code == 404


def test_without_credentials_it_is_a_401(application_with_record):
    assert download(client_for(), application_with_record).status_code == 401


def test_a_record_of_another_application_is_not_reachable_through_this_one(application_with_record, delhi_coordinator):
    other = submit()
    document = application_with_record.documents.get()
    response = client_for(delhi_coordinator).get(f"/api/v1/applications/{other.reference}/documents/{document.pk}/")
    assert response.status_code == 404


def test_the_scan_of_a_paper_consent_is_downloadable_by_the_offices_staff(delhi_coordinator, europe_coordinator):
    application = advance(submit(), "quoted")
    coordinator = office_staff(application.office)["coordinator"]
    services.quote_accept(application=application, actor=coordinator)
    signature = services.consent_record_paper(
        application=application,
        actor=coordinator,
        signer_name="Priya Sharma",
        signed_at=application.received_at,
        scan=SimpleUploadedFile("signed.pdf", TINY_PDF, content_type="application/pdf"),
    )
    path = f"/api/v1/applications/{application.reference}/consent-signatures/{signature.pk}/scan/"

    response = client_for(delhi_coordinator).get(path)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="consent-{application.reference}-{signature.pk}.pdf"'
    )
    assert client_for(europe_coordinator).get(path).status_code == 404


def test_the_admin_links_each_record_to_the_checked_download(client, application_with_record, delhi_coordinator):
    client.force_login(delhi_coordinator)
    page = client.get(f"/admin/workflow/application/{application_with_record.pk}/change/").content.decode()
    document = application_with_record.documents.get()
    link = f"/api/v1/applications/{application_with_record.reference}/documents/{document.pk}/"
    assert f'href="{link}"' in page
    # The admin's session is enough; the storage's own URL never appears.
    assert client.get(link).status_code == 200
    assert document.file.name not in page
