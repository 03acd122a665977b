"""API tokens expire, die with the password or the account, and their owner can list and revoke them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from security.models import ApiToken

pytestmark = pytest.mark.redis


def login(username: str = "asha") -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": f"pw-{username}"}, format="json"
    )
    assert response.status_code == 200, response.json()
    return str(response.json()["token"])


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    return with_token(key).get("/api/v1/applications/").status_code == 200


def test_a_token_works_and_only_its_digest_is_stored(delhi_coordinator):
    key = login()

    assert works(key)
    assert not ApiToken.objects.filter(digest=key).exists()


def test_a_token_dies_after_twelve_hours_without_use(delhi_coordinator):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key = login()
    with time_machine.travel(start + timedelta(hours=11), tick=False):
        assert works(key)
    with time_machine.travel(start + timedelta(hours=22, minutes=59), tick=False):
        assert works(key)
    with time_machine.travel(start + timedelta(hours=35), tick=False):
        response = with_token(key).get("/api/v1/applications/")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_token_in_daily_use_dies_seven_days_after_the_login(delhi_coordinator):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key = login()
    for day in range(1, 7):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            ApiToken.objects.update(last_used_at=timezone.now())
            assert works(key)
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        assert not works(key)


def test_a_token_dies_on_password_change(delhi_coordinator):
    key = login()

    delhi_coordinator.set_password("a-new-long-password")
    delhi_coordinator.save()

    assert not works(key)
    assert not ApiToken.objects.exists()


def test_a_token_dies_when_the_account_is_disabled(delhi_coordinator):
    key = login()

    delhi_coordinator.is_active = False
    delhi_coordinator.save()

    assert not works(key)
    assert not ApiToken.objects.exists()


def test_other_changes_to_the_user_keep_the_token(delhi_coordinator):
    key = login()

    delhi_coordinator.first_name = "Asha"
    delhi_coordinator.save()

    assert works(key)


def test_a_user_lists_their_own_tokens_without_keys(delhi_coordinator, delhi_physician):
    key = login()
    login()
    login("dr_rao")

    listed = with_token(key).get("/api/v1/auth/tokens/").json()

    assert len(listed) == 2
    assert {"id", "created_at", "last_used_at", "expires_at", "client_address"} <= set(listed[0])
    assert key not in str(listed)


def test_a_user_revokes_one_of_their_tokens_but_not_another_users(delhi_coordinator, delhi_physician):
    key, other = login(), login()
    login("dr_rao")
    theirs = ApiToken.objects.get(user=delhi_physician)
    mine = ApiToken.objects.filter(user=delhi_coordinator).order_by("created_at", "pk")

    assert with_token(key).delete(f"/api/v1/auth/tokens/{theirs.pk}/").status_code == 404
    assert with_token(key).delete(f"/api/v1/auth/tokens/{mine.last().pk}/").status_code == 204

    assert works(key) != works(other)
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_a_disabled_users_session_ends_at_its_next_request(delhi_coordinator):
    client = Client()
    client.force_login(delhi_coordinator)
    assert client.get("/api/v1/auth/tokens/").status_code == 200

    delhi_coordinator.is_active = False
    delhi_coordinator.save()
    response = client.get("/api/v1/auth/tokens/")

    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    delhi_coordinator.is_active = True
    delhi_coordinator.save()
    # Ended, not suspended: enabling the account again does not bring the session back.
    assert client.get("/api/v1/auth/tokens/").status_code == 401


def test_the_token_list_needs_a_login(db):
    assert APIClient().get("/api/v1/auth/tokens/").status_code in {401, 403}
