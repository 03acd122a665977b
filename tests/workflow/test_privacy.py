"""Data protection (SPEC §11): a manager exports everything about a patient, and erases it everywhere.

The patient is built through the real services, the whole way from intake to an answered follow-up
questionnaire, with a name, email and phone that appear nowhere else, so that the search after the
erasure — every text column of every table, through PostgreSQL's catalogue, and every stored file —
can only find what the erasure missed.
"""

from __future__ import annotations

import io
import json
import os
import smtplib
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from pypdf import PdfReader
from rest_framework.test import APIClient

from notifications import delivery
from notifications.models import Notification, NotificationAttachment
from notifications.services import NOT_SENT_ERASED, notification_retry
from offices.models import Office
from security.models import AccessLogEntry
from tests.portal.conftest import patient_client
from tests.workflow.conftest import TINY_PDF, advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import AlreadyErased, Conflict, NotAllowed, TreatmentOpen
from workflow.models import Application, ConsentSignature, Document, PortalLink, QuestionnaireAnswer, TransitionLog
from workflow.reports import sla_report
from workflow.reports_follow_up import follow_up_report
from workflow.services import privacy
from workflow.services.aftercare_sweeps import follow_up_invite_sweep
from workflow.services.portal import portal_link_issue, portal_link_resolve

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
NAME = "Zephyrine Quillfeather-Okonkwo"
EMAIL = "Zephyrine.Quill@Example.ORG"
PHONE = "+91 98765 43210"
OLD_PHONE = "+91 91234 56789"
# Each as typed, as stored in lower case (the outbox keys), and the parts of the name a letter uses.
NEEDLES = [NAME, EMAIL, EMAIL.lower(), PHONE, OLD_PHONE, "Zephyrine", "Quillfeather", "9876543210"]
# A record that carries the patient's name in its bytes, as a scanned letter would.
RECORD = TINY_PDF.replace(b"%%EOF", f"% referral letter for {NAME}\n%%EOF".encode())
T0 = datetime(2026, 10, 5, 10, 0, tzinfo=IST)  # a Monday


