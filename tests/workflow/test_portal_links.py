"""Private portal links (SPEC §7, §11): unguessable, hashed, expiring, revocable, re-sendable, rate-limited."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.workflow.conftest import office_staff, submit
from workflow import services
from workflow.models import Application, PortalLink, TransitionLog
from workflow.services.portal import portal_link_issue

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
LINK = re.compile(r"/portal/open/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


def tokens_in(notification: Notification) -> list[str]:
    return LINK.findall(notification.body_text)


def test_a_link_has_256_random_bits_and_only_its_hash_is_stored() -> None:
    app = submit(now=NOW)

    token = portal_link_issue(application=app, now=NOW)

    assert len(token) >= 43  # 32 bytes, URL-safe base64
    link = PortalLink.objects.get(token_sha256=hashlib.sha256(token.encode()).hexdigest())
    assert link.expires_at == NOW + timedelta(days=30)
    assert not PortalLink.objects.filter(token_sha256=token).exists()
    assert services.portal_link_resolve(token=token, now=NOW) == app


def test_an_expired_revoked_or_tampered_link_opens_nothing(delhi_coordinator: User) -> None:
    app = submit(now=NOW)
    token = portal_link_issue(application=app, now=NOW)

    assert services.portal_link_resolve(token=token, now=NOW + timedelta(days=30)) is None
    assert services.portal_link_resolve(token=token[:-1] + ("A" if token[-1] != "A" else "B"), now=NOW) is None
    assert services.portal_link_resolve(token="", now=NOW) is None
    services.portal_links_revoke(application=app, actor=office_staff(app.office)["coordinator"], now=NOW)
    assert services.portal_link_resolve(token=token, now=NOW + timedelta(minutes=1)) is None


@override_settings(PORTAL_LINK_DAYS=7)
def test_the_lifetime_is_a_setting() -> None:
    app = submit(now=NOW)
    token = portal_link_issue(application=app, now=NOW)
    assert services.portal_link_resolve(token=token, now=NOW + timedelta(days=6, hours=23)) == app
    assert services.portal_link_resolve(token=token, now=NOW + timedelta(days=7)) is None


def test_every_patient_email_carries_a_link_that_opens_its_own_application() -> None:
    app = submit(now=NOW)
    staff = office_staff(app.office)
    services.message_post(application=app, actor=staff["coordinator"], kind="reply", body="Hello", now=NOW)
    services.application_approve_review(application=app, actor=staff["physician"], review_notes="Fine", now=NOW)
    services.application_send_quote(
        application=app, actor=staff["coordinator"], items=[{"description": "Protocol", "amount": "10"}], now=NOW
    )

    emails = Notification.objects.filter(application=app, audience="patient")
    assert emails.count() == 4
    for email in emails:
        (token,) = tokens_in(email)
        assert services.portal_link_resolve(token=token, now=NOW) == app
        assert f"/portal/open/{token}/" in email.body_html
    quote_email = emails.get(kind="quote_sent")
    assert "?next=quote" in quote_email.body_text
    assert "Read and accept the quote in your private portal" in quote_email.body_text


def test_a_german_patients_link_is_labelled_in_german() -> None:
    app = submit(now=NOW, preferred_language="de")
    ack = Notification.objects.get(application=app, kind="intake_acknowledgement")
    assert "Ihren Antrag in Ihrem privaten Portal ansehen" in ack.body_text


def staff_client(user: User | None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_email_a_fresh_link_and_revoke_them_all_through_the_api() -> None:
    app = submit(now=NOW)
    coordinator = office_staff(app.office)["coordinator"].user
    url = f"/api/v1/applications/{app.reference}/portal-link/"

    sent = staff_client(coordinator).post(url)

    assert sent.status_code == 200, sent.json()
    email = Notification.objects.get(application=app, kind="portal_link")
    (token,) = tokens_in(email)
    assert services.portal_link_resolve(token=token, now=NOW) == app
    assert email.history is not None and email.history.action == "send_portal_link"

    revoked = staff_client(coordinator).delete(url)

    assert revoked.status_code == 200
    assert revoked.json()["revoked"] == PortalLink.objects.filter(application=app).count() == 2
    assert services.portal_link_resolve(token=token, now=NOW + timedelta(days=1)) is None
    assert TransitionLog.objects.filter(application=app, action="revoke_portal_links").count() == 1


def test_a_physician_may_not_and_another_office_cannot_see_the_application(europe_coordinator: User) -> None:
    app = submit(now=NOW)
    physician = office_staff(app.office)["physician"].user
    url = f"/api/v1/applications/{app.reference}/portal-link/"

    assert staff_client(physician).post(url).status_code == 403
    assert staff_client(europe_coordinator).post(url).status_code == 404
    assert staff_client(europe_coordinator).delete(url).status_code == 404
    assert not Notification.objects.filter(kind="portal_link").exists()


def test_a_patient_asking_for_a_fresh_link_gets_it_only_at_the_address_on_file() -> None:
    app = submit(now=NOW)

    assert services.portal_link_request(email="PRIYA@example.org", client="203.0.113.9", now=NOW)
    assert services.portal_link_request(email="nobody@example.org", client="203.0.113.9", now=NOW)

    (email,) = Notification.objects.filter(kind="portal_link")
    assert email.recipient_email == app.email
    (token,) = tokens_in(email)
    assert services.portal_link_resolve(token=token, now=NOW) == app


@override_settings(PORTAL_LINK_REQUESTS_PER_HOUR=2)
def test_fresh_link_requests_are_rate_limited_per_address() -> None:
    submit(now=NOW)

    answers = [services.portal_link_request(email="priya@example.org", client=f"198.51.100.{i}") for i in range(4)]

    assert answers == [True, True, False, False]
    assert Notification.objects.filter(kind="portal_link").count() == 2
    assert Application.objects.count() == 1
