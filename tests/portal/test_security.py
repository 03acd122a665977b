"""The pages' security headers and forms (SPEC §11): CSP with no external source, CSRF, no caching, no Referer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.portal.conftest import FORM, PORTAL_PAGES, patient_client
from tests.workflow.conftest import advance, submit
from workflow.models import Application, Message

pytestmark = pytest.mark.django_db

# Sources a policy may name without naming anyone else's server.
OWN_SOURCES = re.compile(r"^(?:'self'|'none'|'nonce-[A-Za-z0-9+/=]+'|data:)$")


def policy(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_no_external_source(response: object) -> dict[str, list[str]]:
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for name, sources in directives.items():
        for source in sources:
            assert OWN_SOURCES.match(source), f"{name} allows {source}"
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    return directives


def test_every_page_sends_a_policy_with_no_external_source(admin_user: User) -> None:
    app = advance(submit(), "quoted")
    client = patient_client(app)
    for url in ("/apply/", "/portal/link/", *PORTAL_PAGES):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_external_source(response)
        assert response["X-Content-Type-Options"] == "nosniff"
    assert_no_external_source(Client().get("/portal/open/nothing-here/"))
    assert_no_external_source(Client().get("/admin/login/"))
    assert_no_external_source(Client().get("/api/docs/"))


def test_the_api_docs_run_their_inline_start_up_code_only_by_the_requests_nonce() -> None:
    response = Client().get("/api/docs/")

    nonces = [s for s in policy(response)["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-") : -1]
    page = response.content.decode()
    assert f'<script nonce="{nonce}">' in page
    assert f'<style nonce="{nonce}">' in page
    assert "SwaggerUIBundle" in page
    # Every other script comes from our own static files.
    assert re.findall(r'<script src="([^"]+)"', page) == [
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
    ]


def test_portal_pages_are_never_cached_and_never_send_a_referer() -> None:
    app = submit()
    client = patient_client(app)
    responses = [client.get(url) for url in PORTAL_PAGES]
    responses += [
        Client().get("/apply/"),
        Client().post("/apply/", {**FORM, "full_name": ""}),
        Client().get("/portal/open/nothing-here/"),
        Client().post("/portal/link/", {"email": "someone@example.org"}),
        client.post("/portal/language/", {"language": "de", "next": "/portal/"}),
    ]
    for response in responses:
        assert "no-store" in response["Cache-Control"], response
        assert response["Referrer-Policy"] == "no-referrer", response


def test_every_form_carries_a_csrf_token_and_a_post_without_one_is_refused() -> None:
    app = advance(submit(), "quoted")
    client = patient_client(app)
    for url in ("/apply/", "/portal/link/", *PORTAL_PAGES):
        text = client.get(url).content.decode()
        forms = text.count("<form ")
        assert forms >= 1, url
        assert text.count('name="csrfmiddlewaretoken"') == forms, url

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/apply/", FORM).status_code == 403
    assert strict.post("/portal/link/", {"email": "priya@example.org"}).status_code == 403
    strict_patient = patient_client(app)
    strict_patient.handler.enforce_csrf_checks = True
    assert strict_patient.post("/portal/messages/", {"body": "Forged"}).status_code == 403
    assert strict_patient.post("/portal/quote/").status_code == 403
    assert not Message.objects.filter(body="Forged").exists()
    assert Application.objects.count() == 1


def test_a_get_to_a_post_only_address_is_refused_not_a_500() -> None:
    for url in ("/portal/language/", "/portal/leave/"):
        response = Client().get(url)
        assert response.status_code == 405
        assert response["Referrer-Policy"] == "no-referrer"


def csrf_token_of(client: Client, url: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode())
    assert match is not None
    return match[1]


def test_a_form_on_a_no_referrer_page_passes_the_origin_check_only_when_the_browser_says_same_origin() -> None:
    """Under `Referrer-Policy: no-referrer` browsers post the page's forms with `Origin: null` (portal/csrf.py)."""
    client = Client(enforce_csrf_checks=True)
    data = {"email": "nobody@example.org", "csrfmiddlewaretoken": csrf_token_of(client, "/portal/link/")}

    def post(**headers: Any) -> int:
        return client.post("/portal/link/", data, **headers).status_code

    assert post(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin") == 200
    assert post(HTTP_ORIGIN="http://testserver") == 200
    assert post(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="cross-site") == 403
    assert post(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-site") == 403
    assert post(HTTP_ORIGIN="null") == 403
    assert post(HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="same-origin") == 403
    # The token is still required.
    no_token = client.post(
        "/portal/link/", {"email": "nobody@example.org"}, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin"
    )
    assert no_token.status_code == 403


def test_other_pages_keep_djangos_origin_check_as_it_is() -> None:
    client = Client(enforce_csrf_checks=True)
    token = csrf_token_of(client, "/admin/login/")

    response = client.post(
        "/admin/login/",
        {"username": "x", "password": "y", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="null",
        HTTP_SEC_FETCH_SITE="same-origin",
    )

    assert response.status_code == 403
