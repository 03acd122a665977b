"""One patient's session never reaches another application (SPEC §7), whatever is put in a URL or a form."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.portal.conftest import PORTAL_PAGES, patient_client
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, ConsentSignature, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def priya() -> Application:
    """The patient whose link was opened."""
    return advance(submit(full_name="Priya Sharma", email="priya@example.org"), "quoted")


@pytest.fixture
def other() -> Application:
    """Another patient, a quote waiting and a message from the office: none of it may show to Priya."""
    app = advance(submit(full_name="Zoltan Outsiderson", email="zoltan@example.org", country="DE"), "quoted")
    services.message_post(
        application=app, actor=office_staff(app.office)["coordinator"], kind="reply", body="OTHER-PATIENT-MESSAGE"
    )
    return app


def secrets_of(app: Application) -> list[str]:
    return [app.full_name, app.email, app.reference, "OTHER-PATIENT-MESSAGE"]


def guesses(app: Application) -> list[str]:
    """Every way of naming the other application in a URL that we could think of."""
    ref, pk = app.reference, app.pk
    urls = [
        f"{page}?{key}={value}"
        for page in PORTAL_PAGES
        for key in ("reference", "application", "id", "pk")
        for value in (ref, pk)
    ]
    urls += [f"{page}{value}/" for page in PORTAL_PAGES for value in (ref, pk)]
    urls += [
        f"/portal/{ref}/",
        f"/portal/{pk}/",
        f"/portal/applications/{ref}/",
        f"/portal/open/{ref}/",
        f"/portal/open/{pk}/",
        f"/portal/open/{ref}/?next=quote",
        f"/apply/received/?reference={ref}",
        f"/apply/received/{pk}/",
        f"/portal/?next=/api/v1/applications/{ref}/",
    ]
    return urls


def test_no_url_shows_another_applications_data(priya: Application, other: Application) -> None:
    client = patient_client(priya)

    for url in guesses(other):
        response = client.get(url, follow=True)
        text = response.content.decode()
        assert response.status_code in {200, 404}, url
        for secret in secrets_of(other):
            assert secret not in text, (url, secret)
    # The session is still Priya's, and still bound.
    assert priya.reference in client.get("/portal/").content.decode()


def test_the_api_does_not_open_to_a_portal_session(priya: Application, other: Application) -> None:
    client = patient_client(priya)

    for url in (f"/api/v1/applications/{priya.reference}/", f"/api/v1/applications/{other.reference}/"):
        response = client.get(url)
        assert response.status_code in {401, 403}, url
        assert other.full_name not in response.content.decode()


def test_posted_ids_and_references_act_on_the_sessions_application_only(priya: Application, other: Application) -> None:
    client = patient_client(priya)
    forged = {"application": other.pk, "application_id": other.pk, "reference": other.reference, "pk": other.pk}

    client.post(f"/portal/messages/?application={other.pk}", {"body": "Which one am I?", **forged})
    client.post(f"/portal/quote/?reference={other.reference}", forged)
    client.post(
        "/portal/consent/",
        {"signer_name": "Priya Sharma", "understood": "on", "sha256": "x", **forged},
    )
    client.post("/portal/withdraw/", {"reason": "Moving", "confirm": "yes", **forged})

    assert Message.objects.get(body="Which one am I?").application_id == priya.pk
    other.refresh_from_db()
    assert other.state == "quoted"
    assert other.quotes.get(superseded_at__isnull=True).accepted_at is None
    assert not ConsentSignature.objects.filter(application=other).exists()
    assert not Message.objects.filter(application=other, direction="inbound").exists()
    priya.refresh_from_db()
    assert priya.state == "withdrawn"


def test_a_session_cookie_planted_with_an_application_id_opens_nothing(other: Application) -> None:
    """The binding is stored server-side; a client cannot write it."""
    client = Client()
    client.cookies["portal.application"] = str(other.pk)
    client.cookies["sessionid"] = "forged-session-key"

    for url in PORTAL_PAGES:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, "/portal/link/"), url


def test_the_receipt_shows_only_the_application_this_browser_submitted(other: Application) -> None:
    response = Client().get(f"/apply/received/?reference={other.reference}")

    assert (response.status_code, response["Location"]) == (302, "/apply/")
