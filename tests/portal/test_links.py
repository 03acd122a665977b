"""Private links on the pages' side (SPEC §7, §11): the exchange for a session, and fresh links by email."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from portal.web import SESSION_APPLICATION
from tests.portal.conftest import PORTAL_PAGES, open_portal, patient_client, without_csrf
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import PortalLink
from workflow.services.portal import portal_link_issue

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=IST)


def test_opening_a_link_binds_the_session_to_its_application_and_redirects_to_a_url_without_the_token() -> None:
    app = submit()
    client = Client()
    token = portal_link_issue(application=app, now=timezone.now())

    response = client.get(f"/portal/open/{token}/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert token not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.session[SESSION_APPLICATION] == app.pk
    page = client.get("/portal/")
    assert page.status_code == 200
    assert app.reference in page.content.decode()
    assert token not in page.content.decode()


@pytest.mark.parametrize(
    ("landing", "location"),
    [
        ("status", "/portal/"),
        ("messages", "/portal/messages/"),
        ("quote", "/portal/quote/"),
        ("consent", "/portal/consent/"),
        ("withdraw", "/portal/withdraw/"),
        ("https://evil.example/", "/portal/"),
        ("//evil.example", "/portal/"),
        ("../admin/", "/portal/"),
    ],
)
def test_the_landing_page_comes_from_a_whitelisted_next(landing: str, location: str) -> None:
    response = open_portal(Client(), submit(), landing)

    assert response.status_code == 302
    assert response["Location"] == location


def test_opening_a_link_gives_a_new_session_key_and_csrf_token() -> None:
    client = Client()
    client.get("/apply/")
    before_session = client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    before_csrf = client.cookies["csrftoken"].value
    # A session that existed before the link was opened (a fixation attempt) must not be the one bound.
    session = client.session
    session["something"] = "planted"
    session.save()
    planted = session.session_key

    open_portal(client, submit())

    assert client.cookies["sessionid"].value not in {planted, before_session}
    assert client.cookies["csrftoken"].value != before_csrf


def test_opening_another_applications_link_replaces_the_binding() -> None:
    first, second = submit(full_name="Priya Sharma"), submit(full_name="Rahul Verma", email="rahul@example.org")
    client = patient_client(first)

    open_portal(client, second)

    page = client.get("/portal/").content.decode()
    assert second.reference in page
    assert first.reference not in page
    assert client.session[SESSION_APPLICATION] == second.pk


@pytest.mark.parametrize("kind", ["expired", "revoked", "tampered", "unknown", "too long"])
def test_a_link_that_opens_nothing_shows_a_friendly_404_with_the_fresh_link_form(kind: str) -> None:
    app = submit(now=NOW)
    with time_machine.travel(NOW, tick=False):
        token = portal_link_issue(application=app, now=NOW)
    at = NOW + timedelta(minutes=5)
    if kind == "expired":
        at = NOW + timedelta(days=30, seconds=1)
    elif kind == "revoked":
        services.portal_links_revoke(application=app, actor=office_staff(app.office)["coordinator"], now=NOW)
    elif kind == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif kind == "unknown":
        token = "x" * 43
    else:
        token = "x" * 500
    client = Client()

    with time_machine.travel(at, tick=False):
        response = client.get(f"/portal/open/{token}/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "This link does not work" in page
    assert 'action="/portal/link/"' in page
    assert 'name="email"' in page
    assert response["Referrer-Policy"] == "no-referrer"
    assert SESSION_APPLICATION not in client.session
    assert app.reference not in page


def test_without_a_session_every_portal_page_sends_the_patient_to_the_fresh_link_form() -> None:
    client = Client()
    for url in PORTAL_PAGES:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, "/portal/link/"), url
        assert response["Referrer-Policy"] == "no-referrer"


def test_revoking_the_links_ends_a_session_opened_before() -> None:
    app = submit()
    client = patient_client(app)
    assert client.get("/portal/").status_code == 200

    services.portal_links_revoke(application=app, actor=office_staff(app.office)["coordinator"])

    assert client.get("/portal/")["Location"] == "/portal/link/"
    # A fresh link sent after the revocation opens the portal again.
    open_portal(client, app)
    assert client.get("/portal/").status_code == 200


def test_a_portal_session_lasts_twelve_hours_from_the_link() -> None:
    app = submit(now=NOW)
    client = Client()
    with time_machine.travel(NOW, tick=False):
        open_portal(client, app)
    with time_machine.travel(NOW + timedelta(hours=11, minutes=59), tick=False):
        assert client.get("/portal/").status_code == 200
    with time_machine.travel(NOW + timedelta(hours=12), tick=False):
        assert client.get("/portal/").status_code == 302


def test_leaving_ends_the_session_on_this_device() -> None:
    app = submit()
    client = patient_client(app)

    response = client.post("/portal/leave/")

    assert response.status_code == 200
    assert "You have left your private pages" in response.content.decode()
    assert client.get("/portal/")["Location"] == "/portal/link/"


def test_the_fresh_link_answer_is_the_same_for_a_known_and_an_unknown_address() -> None:
    app = submit(email="priya@example.org")
    PortalLink.objects.all().delete()

    known = Client().post("/portal/link/", {"email": "Priya@Example.org"})
    unknown = Client().post("/portal/link/", {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 200
    assert "If this address is on file, we have sent a fresh link to it." in known.content.decode()
    assert without_csrf(known.content) == without_csrf(unknown.content)
    assert known["Referrer-Policy"] == unknown["Referrer-Policy"] == "no-referrer"
    # Only the address on file got an email, with a link that opens its application.
    emails = Notification.objects.filter(kind="portal_link")
    assert [(n.recipient_email, n.application_id) for n in emails] == [("priya@example.org", app.pk)]
    assert PortalLink.objects.filter(application=app).count() == 1


def test_fresh_link_requests_are_rate_limited_with_a_429_that_says_to_try_later() -> None:
    submit(email="priya@example.org")
    client = Client()

    answers = [client.post("/portal/link/", {"email": "priya@example.org"}).status_code for _ in range(6)]

    assert answers == [200, 200, 200, 200, 200, 429]
    refused = client.post("/portal/link/", {"email": "priya@example.org"})
    assert refused.status_code == 429
    assert "Too many requests for a fresh link. Please try again in an hour." in refused.content.decode()
    assert Notification.objects.filter(kind="portal_link").count() == 5


def test_an_address_that_is_no_address_is_a_field_error_and_asks_nothing() -> None:
    response = Client().post("/portal/link/", {"email": "not an address"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert 'href="#id_email"' in page
    assert "Enter an email address in the correct format, like name@example.com" in page
    assert Notification.objects.filter(kind="portal_link").count() == 0


def test_a_link_from_an_email_opens_the_application_that_email_is_about() -> None:
    app = advance(submit(), "quoted")
    email = Notification.objects.filter(application=app, kind="quote_sent").get()
    path = email.body_text.split("/portal/open/", 1)[1].split()[0]

    response = Client().get(f"/portal/open/{path}")

    assert (response.status_code, response["Location"]) == (302, "/portal/quote/")