@dataclass
class Patient:
    application: Application
    token: str
    erase_at: datetime


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """Files on disk, as in production, so that the search below reads what storage really holds."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


def deliver_all(now: datetime) -> None:
    for pk in Notification.objects.filter(status=Notification.Status.PENDING).values_list("pk", flat=True):
        delivery.deliver(pk, now=now)


def build_patient() -> Patient:
    """Intake with a record, messages both ways, a corrected phone, review, quote, consent signed in the
    portal (its PDF), admission, discharge, monitoring, follow-up answers in two versions; every email
    rendered and delivered."""
    app = submit(
        full_name=NAME,
        email=EMAIL,
        phone=OLD_PHONE,
        medical_history=f"{NAME} has had lupus since 2019.",
        current_medications="Hydroxychloroquine 200 mg",
        documents=[SimpleUploadedFile(f"{NAME} referral.pdf", RECORD, content_type="application/pdf")],
        now=T0,
    )
    staff = office_staff(app.office)
    coordinator, physician = staff["coordinator"], staff["physician"]
    at = T0
    services.message_post(
        application=app,
        actor=coordinator,
        kind="reply",
        body=f"Dear {NAME}, we will call you.",
        now=(at := at + timedelta(hours=1)),
    )
    services.message_receive(
        application=app,
        actor=Actor.patient(),
        body=f"This is {NAME}, call me on {PHONE}.",
        now=(at := at + timedelta(hours=1)),
    )
    services.application_update_details(
        application=app, actor=coordinator, changes={"phone": PHONE}, now=(at := at + timedelta(hours=1))
    )
    services.application_approve_review(
        application=app, actor=physician, review_notes=f"{NAME}: eligible.", now=(at := T0 + timedelta(days=1))
    )
    services.application_send_quote(
        application=app,
        actor=coordinator,
        items=[{"description": "Protocol", "amount": "4500.00"}],
        notes=f"For {NAME}, as discussed on {PHONE}.",
        now=(at := at + timedelta(hours=1)),
    )
    services.quote_accept(application=app, actor=coordinator, now=(at := T0 + timedelta(days=2)))
    admission = (T0 + timedelta(days=3)).date()
    services.admission_schedule(application=app, actor=coordinator, admission_date=admission, now=at)
    services.consent_sign_portal(
        application=app, signer_name=NAME, ip_address="203.0.113.9", user_agent="Firefox", now=at + timedelta(hours=1)
    )
    services.application_admit(application=app, actor=coordinator, now=T0 + timedelta(days=3))
    discharge = T0 + timedelta(days=9)
    services.application_discharge(
        application=app,
        actor=physician,
        discharge_date=discharge.date(),
        summary=f"{NAME} tolerated it well.",
        now=discharge,
    )
    services.application_start_follow_up(application=app, actor=coordinator, now=discharge + timedelta(hours=1))
    services.monitoring_outcome_record(
        application=app,
        actor=coordinator,
        hours_after=24,
        outcome="concern",
        note=f"Called {NAME} on {PHONE}: mild headache.",
        now=discharge + timedelta(hours=26),
    )
    review = app.reviews.get(months=1)
    answered = datetime.combine(review.due_date, datetime.min.time(), tzinfo=IST).replace(hour=12)
    services.review_answer_submit(
        review=review,
        application=app,
        actor=Actor.patient(),
        answers=services.Answers(
            overall_change=2,
            fatigue=3,
            joint_pain=2,
            flares=0,
            current_medications="HCQ",
            comments=f"{NAME} feels better.",
        ),
        channel="portal",
        now=answered,
    )
    services.review_answer_submit(
        review=review,
        actor=coordinator,
        answers=services.Answers(
            overall_change=1, fatigue=4, joint_pain=2, flares=1, comments=f"Correction by {NAME}."
        ),
        channel="phone",
        now=answered + timedelta(hours=2),
    )
    token = portal_link_issue(application=app, now=answered)
    deliver_all(answered + timedelta(hours=3))
    app.refresh_from_db()
    return Patient(application=app, token=token, erase_at=answered + timedelta(days=1))


@pytest.fixture
def patient(media: Path) -> Patient:
    return build_patient()


def manager_of(app: Application) -> Actor:
    return office_staff(app.office)["manager"]


def erase(patient: Patient, **overrides: Any) -> Application:
    app = patient.application
    arguments = {"reason": "Patient's request by email of 3 December", "confirm": app.reference, **overrides}
    return privacy.application_erase(application=app, actor=manager_of(app), now=patient.erase_at, **arguments)


def text_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema()
              AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')
              AND table_name IN (SELECT table_name FROM information_schema.tables
                                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
            ORDER BY table_name, column_name
            """
        )
        return list(cursor.fetchall())


def found_in_database(needles: list[str]) -> set[tuple[str, str, str]]:
    """(table, column, needle) for every text, JSON or binary column holding a needle, any case."""
    hits: set[tuple[str, str, str]] = set()
    with connection.cursor() as cursor:
        for table, column, data_type in text_columns():
            value = (
                f"encode({connection.ops.quote_name(column)}, 'escape')"
                if data_type == "bytea"
                else (f"{connection.ops.quote_name(column)}::text")
            )
            for needle in needles:
                cursor.execute(
                    f"SELECT 1 FROM {connection.ops.quote_name(table)} WHERE {value} ILIKE %s LIMIT 1",  # noqa: S608 - names from the catalogue
                    [f"%{needle}%"],
                )
                if cursor.fetchone():
                    hits.add((table, column, needle))
    return hits


def found_in_files(root: Path, needles: list[str]) -> set[tuple[str, str]]:
    hits: set[tuple[str, str]] = set()
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            content = path.read_bytes().lower()
            hits.update((str(path.relative_to(root)), n) for n in needles if n.lower().encode() in content)
    return hits


