"""Implausible values are refused with a field message (a 400), never stored and never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.workflow.conftest import INTAKE_FORM, advance, office_staff, submit
from workflow.models import Application, Quote, TransitionLog

pytestmark = pytest.mark.django_db

NOW = "2026-11-25T06:00:00Z"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "Priya \u202eamrahS" displays as "Priya Sharma"


@pytest.fixture(autouse=True)
def frozen() -> Any:
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def refused(response: Any, field: str, words: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    messages = [m for name, ms in body["fields"].items() if name == field or name.startswith(f"{field}[") for m in ms]
    assert any(words in message for message in messages), body


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"date_of_birth": "1899-12-31"}, "date_of_birth", "before 1900"),
        ({"date_of_birth": "1985-04-12", "diagnosis_date": "1984-01-01"}, "diagnosis_date", "before the date of birth"),
        ({"full_name": f"Priya {RLO}amrahS"}, "full_name", "text-direction"),
        ({"date_of_birth": "2026-02-30"}, "date_of_birth", "Date has wrong format"),
    ],
)
def test_an_implausible_intake_is_a_field_error_and_stores_nothing(
    changes: dict[str, Any], field: str, words: str
) -> None:
    response = client_for(None).post("/api/v1/applications/", {**INTAKE_FORM, **changes}, format="json")

    refused(response, field, words)
    assert not Application.objects.exists()


def test_staff_cannot_enter_a_request_received_more_than_a_year_ago(delhi_coordinator: User) -> None:
    response = client_for(delhi_coordinator).post(
        "/api/v1/applications/", {**INTAKE_FORM, "received_at": "2025-11-01T06:00:00Z"}, format="json"
    )

    refused(response, "received_at", "more than a year ago")
    assert not Application.objects.exists()


def quote(user: User, app: Application, name: str = "send_quote", **terms: Any) -> Any:
    body = {"items": [{"description": "Protocol", "amount": "4500.00"}], **terms}
    return client_for(user).post(f"/api/v1/applications/{app.reference}/transitions/{name}/", body, format="json")


@pytest.mark.parametrize(
    ("terms", "field", "words"),
    [
        ({"currency": "ABC"}, "currency", "ISO 4217"),
        ({"valid_until": "2028-01-01"}, "valid_until", "more than a year"),
        (
            {"items": [{"description": f"Line {i}", "amount": "9999999999.99"} for i in range(3)]},
            "items",
            "total cannot exceed",
        ),
    ],
)
def test_an_implausible_quote_is_a_field_error_and_changes_nothing(
    terms: dict[str, Any], field: str, words: str
) -> None:
    app = advance(submit(), "medically_reviewed")
    coordinator = office_staff(app.office)["coordinator"].user
    assert coordinator is not None

    refused(quote(coordinator, app, **terms), field, words)

    app.refresh_from_db()
    assert app.state == "medically_reviewed"
    assert not Quote.objects.filter(application=app).exists()


def test_an_admission_more_than_a_year_ahead_is_a_field_error() -> None:
    app = advance(submit(), "quoted")
    coordinator = office_staff(app.office)["coordinator"].user
    assert coordinator is not None
    client = client_for(coordinator)
    assert client.post(f"/api/v1/applications/{app.reference}/quote/accept/").status_code == 200

    response = client.post(
        f"/api/v1/applications/{app.reference}/admission/", {"admission_date": "2027-12-31"}, format="json"
    )

    refused(response, "admission_date", "more than a year ahead")
    app.refresh_from_db()
    assert app.admission_date is None


def test_a_protocol_longer_than_thirty_days_is_a_field_error() -> None:
    app = submit()
    physician = office_staff(app.office)["physician"].user
    assert physician is not None
    protocol = [{"day": day, "activities": ["rest"]} for day in range(1, 32)]

    response = client_for(physician).post(
        f"/api/v1/applications/{app.reference}/transitions/approve_review/",
        {"review_notes": "Eligible", "protocol": protocol},
        format="json",
    )

    refused(response, "protocol", "at most 30 days")
    assert not TransitionLog.objects.filter(application=app, action="approve_review").exists()


def test_a_paper_consent_signed_by_a_name_with_direction_controls_is_refused() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.workflow.conftest import TINY_PDF

    app = advance(submit(), "quoted")
    coordinator = office_staff(app.office)["coordinator"].user
    assert coordinator is not None
    signed = "2026-11-25T05:00:00Z"
    scan = SimpleUploadedFile("consent.pdf", TINY_PDF, content_type="application/pdf")

    response = client_for(coordinator).post(
        f"/api/v1/applications/{app.reference}/consent-signatures/",
        {"signer_name": f"Priya {RLO}amrahS", "signed_at": signed, "scan": scan},
        format="multipart",
    )

    refused(response, "signer_name", "text-direction")
    assert not app.signatures.exists()


def test_a_date_just_inside_each_horizon_is_accepted() -> None:
    app = advance(submit(), "medically_reviewed")
    coordinator = office_staff(app.office)["coordinator"].user
    assert coordinator is not None
    in_a_year = (app.received_at + timedelta(days=365)).date().isoformat()

    response = quote(coordinator, app, currency="eur", valid_until=in_a_year)

    assert response.status_code == 200, response.json()
    assert response.json()["quote"]["currency"] == "EUR"
