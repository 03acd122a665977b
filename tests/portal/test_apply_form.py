"""The public application form (SPEC §1, §3, §7): every intake field, the intake service, the API's throttle."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.portal.conftest import FORM
from tests.workflow.conftest import INTAKE_FORM, TINY_PDF
from workflow.api.views import IntakeEmailThrottle, IntakeThrottle
from workflow.models import Application, Document, TransitionLog

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
# SPEC §2's first worked example: received Mon 23 Nov 10:00 in Delhi, due Thu 26 Nov 10:00 (Tue is a holiday).
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
INTAKE_FIELDS = (
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
    "office",
    "privacy_consent",
    "documents",
)


@pytest.fixture(autouse=True)
def monday() -> Any:
    with time_machine.travel(MONDAY, tick=False):
        yield


def post(client: Client | None = None, **changes: Any) -> Any:
    return (client or Client()).post("/apply/", {**FORM, **changes})


def labels_and_inputs(page: str) -> tuple[set[str], set[str]]:
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', page))
    inputs = set(re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', page))
    return labelled, inputs


def test_the_form_asks_every_intake_field_each_with_a_label() -> None:
    page = Client().get("/apply/").content.decode()

    for field in INTAKE_FIELDS:
        assert f'name="{field}' in page, field
    labelled, inputs = labels_and_inputs(page)
    assert inputs <= labelled, f"inputs without a label: {inputs - labelled}"
    assert 'name="date_of_birth_day"' in page and 'name="date_of_birth_year"' in page
    assert '<option value="IN">India</option>' in page
    assert "Let us choose for you" in page
    assert "Privacy notice (version 2026-01)" in page
    assert 'type="file"' in page and "multiple" in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_patient_applies_with_a_pdf_and_sees_the_reference_and_the_reply_by_time_in_delhi_time() -> None:
    client = Client()
    record = SimpleUploadedFile("lab-results.pdf", TINY_PDF, content_type="application/pdf")

    response = post(client, documents=[record])

    assert (response.status_code, response["Location"]) == (302, "/apply/received/")
    app = Application.objects.get()
    assert (app.office.code, app.full_name, app.state) == ("delhi", "Priya Sharma", "received")
    assert app.date_of_birth.isoformat() == "1985-04-12"
    assert app.diagnosis_date is not None and app.diagnosis_date.isoformat() == "2019-06-01"
    assert [d.original_name for d in Document.objects.filter(application=app)] == ["lab-results.pdf"]
    submitted = TransitionLog.objects.get(application=app, action="submit")
    assert (submitted.actor_kind, submitted.params["channel"]) == ("patient", "form")
    assert Notification.objects.filter(application=app, kind="intake_acknowledgement").exists()

    page = client.get("/apply/received/")
    text = page.content.decode()
    assert page.status_code == 200
    assert app.reference in text
    assert "We will reply by Thursday 26 November 2026, 10:00 India Standard Time (Asia/Kolkata)." in text
    assert "private link" in text
    assert page["Cache-Control"].count("no-store") == 1


def test_in_german_the_confirmation_names_the_time_and_zone_in_german() -> None:
    client = Client()
    client.post("/portal/language/", {"language": "de", "next": "/apply/"})
    assert '<html lang="de">' in client.get("/apply/").content.decode()

    post(client, preferred_language="de")
    page = client.get("/apply/received/").content.decode()

    assert "Antrag eingegangen" in page
    assert "Wir antworten bis Donnerstag, 26. November 2026, 10:00 Indische Normalzeit (Asia/Kolkata)." in page
    assert Application.objects.get().preferred_language == "de"


def test_let_us_choose_routes_by_country_and_a_chosen_office_is_kept() -> None:
    post(email="anna@example.org", country="DE", office="")
    post(email="rahul@example.org", country="DE", office="delhi")

    offices = dict(Application.objects.values_list("email", "office__code"))
    assert offices == {"anna@example.org": "europe", "rahul@example.org": "delhi"}


def test_missing_and_unreadable_answers_are_listed_at_the_top_and_beside_their_fields_keeping_what_was_typed() -> None:
    response = post(full_name="", date_of_birth_day="31", date_of_birth_month="2", sex="", phone="+91 555")

    page = response.content.decode()
    assert response.status_code == 200
    assert Application.objects.count() == 0
    assert "<title>Error: Apply for treatment" in page
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "There is a problem" in summary
    # Focus moves to the summary when the page loads, without JavaScript.
    assert '<div class="error-summary" aria-labelledby="error-summary-title" tabindex="-1" autofocus>' in page
    assert '<a href="#id_full_name">Enter your full name</a>' in summary
    assert '<a href="#id_date_of_birth_day">The date must be a real date, like 27 3 1985</a>' in summary
    assert '<a href="#id_sex_0">Select your sex, or prefer not to say</a>' in summary
    # The same message beside each field, tied to its input for screen readers.
    assert 'id="id_full_name-error"' in page
    assert 'aria-describedby="id_full_name-hint id_full_name-error"' in page
    # What was typed stays; files must be chosen again, and the page says so.
    assert 'value="+91 555"' in page
    assert 'value="priya@example.org"' in page
    assert 'value="31"' in page
    assert "Medical history" in page and FORM["medical_history"] in page
    assert "please choose them again" in page


def test_the_services_own_messages_show_beside_their_fields_and_nothing_is_written() -> None:
    text_file = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")

    response = post(date_of_birth_year="1850", privacy_consent="", documents=[text_file])

    page = response.content.decode()
    assert response.status_code == 200
    assert '<a href="#id_date_of_birth_day">The date of birth cannot be before 1900.</a>' in page
    assert '<a href="#id_privacy_consent">The privacy notice must be accepted.</a>' in page
    assert '<a href="#id_documents">notes.txt: Only PDF, JPEG and PNG files are accepted.</a>' in page
    assert Application.objects.count() == 0
    assert Notification.objects.count() == 0


def test_the_services_messages_are_shown_in_german_on_the_german_form() -> None:
    client = Client()
    client.post("/portal/language/", {"language": "de", "next": "/apply/"})

    page = post(client, date_of_birth_year="1850", privacy_consent="").content.decode()

    assert "Es gibt ein Problem" in page
    assert "Das Geburtsdatum kann nicht vor 1900 liegen." in page
    assert "Der Datenschutzhinweis muss akzeptiert werden." in page


@pytest.mark.parametrize(
    "changes",
    [
        {"full_name": "x" * 5000},
        {"full_name": "Priya\x00Sharma"},
        {"medical_history": "a\x00b"},
        {"date_of_birth_day": "ab", "date_of_birth_month": "-1", "date_of_birth_year": "99999"},
        {"date_of_birth_day": "12", "date_of_birth_month": "", "date_of_birth_year": "1985"},
        {"country": "XX"},
        {"office": "mars"},
        {"sex": "unknown"},
        {"preferred_language": "fr"},
        {"email": "@@"},
        {"full_name": "Priya \u202eSharma"},
        {"diagnosis_date_year": "2099", "diagnosis_date_month": "1", "diagnosis_date_day": "1"},
    ],
)
def test_bad_input_is_a_field_message_never_a_500_and_writes_nothing(changes: dict[str, str]) -> None:
    response = post(None, **changes)

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert Application.objects.count() == 0


def test_a_form_submission_and_an_api_intake_count_against_one_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IntakeThrottle, "rate", "2/minute", raising=False)

    assert APIClient().post("/api/v1/applications/", INTAKE_FORM, format="json").status_code == 201
    assert post().status_code == 302
    assert APIClient().post("/api/v1/applications/", INTAKE_FORM, format="json").status_code == 429
    refused = post(full_name="Priya Throttled")

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "There have been too many applications from your connection. Please try again in 1 minute." in page
    # Nothing was read into an application, but what was typed is still there.
    assert 'value="Priya Throttled"' in page
    assert Application.objects.count() == 2


def test_an_api_intake_and_a_form_submission_share_the_count_the_other_way_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(IntakeThrottle, "rate", "2/minute", raising=False)

    assert post().status_code == 302
    assert post().status_code == 302
    assert APIClient().post("/api/v1/applications/", INTAKE_FORM, format="json").status_code == 429


def test_each_client_address_has_its_own_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IntakeThrottle, "rate", "1/minute", raising=False)

    assert Client(REMOTE_ADDR="198.51.100.1").post("/apply/", FORM).status_code == 302
    assert Client(REMOTE_ADDR="198.51.100.1").post("/apply/", FORM).status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.2").post("/apply/", FORM).status_code == 302


def test_too_many_applications_with_one_email_address_is_a_message_beside_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(IntakeEmailThrottle, "rate", "2/minute", raising=False)
    email = FORM["email"]

    # The form and the API count together, whatever the connection and however the address is spelled.
    assert Client(REMOTE_ADDR="198.51.100.1").post("/apply/", {**FORM, "email": email.upper()}).status_code == 302
    api = APIClient(REMOTE_ADDR="198.51.100.2").post("/api/v1/applications/", {**INTAKE_FORM, "email": email})
    assert api.status_code == 201
    refused = Client(REMOTE_ADDR="198.51.100.3").post("/apply/", {**FORM, "email": f" {email} "})

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "There is a problem" in page
    message = "There have been too many applications with this email address. Please try again in 1 minute."
    assert page.count(message) == 2  # in the summary and beside the field
    assert 'href="#id_email"' in page
    assert Application.objects.count() == 2


def test_the_receipt_page_without_a_submission_goes_back_to_the_form() -> None:
    response = Client().get("/apply/received/")

    assert (response.status_code, response["Location"]) == (302, "/apply/")


def test_more_files_than_a_request_may_carry_is_a_400_not_a_500_and_writes_nothing() -> None:
    files = [SimpleUploadedFile(f"record-{i}.pdf", TINY_PDF, content_type="application/pdf") for i in range(51)]

    response = post(documents=files)

    assert response.status_code == 400
    assert Application.objects.count() == 0


def test_eleven_records_are_a_field_error_beside_the_upload() -> None:
    files = [SimpleUploadedFile(f"record-{i}.pdf", TINY_PDF, content_type="application/pdf") for i in range(11)]

    page = post(documents=files).content.decode()

    assert '<a href="#id_documents">At most 10 files.</a>' in page
    assert Application.objects.count() == 0
