"""Whole lives of an application driven over HTTP only, as a client of the API would."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.workflow.conftest import INTAKE_FORM, TINY_PDF

pytestmark = pytest.mark.django_db

# Wednesday 25 November 2026, 11:30 in Delhi: a working day.
NOW = "2026-11-25T06:00:00Z"
TODAY = "2026-11-25"

INTAKE = INTAKE_FORM


@pytest.fixture(autouse=True)
def frozen_time():
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def run(user: User, reference: str, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client_for(user).post(f"/api/v1/applications/{reference}/transitions/{name}/", params or {})
    assert response.status_code == 200, response.json()
    body = response.json()
    return body


def apply() -> str:
    response = APIClient().post("/api/v1/applications/", INTAKE)
    assert response.status_code == 201, response.json()
    return response.json()["reference"]


def steps(user: User, reference: str) -> list[tuple[str, str, str]]:
    response = client_for(user).get(f"/api/v1/applications/{reference}/history/")
    assert response.status_code == 200
    return [(e["action"], e["to_state"], e["actor"]["name"]) for e in response.json()]


def test_an_application_goes_from_the_form_to_follow_up_over_http(delhi_coordinator, delhi_physician):
    reference = apply()

    body = run(delhi_physician, reference, "approve_review", {"review_notes": "Eligible for the protocol"})
    assert body["state"] == "medically_reviewed"

    body = run(
        delhi_coordinator,
        reference,
        "send_quote",
        {"items": [{"description": "Seven-day protocol", "amount": "4500.00"}], "notes": "All inclusive"},
    )
    assert body["state"] == "quoted"
    assert body["quote"]["total"] == "4500.00"
    assert body["quote"]["currency"] == "INR"

    coordinator = client_for(delhi_coordinator)
    accepted = coordinator.post(f"/api/v1/applications/{reference}/quote/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["quote"]["accepted_at"] is not None

    scheduled = coordinator.post(f"/api/v1/applications/{reference}/admission/", {"admission_date": TODAY})
    assert scheduled.status_code == 200
    assert scheduled.json()["admission_date"] == TODAY

    signed = coordinator.post(
        f"/api/v1/applications/{reference}/consent-signatures/",
        {
            "signer_name": "Priya Sharma",
            "signed_at": "2026-11-25T05:00:00Z",
            "scan": SimpleUploadedFile("consent.pdf", TINY_PDF, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert signed.status_code == 201, signed.json()
    assert signed.json()["method"] == "paper"

    detail = coordinator.get(f"/api/v1/applications/{reference}/").json()
    assert detail["available_transitions"] == ["admit", "revise_quote", "withdraw"]

    body = run(delhi_coordinator, reference, "admit")
    assert body["state"] == "admitted"
    assert [day["day"] for day in body["treatment_days"]] == [1, 2, 3, 4, 5, 6, 7]
    assert body["treatment_days"][0]["date"] == TODAY

    body = run(delhi_physician, reference, "discharge", {"discharge_date": TODAY, "summary": "Tolerated well"})
    assert body["state"] == "discharged"

    body = run(delhi_coordinator, reference, "start_follow_up")
    assert body["state"] == "in_follow_up"

    assert steps(delhi_coordinator, reference) == [
        ("submit", "received", "patient"),
        ("approve_review", "medically_reviewed", "dr_rao"),
        ("send_quote", "quoted", "asha"),
        ("accept_quote", "quoted", "asha"),
        ("schedule_admission", "quoted", "asha"),
        ("sign_consent", "quoted", "asha"),
        ("admit", "admitted", "asha"),
        ("discharge", "discharged", "dr_rao"),
        ("start_follow_up", "in_follow_up", "asha"),
    ]


def test_a_declined_application_ends_there_and_says_who_declined_it(delhi_coordinator, delhi_physician):
    reference = apply()

    body = run(delhi_physician, reference, "decline", {"reason": "Not eligible"})

    assert body["state"] == "declined"
    assert body["decline_reason"] == "Not eligible"
    assert body["available_transitions"] == []
    assert body["reply_due_at"] is None
    assert steps(delhi_coordinator, reference) == [
        ("submit", "received", "patient"),
        ("decline", "declined", "dr_rao"),
    ]


def test_a_withdrawn_application_ends_there_and_says_who_withdrew_it(delhi_coordinator, delhi_physician):
    reference = apply()
    run(delhi_physician, reference, "approve_review", {"review_notes": "Eligible"})
    run(delhi_coordinator, reference, "send_quote", {"items": [{"description": "Protocol", "amount": "4500"}]})

    body = run(delhi_coordinator, reference, "withdraw", {"reason": "The patient chose another clinic"})

    assert body["state"] == "withdrawn"
    assert body["withdraw_reason"] == "The patient chose another clinic"
    history = client_for(delhi_physician).get(f"/api/v1/applications/{reference}/history/").json()
    assert [(e["action"], e["from_state"], e["to_state"]) for e in history] == [
        ("submit", "", "received"),
        ("approve_review", "received", "medically_reviewed"),
        ("send_quote", "medically_reviewed", "quoted"),
        ("withdraw", "quoted", "withdrawn"),
    ]
    assert history[-1]["actor"] == {"kind": "user", "id": delhi_coordinator.pk, "name": "asha"}
    assert history[-1]["params"] == {"reason": "The patient chose another clinic"}
    assert history[0]["actor"] == {"kind": "patient", "id": None, "name": "patient"}