def stored_files(root: Path) -> list[str]:
    return [str(Path(d) / n) for d, _, names in os.walk(root) for n in names]


def reports(app: Application, now: datetime) -> tuple[Any, Any]:
    offices = list(Office.objects.all())
    start = (T0 - timedelta(days=7)).date()
    sla = sla_report(offices=offices, start=start, end=now.date(), now=now)
    discharge = app.discharge_date
    assert discharge is not None
    outcomes = follow_up_report(
        offices=offices, start=discharge, end=discharge + timedelta(days=800), split_protocol=True
    )
    return sla, outcomes


@pytest.mark.postgres
def test_after_erasure_no_text_column_of_any_table_and_no_stored_file_holds_the_patients_name_email_or_phone(
    patient: Patient, media: Path
) -> None:
    # One email bounced: the SMTP server's refusal, quoting the address, is kept with the row.
    app = patient.application
    services.message_post(
        application=app, actor=office_staff(app.office)["coordinator"], kind="reply", body="Hello", now=patient.erase_at
    )
    # A reply through the API with an Idempotency-Key: its answer is kept for replays.
    answer = client_for(office_staff(app.office)["coordinator"].user).post(
        url(app, "messages"),
        {"kind": "note", "body": f"Called {NAME} back"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="note-after-call",
    )
    assert answer.status_code == 201, answer.content
    refused = smtplib.SMTPRecipientsRefused({EMAIL: (550, b"5.1.1 mailbox unavailable")})
    with mock.patch.object(delivery.EmailMultiAlternatives, "send", side_effect=refused):
        deliver_all(patient.erase_at)
    assert Notification.objects.filter(status="failed", last_error__icontains=EMAIL).exists()
    before = found_in_database(NEEDLES)
    tables_before = {table for table, _, _ in before}
    # The search finds what it looks for: the patient is everywhere the services put them.
    assert {
        "workflow_application",
        "workflow_message",
        "workflow_transitionlog",
        "workflow_consentsignature",
        "workflow_questionnaireanswer",
        "workflow_document",
        "workflow_quote",
        "workflow_monitoringcheck",
        "notifications_notification",
        "security_idempotencykey",
    } <= tables_before
    assert found_in_files(media, [NAME])
    assert mail.outbox and any(EMAIL in message.to for message in mail.outbox)

    erase(patient)

    assert found_in_database(NEEDLES) == set()
    assert found_in_files(media, NEEDLES) == set()
    assert stored_files(media) == []
    assert not NotificationAttachment.objects.filter(notification__application=patient.application).exclude(size=0)


@pytest.mark.postgres
def test_the_sla_and_outcome_reports_give_the_same_figures_before_and_after_an_erasure(patient: Patient) -> None:
    app = patient.application
    before = reports(app, patient.erase_at)
    answered = [row for row in before[1]["rows"] if row["answered"]]
    assert answered and before[0][0]["opened"] == 2

    erase(patient)

    app.refresh_from_db()
    assert reports(app, patient.erase_at) == before


def test_an_open_reply_promise_is_closed_unanswered_by_the_erasure_and_the_other_figures_stay(media: Path) -> None:
    app = submit(now=T0)
    coordinator = office_staff(app.office)["coordinator"]
    services.message_post(application=app, actor=coordinator, kind="reply", body="Hi", now=T0 + timedelta(hours=1))
    services.message_receive(application=app, actor=Actor.patient(), body="A question", now=T0 + timedelta(hours=2))
    now = T0 + timedelta(hours=3)
    office = [app.office]
    before = sla_report(offices=office, start=T0.date(), end=T0.date(), now=now)[0]

    privacy.application_erase(application=app, actor=manager_of(app), reason="Request", confirm=app.reference, now=now)

    after = sla_report(offices=office, start=T0.date(), end=T0.date(), now=now)[0]
    assert (before["pending"], before["closed_unanswered"]) == (1, 0)
    assert (after["pending"], after["closed_unanswered"]) == (0, 1)
    unchanged = ("opened", "met", "breached", "percent_met", "median_reply_hours", "p90_reply_hours")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    app.refresh_from_db()
    assert app.reply_due_at is None


def test_the_erasure_keeps_states_dates_scores_and_the_audit_trail(patient: Patient) -> None:
    app = patient.application
    history_before = list(
        TransitionLog.objects.filter(application=app).values_list("action", "actor_id", "at", "from_state")
    )
    scores_before = list(
        QuestionnaireAnswer.objects.filter(review__application=app).values_list("version", "overall_change", "fatigue")
    )

    erased = erase(patient)

    assert erased.state == "in_follow_up"
    assert erased.received_at == app.received_at
    assert erased.discharge_date == app.discharge_date
    assert erased.date_of_birth.year == app.date_of_birth.year
    assert erased.erased_at == patient.erase_at
    history = list(TransitionLog.objects.filter(application=app).values_list("action", "actor_id", "at", "from_state"))
    assert history[:-1] == history_before
    assert (
        list(
            QuestionnaireAnswer.objects.filter(review__application=app).values_list(
                "version", "overall_change", "fatigue"
            )
        )
        == scores_before
    )
    last = TransitionLog.objects.filter(application=app).latest("at", "id")
    manager = manager_of(app)
    assert (last.action, last.actor, last.actor_kind) == ("erase", manager.user, "user")
    assert last.params["reason"] == "Patient's request by email of 3 December"
    assert last.params["files"] == 2  # the record and the signed consent's PDF


def test_a_second_erasure_is_refused_as_already_erased_and_changes_nothing(patient: Patient) -> None:
    erase(patient)
    rows = TransitionLog.objects.filter(application=patient.application).count()
    state = Application.objects.filter(pk=patient.application.pk).values().get()

    with pytest.raises(AlreadyErased, match="already erased"):
        erase(patient, reason="again")

    assert TransitionLog.objects.filter(application=patient.application).count() == rows
    assert Application.objects.filter(pk=patient.application.pk).values().get() == state


def test_an_admitted_patient_or_one_with_a_scheduled_admission_is_not_erased() -> None:
    admitted = advance(submit(), "admitted")
    quoted = advance(submit(), "quoted")
    coordinator = office_staff(quoted.office)["coordinator"]
    services.quote_accept(application=quoted, actor=coordinator)
    services.admission_schedule(
        application=quoted, actor=coordinator, admission_date=quoted.received_at.date() + timedelta(days=5)
    )

    for app in (admitted, quoted):
        with pytest.raises(TreatmentOpen):
            privacy.application_erase(application=app, actor=manager_of(app), reason="Request", confirm=app.reference)
        app.refresh_from_db()
        assert app.erased_at is None
        assert app.full_name == "Priya Sharma"


def test_pending_and_later_patient_emails_are_never_sent_after_an_erasure(patient: Patient) -> None:
    app = patient.application
    coordinator = office_staff(app.office)["coordinator"]
    services.message_post(
        application=app,
        actor=coordinator,
        kind="reply",
        body="One more thing",
        now=patient.erase_at - timedelta(hours=1),
    )
    pending = Notification.objects.get(application=app, status=Notification.Status.PENDING, audience="patient")
    mail.outbox.clear()

    erase(patient)
    # The 3-month questionnaire falls due after the erasure; the sweep runs as usual.
    three_months = app.reviews.get(months=3)
    assert follow_up_invite_sweep(three_months.invite_at + timedelta(minutes=1)) == 1
    deliver_all(three_months.invite_at + timedelta(minutes=2))

    assert mail.outbox == []
    pending.refresh_from_db()
    assert (pending.status, pending.last_error) == (Notification.Status.FAILED, NOT_SENT_ERASED)
    invitation = Notification.objects.get(application=app, kind="follow_up_due")
    assert (invitation.status, invitation.last_error) == (Notification.Status.FAILED, NOT_SENT_ERASED)
    with pytest.raises(Conflict, match="erased"):
        notification_retry(notification=pending, actor=manager_of(app))
    with pytest.raises(Conflict, match="erased"):
        services.message_post(application=app, actor=coordinator, kind="reply", body="Hello?")


def test_an_erased_patients_portal_links_open_nothing(patient: Patient) -> None:
    assert portal_link_resolve(token=patient.token, now=patient.erase_at) == patient.application

    erase(patient)

    assert portal_link_resolve(token=patient.token, now=patient.erase_at) is None
    assert not PortalLink.objects.filter(application=patient.application, revoked_at__isnull=True).exists()


def test_a_portal_session_opened_before_the_erasure_ends_with_it_and_its_drafts_are_deleted(media: Path) -> None:
    app = submit()
    client = patient_client(app)
    assert client.get("/portal/").status_code == 200
    other = patient_client(submit())
    # What a patient drafts in the questionnaire waits in their session.
    session = client.session
    session["portal.questionnaire"] = {"review": 1, "answers": {"comments": "a draft about me"}}
    session.save()

    privacy.application_erase(application=app, actor=manager_of(app), reason="Request", confirm=app.reference)

    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert Session.objects.filter(session_key=other.session.session_key).exists()
    assert client.get("/portal/")["Location"] == "/portal/link/"


# ---- the API ----


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(app: Application, what: str) -> str:
    return f"/api/v1/applications/{app.reference}/{what}/"


def zip_bytes(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_export_is_one_zip_with_the_manifest_the_records_and_the_signed_pdf(patient: Patient) -> None:
    app = patient.application
    response = client_for(manager_of(app).user).get(url(app, "export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{app.reference}-export.zip"'
    assert response["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(zip_bytes(response)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["application"]["full_name"] == NAME
    assert manifest["application"]["email"] == EMAIL
    assert [m["body"] for m in manifest["messages"]] == [
        f"Dear {NAME}, we will call you.",
        f"This is {NAME}, call me on {PHONE}.",
    ]
    assert {"submit", "update_details", "sign_consent", "discharge"} <= {h["action"] for h in manifest["history"]}
    changes = next(h for h in manifest["history"] if h["action"] == "update_details")["params"]["changes"]
    assert changes == {"phone": {"from": OLD_PHONE, "to": PHONE}}
    acknowledgement = next(n for n in manifest["notifications"] if n["kind"] == "intake_acknowledgement")
    assert acknowledgement["status"] == "sent" and NAME in acknowledgement["body_text"] and acknowledgement["body_html"]
    assert manifest["quotes"][0]["items"][0]["amount"] == "4500.00"
    assert len(manifest["treatment_days"]) == 7
    answers = next(r for r in manifest["follow_up_reviews"] if r["months"] == 1)["answers"]
    assert [(a["version"], a["comments"]) for a in answers] == [
        (1, f"{NAME} feels better."),
        (2, f"Correction by {NAME}."),
    ]
    assert manifest["missing_files"] == []

    document = manifest["documents"][0]
    assert archive.read(document["file"]) == RECORD
    signature = manifest["consent_signatures"][0]
    assert signature["signer_name"] == NAME
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read(signature["pdf"]))).pages)
    assert NAME in pdf_text
    attached = [a for n in manifest["notifications"] for a in n["attachments"]]
    assert {a["content_type"] for a in attached} >= {"application/pdf", "text/calendar"}
    assert all(archive.read(a["file"]) for a in attached)


def test_the_export_lists_the_access_log_with_its_own_reading_and_the_erasure_adds_a_row(patient: Patient) -> None:
    app = patient.application
    manager = manager_of(app).user
    assert manager is not None
    client = client_for(manager)
    assert client.get(f"/api/v1/applications/{app.reference}/").status_code == 200  # the detail: one read

    manifest = json.loads(zipfile.ZipFile(io.BytesIO(zip_bytes(client.get(url(app, "export"))))).read("manifest.json"))
    client.post(url(app, "erase"), {"reason": "Patient's request", "confirm": app.reference}, format="json")

    assert [(e["what"], e["outcome"], e["user"]) for e in manifest["access_log"]] == [
        ("detail", "read", manager.username),
        ("export", "read", manager.username),
    ]
    rows = AccessLogEntry.objects.filter(application_id=app.pk).order_by("at", "id")
    assert [(row.what, row.username, row.channel) for row in rows] == [
        ("detail", manager.username, "api"),
        ("export", manager.username, "api"),
        ("erase", manager.username, "api"),
    ]


def test_a_file_missing_from_storage_is_named_in_the_export_not_a_server_error(patient: Patient) -> None:
    app = patient.application
    document = Document.objects.get(application=app)
    document.file.storage.delete(str(document.file.name))

    response = client_for(manager_of(app).user).get(url(app, "export"))

    assert response.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(zip_bytes(response))).read("manifest.json"))
    assert manifest["documents"][0]["file"] is None
    assert manifest["missing_files"] == [{"what": f"document {document.pk}", "stored_name": document.file.name}]


