"""The TOTP second factor: optional for coordinators and physicians, mandatory for managers (SPEC §11)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.conftest import confirmed_totp, current_code

pytestmark = pytest.mark.redis

ADMIN_PAGE = "/admin/workflow/application/"
ENROL = "/security/two-factor/"


def admin_login(client: Client, username: str, otp: str = "") -> Any:
    return client.post(
        f"/admin/login/?next={ADMIN_PAGE}",
        {"username": username, "password": f"pw-{username}", "otp_token": otp, "next": ADMIN_PAGE},
    )


def token_login(username: str, otp: str | None = None) -> Any:
    body = {"username": username, "password": f"pw-{username}"}
    if otp is not None:
        body["otp"] = otp
    return APIClient().post("/api/v1/auth/token/", body, format="json")


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


# ---- managers must enrol ----


def test_a_manager_without_a_device_cannot_reach_an_admin_page(delhi_manager):
    client = Client()
    admin_login(client, "meera")

    assert client.get(ADMIN_PAGE)["Location"] == ENROL
    assert client.get("/admin/")["Location"] == ENROL
    api = client.get("/api/v1/applications/")
    assert api.status_code == 403
    assert api.json()["code"] == "enrolment_required"


def test_a_manager_without_a_device_gets_no_token(delhi_manager):
    response = token_login("meera")

    assert response.status_code == 403
    assert response.json()["code"] == "enrolment_required"


def test_enrolment_shows_an_inline_svg_qr_code_the_page_policy_allows(delhi_manager):
    client = Client()
    admin_login(client, "meera")

    page = client.get(ENROL)
    html = page.content.decode()
    policy = page["Content-Security-Policy"]

    assert page.status_code == 200
    assert re.search(r"<svg[^>]*xmlns=\"http://www.w3.org/2000/svg\"", html)
    # Nothing the policy would refuse: no style attribute, no image or script from elsewhere.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "style=" not in svg and "<image" not in svg and "href" not in svg
    assert "default-src 'self'" in policy and "http" not in policy
    assert TOTPDevice.objects.get(user=delhi_manager).confirmed is False


def test_enrolment_is_confirmed_by_a_first_code_and_opens_the_admin(delhi_manager, clock):
    client = Client()
    admin_login(client, "meera")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=delhi_manager)

    wrong = client.post(ENROL, {"otp": "000000" if current_code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    # django-otp makes the next try wait after a wrong code (a second, doubling).
    clock.shift(timedelta(seconds=2))
    right = client.post(ENROL, {"otp": current_code(device)})

    assert right["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(ADMIN_PAGE).status_code == 200


def test_an_enrolled_manager_signs_in_to_the_admin_with_a_code(delhi_manager, clock):
    device = confirmed_totp(delhi_manager)
    without_code = Client()
    refused = admin_login(without_code, "meera")
    assert refused.status_code == 200
    assert "authenticator app" in refused.content.decode()
    assert without_code.get(ADMIN_PAGE).status_code == 302

    client = Client()
    assert admin_login(client, "meera", current_code(device))["Location"] == ADMIN_PAGE
    assert client.get(ADMIN_PAGE).status_code == 200


def test_a_replayed_code_is_refused(delhi_manager, clock):
    device = confirmed_totp(delhi_manager)
    code = current_code(device)

    first = token_login("meera", code)
    replayed = token_login("meera", code)
    in_the_admin = admin_login(Client(), "meera", code)

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert list(replayed.json()["fields"]) == ["otp"]
    assert in_the_admin.status_code == 200  # the form again, with its error
    clock.shift(timedelta(seconds=device.step))
    assert token_login("meera", current_code(device)).status_code == 200


def test_a_session_signed_in_without_the_code_is_not_let_into_the_admin(delhi_coordinator):
    confirmed_totp(delhi_coordinator)
    client = Client()
    client.post("/admin/login/", {"username": "asha", "password": "pw-asha", "next": "/admin/"})

    assert client.get(ADMIN_PAGE).status_code == 302


# ---- optional for the others ----


def test_a_coordinator_without_a_device_signs_in_with_the_password_alone(delhi_coordinator):
    client = Client()

    assert admin_login(client, "asha")["Location"] == ADMIN_PAGE
    assert token_login("asha").status_code == 200


def test_a_coordinator_may_enrol_and_then_needs_the_code(delhi_coordinator, clock):
    client = Client()
    admin_login(client, "asha")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=delhi_coordinator)
    client.post(ENROL, {"otp": current_code(device)})
    clock.shift(timedelta(seconds=device.step))

    missing = token_login("asha")
    assert missing.status_code == 400
    assert list(missing.json()["fields"]) == ["otp"]
    assert token_login("asha", current_code(device)).status_code == 200


def test_wrong_codes_count_as_failed_logins(delhi_coordinator, clock):
    device = confirmed_totp(delhi_coordinator)
    wrong = "000000" if current_code(device) != "000000" else "111111"

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert token_login("asha", wrong).status_code == 400
    locked = token_login("asha", current_code(device))

    assert locked.status_code == 429
    assert locked.json()["code"] == "locked"


def test_the_schema_documents_the_otp_field_and_the_enrolment_refusal(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/auth/token/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    assert "otp" in schema["components"]["schemas"][body]["properties"]
    assert "enrolment_required" in operation["responses"]["403"]["description"]
