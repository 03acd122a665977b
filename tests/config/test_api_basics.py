from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_a_staff_member_gets_a_token_for_their_username_and_password(api, delhi_coordinator):
    response = api.post("/api/v1/auth/token/", {"username": "asha", "password": "pw-asha"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/offices/").status_code == 200


def test_a_wrong_password_gets_a_400_with_the_error_shape(api, delhi_coordinator):
    response = api.post("/api/v1/auth/token/", {"username": "asha", "password": "nope"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"]
    assert "non_field_errors" in body["fields"]


def test_missing_fields_are_named(api, db):
    response = api.post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "password"}


def test_an_unknown_endpoint_is_a_404_with_the_error_shape(api, db):
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404


def test_the_wrong_method_gets_a_405_with_a_stable_code(api, db):
    response = api.delete("/api/v1/offices/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_the_openapi_schema_and_interactive_docs_are_served(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/offices/" in paths
    assert "/api/v1/auth/token/" in paths
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
