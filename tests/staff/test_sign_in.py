"""Signing in to the staff pages: the queue as landing, a new session, the lockout and the second factor."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import confirmed_totp, current_code

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str | None = None, otp: str = "", next: str = "") -> Any:
    data = {"username": username, "password": password or f"pw-{username}", "otp_token": otp, "next": next}
    return client.post("/staff/login/", data)


def test_the_sign_in_page_names_every_field():
    html = Client().get("/staff/login/").content.decode()
    for label in ("Username", "Password", "Authentication code"):
        assert f">{label}" in html
    assert 'autocomplete="one-time-code"' in html


def test_signing_in_lands_on_the_queue_with_a_new_session(delhi_coordinator):
    client = Client()
    client.get("/staff/login/")
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    response = sign_in(client, "asha")
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before is None or before.value != after
    assert client.get("/staff/").status_code == 200


def test_signing_in_returns_to_the_page_asked_for(delhi_coordinator):
    response = sign_in(Client(), "asha", next="/staff/?sla=breached")
    assert response["Location"] == "/staff/?sla=breached"


def test_an_outside_next_address_is_ignored(delhi_coordinator):
    response = sign_in(Client(), "asha", next="https://evil.example/")
    assert response["Location"] == "/staff/"


def test_a_wrong_password_is_a_form_error_that_keeps_the_username(delhi_coordinator):
    response = sign_in(Client(), "asha", password="wrong")
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html
    assert "Please enter a correct username and password" in html
    assert 'value="asha"' in html


def test_five_failures_lock_the_account_with_a_clear_message(delhi_coordinator):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "asha", password="wrong")
    locked = sign_in(client, "asha")  # the right password, too late
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "<h1>Signing in is locked for a while</h1>" in page
    assert "Try again in 15 minutes." in page
    assert "A manager can unlock it sooner." in page
    assert client.get("/staff/").status_code == 302


def test_failures_on_the_staff_sign_in_and_the_api_count_together(delhi_coordinator):
    client = Client()
    for _ in range(3):
        sign_in(client, "asha", password="wrong")
    for _ in range(2):
        client.post("/api/v1/auth/token/", {"username": "asha", "password": "wrong"}, content_type="application/json")
    assert sign_in(Client(), "asha").status_code == 429


def test_a_user_with_a_device_needs_its_code(delhi_coordinator):
    device = confirmed_totp(delhi_coordinator)
    without = sign_in(Client(), "asha")
    assert without.status_code == 200
    assert "Enter the current code from your authenticator app" in without.content.decode()
    client = Client()
    assert sign_in(client, "asha", otp=current_code(device))["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_manager_without_a_device_is_sent_to_enrolment_and_comes_back(delhi_manager):
    client = Client()
    sign_in(client, "meera")
    response = client.get("/staff/?sla=breached")
    assert response.status_code == 302
    assert response["Location"] == "/security/two-factor/?next=%2Fstaff%2F%3Fsla%3Dbreached"
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.get(response["Location"])
    device = TOTPDevice.objects.get(user=delhi_manager, confirmed=False)
    confirmed = client.post(response["Location"], {"otp": current_code(device)})
    assert confirmed["Location"] == "/staff/?sla=breached"
    assert client.get("/staff/?sla=breached").status_code == 200


def test_signing_out_takes_a_post_and_ends_the_session(delhi_coordinator):
    client = Client()
    sign_in(client, "asha")
    assert client.get("/staff/logout/").status_code == 405
    assert client.post("/staff/logout/")["Location"] == "/staff/login/"
    assert client.get("/staff/").status_code == 302


def test_the_sign_out_form_carries_a_csrf_token(delhi_coordinator):
    client = Client(enforce_csrf_checks=True)
    sign_in_page = client.get("/staff/login/")
    token = sign_in_page.context["csrf_token"]
    client.post("/staff/login/", {"username": "asha", "password": "pw-asha", "csrfmiddlewaretoken": str(token)})
    assert client.post("/staff/logout/").status_code == 403  # no token: refused
    queue = client.get("/staff/").content.decode()
    assert 'action="/staff/logout/"' in queue and "csrfmiddlewaretoken" in queue


def test_a_password_change_keeps_the_session_and_needs_the_old_password(delhi_coordinator):
    client = Client()
    sign_in(client, "asha")
    wrong = client.post(
        "/staff/password/",
        {"old_password": "nope", "new_password1": "a-new-long-pass-2026", "new_password2": "a-new-long-pass-2026"},
    )
    assert wrong.status_code == 200
    assert "There is a problem" in wrong.content.decode()
    done = client.post(
        "/staff/password/",
        {"old_password": "pw-asha", "new_password1": "a-new-long-pass-2026", "new_password2": "a-new-long-pass-2026"},
    )
    assert done["Location"] == "/staff/password/done/"
    assert client.get("/staff/").status_code == 200
    assert sign_in(Client(), "asha", password="a-new-long-pass-2026")["Location"] == "/staff/"


def test_staff_pages_are_never_cached(delhi_coordinator):
    client = Client()
    client.force_login(delhi_coordinator)
    response = client.get("/staff/")
    assert "no-store" in response["Cache-Control"]
