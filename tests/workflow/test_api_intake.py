"""The public intake form over HTTP: routing, validation, uploads, staff entry and throttling."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.workflow.conftest import INTAKE_FORM, TINY_PDF
from workflow.api.views import IntakeEmailThrottle, IntakeThrottle
from workflow.models import Application, Document, TransitionLog

pytestmark = pytest.mark.django_db

URL = "/api/v1/applications/"
TINY_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
NOW = "2026-11-25T06:00:00Z"
FORM = INTAKE_FORM


@pytest.fixture(autouse=True)
def fresh_throttle_and_frozen_time():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def apply(client: APIClient | None = None, *, format: str = "json", **changes: Any) -> Any:
    data = {**FORM, **changes}
    return (client or APIClient()).post(URL, data, format=format)


def pdf(name: str = "lab-results.pdf", content: bytes = TINY_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_patient_applies_with_json_and_gets_only_the_reference_and_deadline_back():
    response = apply()

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"reference", "state", "office", "received_at", "reply_due_at"}
    assert body["reference"].startswith("DEL-2026-")
    assert body["state"] == "received"
    assert body["office"] == "delhi"
    assert body["received_at"] == "2026-11-25T06:00:00Z"
    # Two Delhi working days: Wed 11:30 → Fri 11:30 local.
    assert body["reply_due_at"] == "2026-11-27T06:00:00Z"
    application = Application.objects.get(reference=body["reference"])
    assert application.full_name == "Priya Sharma"
    submitted = TransitionLog.objects.get(application=application)
    assert (submitted.action, submitted.actor_kind) == ("submit", "patient")


@pytest.mark.parametrize(("country", "office"), [("IN", "delhi"), ("DE", "europe"), ("US", "europe"), ("NG", "delhi")])
def test_an_application_without_an_office_is_routed_by_country(country, office):
    response = apply(country=country)

    assert response.status_code == 201
    assert response.json()["office"] == office


def test_the_office_the_patient_chooses_wins_over_the_country():
    response = apply(country="IN", office="europe")

    assert response.status_code == 201
    assert response.json()["office"] == "europe"
    assert response.json()["reference"].startswith("EUR-")


@pytest.mark.parametrize(
    ("changes", "bad_field"),
    [
        ({"privacy_consent": False}, "privacy_consent"),
        ({"country": "XX"}, "country"),
        ({"country": "DEU"}, "country"),
        ({"office": "mars"}, "office"),
        ({"email": "not-an-email"}, "email"),
        ({"sex": "unknown"}, "sex"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth"),
        ({"diagnosis_date": "2027-01-01"}, "diagnosis_date"),
        ({"full_name": ""}, "full_name"),
    ],
)
def test_invalid_fields_are_a_400_naming_each_field(changes, bad_field):
    response = apply(**changes)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert bad_field in body["fields"]
    assert bad_field in body["message"]
    assert Application.objects.count() == 0


def test_missing_required_fields_are_all_named():
    response = APIClient().post(URL, {}, format="json")

    assert response.status_code == 400
    assert {"full_name", "email", "date_of_birth", "sex", "country", "condition", "privacy_consent"} <= set(
        response.json()["fields"]
    )


def test_a_patient_cannot_set_the_time_received():
    response = apply(received_at="2026-11-24T06:00:00Z")

    assert response.status_code == 400
    assert "received_at" in response.json()["fields"]


def test_staff_enter_a_phone_request_with_its_real_arrival_and_get_the_full_application(delhi_coordinator):
    response = apply(client_for(delhi_coordinator), received_at="2026-11-23T04:30:00Z")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["received_at"] == "2026-11-23T04:30:00Z"
    # SPEC §2 worked example: Mon 10:00 Delhi, Tuesday a holiday → Thursday 10:00.
    assert body["reply_due_at"] == "2026-11-26T04:30:00Z"
    assert body["email"] == "priya@example.org"
    assert "available_transitions" in body
    submitted = TransitionLog.objects.get(application__reference=body["reference"])
    assert (submitted.actor_kind, submitted.actor) == ("user", delhi_coordinator)


def test_staff_cannot_enter_a_request_received_in_the_future(delhi_coordinator):
    response = apply(client_for(delhi_coordinator), received_at="2026-11-25T06:00:01Z")

    assert response.status_code == 400
    assert "received_at" in response.json()["fields"]


def test_a_time_received_without_a_utc_offset_is_refused(delhi_coordinator):
    response = apply(client_for(delhi_coordinator), received_at="2026-11-23T10:00:00")

    assert response.status_code == 400
    assert "received_at" in response.json()["fields"]


def test_staff_enter_requests_only_for_their_own_offices(delhi_coordinator):
    response = apply(client_for(delhi_coordinator), office="europe", received_at="2026-11-23T04:30:00Z")

    assert response.status_code == 400
    assert "office" in response.json()["fields"]


def test_staff_cannot_enter_an_application_for_an_office_they_do_not_work_for(delhi_coordinator):
    response = apply(client_for(delhi_coordinator), country="DE")

    assert response.status_code == 400
    assert "office" in response.json()["fields"]
    assert not Application.objects.exists()


def test_a_signed_in_user_with_no_office_applies_as_a_patient(outsider):
    response = apply(client_for(outsider))

    assert response.status_code == 201
    assert set(response.json()) == {"reference", "state", "office", "received_at", "reply_due_at"}


def test_a_multipart_application_stores_every_valid_document():
    response = apply(format="multipart", documents=[pdf("priya-labs.pdf"), pdf("priya-mri.pdf")])

    assert response.status_code == 201, response.json()
    documents = Document.objects.filter(application__reference=response.json()["reference"])
    assert sorted(d.original_name for d in documents) == ["priya-labs.pdf", "priya-mri.pdf"]
    assert {d.content_type for d in documents} == {"application/pdf"}
    assert {d.size for d in documents} == {len(TINY_PDF)}
    # Stored under generated names, never the patient's.
    assert all("priya" not in d.file.name for d in documents)


def test_a_multipart_application_without_documents_is_fine():
    response = apply(format="multipart")

    assert response.status_code == 201


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("scan.pdf", TINY_PNG, content_type="application/pdf"),
        SimpleUploadedFile("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 8, content_type="application/octet-stream"),
        SimpleUploadedFile("notes.pdf", b"just some text, not a PDF", content_type="application/pdf"),
    ],
    ids=["png-named-pdf", "exe", "text-named-pdf"],
)
def test_a_file_whose_content_is_not_an_accepted_type_is_a_400(upload):
    response = apply(format="multipart", documents=[upload])

    assert response.status_code == 400
    assert "documents" in response.json()["fields"]
    assert Application.objects.count() == 0
    assert Document.objects.count() == 0


def test_an_oversized_file_is_a_400(settings):
    settings.MAX_UPLOAD_BYTES = 16

    response = apply(format="multipart", documents=[pdf()])

    assert response.status_code == 400
    assert "documents" in response.json()["fields"]
    assert Application.objects.count() == 0


def test_anonymous_intake_is_throttled_with_the_error_shape(monkeypatch):
    monkeypatch.setattr(IntakeThrottle, "rate", "2/minute", raising=False)

    assert apply().status_code == 201
    assert apply().status_code == 201
    response = apply()

    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["message"]
    assert body["retry_after"] > 0
    assert Application.objects.count() == 2


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(monkeypatch):
    monkeypatch.setattr(IntakeThrottle, "rate", "2/minute", raising=False)
    client = APIClient()

    answers = [
        client.post(URL, FORM, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(3)
    ]

    # With no trusted proxy (NUM_PROXIES=0) the address counted is REMOTE_ADDR, whatever the header says.
    assert answers == [201, 201, 429]
    assert Application.objects.count() == 2


def test_staff_entering_requests_are_not_throttled_like_anonymous_patients(monkeypatch, delhi_coordinator):
    monkeypatch.setattr(IntakeThrottle, "rate", "1/minute", raising=False)
    staff = client_for(delhi_coordinator)

    responses = [apply(staff, received_at="2026-11-24T06:00:00Z") for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 201]


def test_intake_is_throttled_per_email_address_whatever_the_client_address(monkeypatch):
    monkeypatch.setattr(IntakeEmailThrottle, "rate", "2/minute", raising=False)
    spellings = ["priya@example.org", " Priya@Example.ORG ", "PRIYA@example.org\t"]

    answers = [
        apply(APIClient(REMOTE_ADDR=f"198.51.100.{i}"), email=email) for i, email in enumerate(spellings, start=1)
    ]

    assert [a.status_code for a in answers[:2]] == [201, 201]
    refused = answers[2]
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled"
    assert "email address" in body["message"]
    assert body["retry_after"] > 0
    assert Application.objects.count() == 2
    assert TransitionLog.objects.count() == 2


def test_another_email_address_is_not_held_back_by_one_that_is_throttled(monkeypatch):
    monkeypatch.setattr(IntakeEmailThrottle, "rate", "1/minute", raising=False)

    assert apply(email="priya@example.org").status_code == 201
    assert apply(email="priya@example.org").status_code == 429
    assert apply(email="ravi@example.org").status_code == 201


def test_a_malformed_submission_does_not_count_against_the_email_address(monkeypatch):
    monkeypatch.setattr(IntakeEmailThrottle, "rate", "1/minute", raising=False)

    assert apply(date_of_birth="not a date").status_code == 400
    assert apply().status_code == 201


def test_staff_entering_requests_are_not_throttled_per_email_address(monkeypatch, delhi_coordinator):
    monkeypatch.setattr(IntakeEmailThrottle, "rate", "1/minute", raising=False)
    staff = client_for(delhi_coordinator)

    responses = [apply(staff, received_at="2026-11-24T06:00:00Z") for _ in range(2)]

    assert [r.status_code for r in responses] == [201, 201]


def test_the_email_throttle_keeps_no_address_in_the_cache(monkeypatch):
    import redis
    from django.conf import settings as django_settings

    monkeypatch.setattr(IntakeEmailThrottle, "rate", "5/minute", raising=False)
    apply(email="priya@example.org")

    keys = b" ".join(redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"]).keys("*"))
    assert b"intake_email" in keys
    assert b"priya" not in keys.lower()


def test_files_over_the_total_per_application_are_a_field_error_and_store_nothing(settings):
    settings.MAX_INTAKE_UPLOAD_BYTES = 1024 * 1024
    big = TINY_PDF + b"%" + b"0" * (600 * 1024)

    response = apply(format="multipart", documents=[pdf("a.pdf", big), pdf("b.pdf", big)])

    assert response.status_code == 400
    assert response.json()["fields"]["documents"] == ["The files together may be at most 1 MB."]
    assert not Application.objects.exists()
    assert not Document.objects.exists()
    # One of them alone fits.
    assert apply(format="multipart", documents=[pdf("a.pdf", big)]).status_code == 201


def test_more_than_ten_documents_is_a_field_error_and_stores_nothing():
    response = apply(format="multipart", documents=[pdf(f"record-{i}.pdf") for i in range(11)])

    assert response.status_code == 400
    assert response.json()["fields"]["documents"] == ["At most 10 files."]
    assert not Application.objects.exists()
    assert not Document.objects.exists()
