"""One application over HTTP: detail, history, messages, assignment, transfer, quote, admission, consent."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from rest_framework.test import APIClient

from security.tokens import token_issue
from tests.workflow.conftest import advance, submit
from workflow.models import Application, ConsentSignature, Message

pytestmark = pytest.mark.django_db

TINY_PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TINY_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
# Wednesday 25 November 2026, 11:30 in Delhi.
NOW = "2026-11-25T06:00:00Z"
TODAY = "2026-11-25"


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(app: Application, tail: str = "") -> str:
    return f"/api/v1/applications/{app.reference}/{tail}"


def quoted(*, accepted: bool = False, scheduled: bool = False) -> Application:
    app = advance(submit(), "quoted")
    coordinator = User.objects.get(username="delhi-coordinator-builder")
    client = client_for(coordinator)
    if accepted:
        assert client.post(url(app, "quote/accept/")).status_code == 200
    if scheduled:
        assert client.post(url(app, "admission/"), {"admission_date": TODAY}).status_code == 200
    return app


def scan(name: str = "consent.pdf", content: bytes = TINY_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


# ---- detail ----


def test_the_detail_shows_the_application_and_what_the_caller_may_do_now(delhi_physician, delhi_coordinator):
    app = submit()

    response = client_for(delhi_physician).get(url(app))

    assert response.status_code == 200
    body = response.json()
    for name in (
        "reference",
        "state",
        "office",
        "assigned_to",
        "full_name",
        "email",
        "phone",
        "date_of_birth",
        "sex",
        "country",
        "preferred_language",
        "condition",
        "diagnosis_date",
        "current_medications",
        "medical_history",
        "treatment_request",
        "privacy_notice_version",
        "privacy_consent_at",
        "received_at",
        "reply_due_at",
        "sla",
        "documents",
        "quote",
        "signatures",
        "treatment_days",
        "protocol",
    ):
        assert name in body, name
    assert body["email"] == "priya@example.org"
    assert body["date_of_birth"] == "1985-04-12"
    assert body["office"] == "delhi"
    assert body["quote"] is None
    assert body["sla"]["status"] == "on_track"
    assert body["sla"]["due_at"] == body["reply_due_at"] == "2026-11-27T06:00:00Z"
    assert body["sla"]["working_time_left"] == 2 * 9 * 3600
    assert body["available_transitions"] == ["approve_review", "decline"]
    assert client_for(delhi_coordinator).get(url(app)).json()["available_transitions"] == ["withdraw"]


def test_the_detail_lists_documents_with_a_staff_only_download_link(delhi_coordinator):
    response = APIClient().post(
        "/api/v1/applications/",
        {
            "full_name": "Priya Sharma",
            "email": "priya@example.org",
            "date_of_birth": "1985-04-12",
            "sex": "female",
            "country": "IN",
            "condition": "SLE",
            "privacy_consent": True,
            "documents": [scan("labs.pdf")],
        },
        format="multipart",
    )
    app = Application.objects.get(reference=response.json()["reference"])

    documents = client_for(delhi_coordinator).get(url(app)).json()["documents"]

    assert len(documents) == 1
    assert set(documents[0]) == {"id", "name", "content_type", "size", "uploaded_at", "download_url"}
    assert documents[0]["download_url"] == f"/api/v1/applications/{app.reference}/documents/{documents[0]['id']}/"
    assert (documents[0]["name"], documents[0]["content_type"], documents[0]["size"]) == (
        "labs.pdf",
        "application/pdf",
        len(TINY_PDF),
    )


def test_the_detail_of_a_quoted_application_shows_its_live_quote(delhi_coordinator):
    app = quoted()

    quote = client_for(delhi_coordinator).get(url(app)).json()["quote"]

    assert quote["items"] == [{"description": "Protocol", "amount": "4500.00"}]
    assert (quote["total"], quote["currency"], quote["accepted_at"]) == ("4500.00", "INR", None)
    assert quote["valid_until"] == "2026-12-25"


def test_the_detail_of_another_offices_application_is_a_404(europe_coordinator):
    response = client_for(europe_coordinator).get(url(submit()))

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}


def test_the_detail_needs_an_office_membership(outsider):
    response = client_for(outsider).get(url(submit()))

    assert response.status_code == 403


def test_the_detail_needs_credentials_and_takes_a_token(delhi_coordinator):
    app = submit()

    assert APIClient().get(url(app)).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=delhi_coordinator)}")
    assert client.get(url(app)).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(url(app)).status_code == 401


def test_the_detail_works_with_a_session_login(delhi_coordinator):
    client = APIClient()
    # With a request, as every login does: the lockout counts by client address (docs/security.md).
    assert client.login(request=HttpRequest(), username="asha", password="pw-asha")

    assert client.get(url(submit())).status_code == 200


# ---- history ----


def test_the_history_lists_every_step_in_order_with_its_actor(delhi_coordinator, delhi_physician):
    app = submit()
    client_for(delhi_coordinator).post(url(app, "assign/"), {"user": delhi_coordinator.pk})
    client_for(delhi_physician).post(url(app, "transitions/approve_review/"), {"review_notes": "Eligible"})

    response = client_for(delhi_physician).get(url(app, "history/"))

    assert response.status_code == 200
    history = response.json()
    assert [(e["action"], e["actor"]["name"]) for e in history] == [
        ("submit", "patient"),
        ("assign", "asha"),
        ("approve_review", "dr_rao"),
    ]
    assert history[1]["params"] == {"from": None, "to": delhi_coordinator.pk}
    assert history[2]["from_state"] == "received"
    assert history[2]["to_state"] == "medically_reviewed"
    assert history[2]["at"] == NOW


def test_the_history_of_another_offices_application_is_a_404(europe_physician):
    assert client_for(europe_physician).get(url(submit(), "history/")).status_code == 404


# ---- messages ----


def test_a_reply_is_sent_and_answers_the_reply_promise(delhi_coordinator):
    app = submit()
    client = client_for(delhi_coordinator)

    response = client.post(url(app, "messages/"), {"kind": "reply", "body": "We have your records."})

    assert response.status_code == 201
    message = response.json()
    assert (message["direction"], message["body"], message["author"]) == (
        "outbound",
        "We have your records.",
        delhi_coordinator.pk,
    )
    assert message["author_name"] == "asha"
    app.refresh_from_db()
    assert app.reply_due_at is None
    assert client.get(url(app)).json()["sla"]["status"] is None


def test_an_internal_note_does_not_answer_the_patient(delhi_physician):
    app = submit()
    client = client_for(delhi_physician)

    response = client.post(url(app, "messages/"), {"kind": "note", "body": "Check the kidney function first."})

    assert response.status_code == 201
    assert response.json()["direction"] == "internal"
    app.refresh_from_db()
    assert app.reply_due_at is not None
    listed = client.get(url(app, "messages/")).json()
    assert [m["body"] for m in listed] == ["Check the kidney function first."]


@pytest.mark.parametrize(
    ("payload", "bad_field"),
    [({"kind": "shout", "body": "Hi"}, "kind"), ({"kind": "reply", "body": ""}, "body"), ({"body": "Hi"}, "kind")],
)
def test_a_bad_message_is_a_400_naming_the_field(delhi_coordinator, payload, bad_field):
    response = client_for(delhi_coordinator).post(url(submit(), "messages/"), payload)

    assert response.status_code == 400
    assert bad_field in response.json()["fields"]
    assert Message.objects.filter(direction__in=["outbound", "internal"]).count() == 0


def test_messages_of_another_office_are_a_404(europe_coordinator):
    app = submit()

    assert client_for(europe_coordinator).get(url(app, "messages/")).status_code == 404
    response = client_for(europe_coordinator).post(url(app, "messages/"), {"kind": "reply", "body": "Hi"})
    assert response.status_code == 404


# ---- assign and transfer ----


def test_a_coordinator_assigns_and_unassigns(delhi_coordinator, delhi_physician):
    app = submit()
    client = client_for(delhi_coordinator)

    assigned = client.post(url(app, "assign/"), {"user": delhi_physician.pk})
    assert assigned.status_code == 200
    assert (assigned.json()["assigned_to"], assigned.json()["assigned_to_name"]) == (delhi_physician.pk, "dr_rao")

    unassigned = client.post(url(app, "assign/"), {"user": None})
    assert unassigned.status_code == 200
    assert unassigned.json()["assigned_to"] is None


def test_assigning_to_someone_outside_the_office_is_a_400(delhi_coordinator, europe_coordinator):
    response = client_for(delhi_coordinator).post(url(submit(), "assign/"), {"user": europe_coordinator.pk})

    assert response.status_code == 400
    assert "user" in response.json()["fields"]


def test_assign_needs_the_user_field(delhi_coordinator):
    response = client_for(delhi_coordinator).post(url(submit(), "assign/"), {})

    assert response.status_code == 400
    assert "user" in response.json()["fields"]


def test_a_physician_may_not_assign(delhi_physician):
    response = client_for(delhi_physician).post(url(submit(), "assign/"), {"user": delhi_physician.pk})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_transfer_hands_the_case_over_and_keeps_the_deadline(delhi_coordinator, europe_coordinator):
    app = submit()
    due = app.reply_due_at

    response = client_for(delhi_coordinator).post(url(app, "transfer/"), {"office": "europe"})

    assert response.status_code == 200
    assert response.json() == {"reference": app.reference, "state": "received", "office": "europe", "assigned_to": None}
    app.refresh_from_db()
    assert app.reply_due_at == due
    assert client_for(delhi_coordinator).get(url(app)).status_code == 404
    assert client_for(europe_coordinator).get(url(app)).status_code == 200


@pytest.mark.parametrize(("payload", "bad_field"), [({"office": "mars"}, "office"), ({"office": "delhi"}, "office")])
def test_a_transfer_to_an_unknown_or_the_same_office_is_a_400(delhi_coordinator, payload, bad_field):
    response = client_for(delhi_coordinator).post(url(submit(), "transfer/"), payload)

    assert response.status_code == 400
    assert bad_field in response.json()["fields"]


def test_a_closed_application_cannot_be_transferred(delhi_coordinator):
    app = advance(submit(), "declined")

    response = client_for(delhi_coordinator).post(url(app, "transfer/"), {"office": "europe"})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


# ---- quote acceptance, admission date, paper consent ----


def test_staff_record_a_quote_acceptance_once(delhi_coordinator):
    app = quoted()
    client = client_for(delhi_coordinator)

    first = client.post(url(app, "quote/accept/"))
    assert first.status_code == 200
    assert first.json()["quote"]["accepted_at"] == NOW

    again = client.post(url(app, "quote/accept/"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_accepting_without_a_quote_is_a_409(delhi_coordinator):
    assert client_for(delhi_coordinator).post(url(submit(), "quote/accept/")).status_code == 409


def test_a_physician_may_not_record_an_acceptance(delhi_physician):
    assert client_for(delhi_physician).post(url(quoted(), "quote/accept/")).status_code == 403


def test_the_admission_is_scheduled_after_acceptance(delhi_coordinator):
    client = client_for(delhi_coordinator)

    early = client.post(url(quoted(), "admission/"), {"admission_date": TODAY})
    assert early.status_code == 409

    app = quoted(accepted=True)
    scheduled = client.post(url(app, "admission/"), {"admission_date": "2026-12-01"})
    assert scheduled.status_code == 200
    assert scheduled.json()["admission_date"] == "2026-12-01"


@pytest.mark.parametrize("value", ["2026-11-24", "next week", None])
def test_an_admission_date_in_the_past_or_not_a_date_is_a_400(delhi_coordinator, value):
    payload: dict[str, Any] = {} if value is None else {"admission_date": value}

    response = client_for(delhi_coordinator).post(url(quoted(accepted=True), "admission/"), payload)

    assert response.status_code == 400
    assert "admission_date" in response.json()["fields"]


def test_a_paper_consent_is_recorded_with_its_scan(delhi_coordinator):
    app = quoted(accepted=True, scheduled=True)

    response = client_for(delhi_coordinator).post(
        url(app, "consent-signatures/"),
        {"signer_name": "Priya Sharma", "signed_at": "2026-11-25T05:30:00Z", "scan": scan()},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["method"], body["signer_name"], body["has_scan"]) == ("paper", "Priya Sharma", True)
    assert body["signed_at"] == "2026-11-25T05:30:00Z"
    assert body["recorded_by"] == delhi_coordinator.pk
    assert len(body["document_sha256"]) == 64
    signature = ConsentSignature.objects.get(application=app)
    assert signature.scan.name.endswith(".pdf")
    assert "consent" not in signature.scan.name
    assert "admit" in client_for(delhi_coordinator).get(url(app)).json()["available_transitions"]


@pytest.mark.parametrize(
    ("changes", "bad_field"),
    [
        ({"signed_at": "2026-11-25T06:00:01Z"}, "signed_at"),
        ({"signed_at": "2026-11-25T05:00:00"}, "signed_at"),
        ({"signer_name": ""}, "signer_name"),
        ({"scan": SimpleUploadedFile("consent.pdf", TINY_PNG)}, "scan"),
        ({"scan": SimpleUploadedFile("consent.exe", b"MZ" * 40)}, "scan"),
        ({"scan": None}, "scan"),
    ],
)
def test_a_bad_paper_consent_is_a_400_naming_the_field(delhi_coordinator, changes, bad_field):
    app = quoted(accepted=True)
    payload = {"signer_name": "Priya Sharma", "signed_at": "2026-11-25T05:30:00Z", "scan": scan(), **changes}
    payload = {key: value for key, value in payload.items() if value is not None}

    response = client_for(delhi_coordinator).post(url(app, "consent-signatures/"), payload, format="multipart")

    assert response.status_code == 400, response.json()
    assert bad_field in response.json()["fields"]
    assert not ConsentSignature.objects.filter(application=app).exists()


def test_a_paper_consent_before_a_quote_is_a_409(delhi_coordinator):
    response = client_for(delhi_coordinator).post(
        url(submit(), "consent-signatures/"),
        {"signer_name": "Priya Sharma", "signed_at": "2026-11-25T05:30:00Z", "scan": scan()},
        format="multipart",
    )

    assert response.status_code == 409


def test_a_physician_may_not_record_a_paper_consent(delhi_physician):
    response = client_for(delhi_physician).post(
        url(quoted(accepted=True), "consent-signatures/"),
        {"signer_name": "Priya Sharma", "signed_at": "2026-11-25T05:30:00Z", "scan": scan()},
        format="multipart",
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("tail", "payload"),
    [
        ("assign/", {"user": None}),
        ("transfer/", {"office": "europe"}),
        ("quote/accept/", {}),
        ("admission/", {"admission_date": TODAY}),
    ],
)
def test_actions_on_another_offices_application_are_a_404(europe_manager, tail, payload):
    app = quoted(accepted=True)

    response = client_for(europe_manager).post(url(app, tail), payload)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "tail", ["", "history/", "messages/", "assign/", "transfer/", "quote/accept/", "admission/", "consent-signatures/"]
)
def test_every_staff_endpoint_needs_credentials(tail):
    app = submit()
    client = APIClient()

    response = client.get(url(app, tail)) if tail in ("", "history/", "messages/") else client.post(url(app, tail))

    assert response.status_code == 401