def test_only_a_manager_of_the_applications_office_may_export_or_erase(
    media: Path, delhi_coordinator: Any, europe_manager: Any
) -> None:
    app = submit()
    body = {"reason": "Request", "confirm": app.reference}
    for user, expected in ((delhi_coordinator, 403), (europe_manager, 404)):
        assert client_for(user).get(url(app, "export")).status_code == expected
        response = client_for(user).post(url(app, "erase"), body, format="json")
        assert response.status_code == expected
    assert (
        client_for(delhi_coordinator).post(url(app, "erase"), body, format="json").json()["code"] == "permission_denied"
    )
    app.refresh_from_db()
    assert app.erased_at is None
    with pytest.raises(NotAllowed):
        privacy.application_erase(
            application=app, actor=Actor.staff(delhi_coordinator), reason="Request", confirm=app.reference
        )


def test_an_erasure_without_a_reason_or_with_a_wrong_confirmation_is_a_400_naming_the_fields(media: Path) -> None:
    app = submit()
    client = client_for(manager_of(app).user)

    empty = client.post(url(app, "erase"), {"reason": "  ", "confirm": ""}, format="json")
    wrong = client.post(url(app, "erase"), {"reason": "Request", "confirm": "DEL-2026-99999"}, format="json")
    naming = client.post(
        url(app, "erase"), {"reason": "Asked by Priya Sharma", "confirm": app.reference}, format="json"
    )

    assert empty.status_code == 400
    assert empty.json()["code"] == "invalid"
    assert set(empty.json()["fields"]) == {"reason", "confirm"}
    assert wrong.status_code == 400
    assert wrong.json()["fields"] == {"confirm": [f"Type the application's reference ({app.reference}) to confirm."]}
    assert naming.status_code == 400
    assert list(naming.json()["fields"]) == ["reason"]
    app.refresh_from_db()
    assert app.erased_at is None


def test_the_api_erases_once_and_answers_409_already_erased_the_second_time(patient: Patient) -> None:
    app = patient.application
    client = client_for(manager_of(app).user)
    body = {"reason": "Patient's request by email", "confirm": app.reference}

    first = client.post(url(app, "erase"), body, format="json")
    second = client.post(url(app, "erase"), body, format="json")

    assert first.status_code == 200
    assert first.json()["reference"] == app.reference
    assert first.json()["state"] == "in_follow_up"
    assert second.status_code == 409
    assert second.json()["code"] == "already_erased"
    assert TransitionLog.objects.filter(application=app, action="erase").count() == 1
    assert not ConsentSignature.objects.filter(application=app).exclude(pdf="").exists()


def test_the_api_refuses_to_erase_an_admitted_patient_with_409_treatment_open(media: Path) -> None:
    app = advance(submit(), "admitted")

    response = client_for(manager_of(app).user).post(
        url(app, "erase"), {"reason": "Request", "confirm": app.reference}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "treatment_open"
    assert "admitted" in response.json()["message"]
