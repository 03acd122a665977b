"""Response headers: no caching of API answers, no browser features, a CSP on pages (SPEC §11)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.mark.parametrize("path", ["/api/v1/offices/", "/api/v1/applications/", "/api/v1/nowhere/", "/api/schema/"])
def test_every_api_response_is_no_store(db, delhi_coordinator, path):
    client = APIClient()
    client.force_authenticate(delhi_coordinator)

    assert client.get(path)["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/apply/", "/admin/login/", "/api/v1/offices/", "/no-such-page/"])
def test_every_response_turns_off_browser_features(db, path):
    policy = Client().get(path)["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_pages_keep_their_content_security_policy(db):
    policy = Client().get("/admin/login/")["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "http" not in policy
