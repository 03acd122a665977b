"""Every API error is JSON with a stable `code`, whatever raised it: no HTML page and no 500 under /api/.

Django's own error handlers (config/urls.py, config/errors.py) answer what happens before or outside
the DRF views; the exception handler (config/api.py) answers the rest, with nested field errors
flattened to paths.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from config import urls as project_urls
from config.api import flat_fields
from tests.workflow.conftest import INTAKE_FORM, TINY_PDF, advance, office_staff, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    return body


# ---- Addresses, methods and bodies the views never see ----


def test_an_unknown_api_path_answers_a_json_404_with_a_code():
    response = Client().get("/api/v1/does-not-exist/")

    assert_json_error(response, 404, "not_found")


def test_an_unknown_api_path_without_the_trailing_slash_answers_json_too():
    response = Client().get("/api/v1/does-not-exist")

    assert_json_error(response, 404, "not_found")


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page():
    response = Client(enforce_csrf_checks=True).post("/api/v1/does-not-exist/", {"a": "b"})

    assert_json_error(response, 404, "not_found")


def test_a_non_integer_id_in_a_path_is_a_json_404(delhi_coordinator):
    application = submit()
    response = client_for(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/documents/abc/")

    assert_json_error(response, 404, "not_found")


def test_with_debug_on_an_unknown_api_path_is_still_json(settings):
    settings.DEBUG = True

    response = Client().get("/api/v1/does-not-exist/")

    assert_json_error(response, 404, "not_found")


def test_a_real_endpoint_without_its_trailing_slash_still_redirects_to_it():
    response = Client().get("/api/v1/offices")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/offices/"


def test_other_paths_keep_djangos_html_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_endpoint_does_not_take_is_a_json_405():
    response = client_for().put("/api/v1/auth/token/", {}, format="json")

    assert_json_error(response, 405, "method_not_allowed")


def test_a_body_of_an_unsupported_media_type_is_a_json_415():
    response = Client().post("/api/v1/applications/", "full_name=Priya", content_type="text/plain")

    assert_json_error(response, 415, "unsupported_media_type")


def test_a_body_that_is_not_json_is_a_json_400():
    response = Client().post("/api/v1/applications/", "{not json", content_type="application/json")

    assert_json_error(response, 400, "parse_error")


def test_a_body_over_the_memory_limit_is_a_json_400_from_djangos_handler(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {**INTAKE_FORM, "medical_history": "x" * 2000}

    response = Client().post("/api/v1/applications/", body, content_type="application/json")

    body = assert_json_error(response, 400, "too_large")
    assert "1000 bytes" in body["message"]


def test_too_many_files_is_a_json_400_from_djangos_handler(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"labs-{n}.pdf", TINY_PDF, content_type="application/pdf") for n in range(3)]

    response = Client().post("/api/v1/applications/", {**INTAKE_FORM, "documents": files})

    assert_json_error(response, 400, "too_many_files")


def test_a_body_over_the_memory_limit_elsewhere_keeps_djangos_400_page(settings, admin_client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = admin_client.post("/admin/login/", {"username": "x" * 2000, "password": "y"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# ---- Unhandled exceptions: the project's handlers with one view that fails ----


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret detail that must not reach the caller")


def forbid(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("secret reason")


def refuse(request: HttpRequest) -> HttpResponse:
    raise BadRequest("secret reason")


urlpatterns = [
    *(path(f"{prefix}fails/", fail) for prefix in ("api/v1/", "")),
    *(path(f"{prefix}forbidden/", forbid) for prefix in ("api/v1/", "")),
    *(path(f"{prefix}refused/", refuse) for prefix in ("api/v1/", "")),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.mark.urls(__name__)
def test_a_server_error_under_the_api_is_json_and_tells_nothing_of_the_exception():
    response = Client(raise_request_exception=False).get("/api/v1/fails/")

    body = assert_json_error(response, 500, "server_error")
    assert "secret" not in body["message"]


@pytest.mark.urls(__name__)
def test_a_server_error_elsewhere_keeps_djangos_500_page():
    response = Client(raise_request_exception=False).get("/fails/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("address", "status", "code"), [("forbidden", 403, "permission_denied"), ("refused", 400, "bad_request")]
)
def test_djangos_403_and_400_under_the_api_are_json_and_keep_the_reason_to_the_logs(address, status, code):
    api = Client().get(f"/api/v1/{address}/")
    page = Client().get(f"/{address}/")

    assert "secret" not in assert_json_error(api, status, code)["message"]
    assert page.status_code == status
    assert page["Content-Type"].startswith("text/html")


# ---- Token login: one answer for every refusal ----


def token_login(**credentials: str) -> Any:
    return client_for().post("/api/v1/auth/token/", credentials, format="json")


def test_a_wrong_password_an_unknown_user_and_a_deactivated_account_get_the_same_400(delhi_coordinator):
    wrong_password = token_login(username="asha", password="nope")
    unknown_user = token_login(username="nobody", password="pw-asha")
    delhi_coordinator.is_active = False
    delhi_coordinator.save()
    deactivated = token_login(username="asha", password="pw-asha")

    bodies = [assert_json_error(response, 400, "invalid") for response in (wrong_password, unknown_user, deactivated)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert list(bodies[0]["fields"]) == ["non_field_errors"]


def test_missing_and_blank_credentials_are_a_400_naming_each_field(db):
    missing = assert_json_error(token_login(), 400, "invalid")
    blank = assert_json_error(token_login(username="", password=""), 400, "invalid")

    assert set(missing["fields"]) == set(blank["fields"]) == {"username", "password"}


def test_too_many_logins_are_a_429_with_the_seconds_to_wait(delhi_coordinator):
    # Successful ones: failures lock the address after five (tests/security/test_lockout.py).
    responses = [token_login(username="asha", password="pw-asha") for _ in range(31)]

    body = assert_json_error(responses[-1], 429, "throttled")
    assert body["retry_after"] > 0
    assert {response.status_code for response in responses[:30]} == {200}


def test_the_schema_documents_the_token_logins_refusals(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]

    assert {"200", "400", "429"} <= set(responses)
    assert responses["400"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"


# ---- Impossible and implausible instants are field errors, never a 500 ----

IMPOSSIBLE = ["2026-02-30T10:00:00Z", "2026-11-23T10:99:00Z"]
IMPLAUSIBLE = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1999-12-31T23:00:00Z"]


@pytest.mark.parametrize("instant", IMPOSSIBLE + IMPLAUSIBLE)
def test_the_reply_due_query_refuses_an_impossible_or_implausible_instant(instant):
    response = client_for().get("/api/v1/offices/delhi/reply-due/", {"received_at": instant})

    body = assert_json_error(response, 400, "invalid")
    assert list(body["fields"]) == ["received_at"]


def test_the_reply_due_query_names_the_plausible_years():
    response = client_for().get("/api/v1/offices/delhi/reply-due/", {"received_at": "9999-12-31T23:59:59Z"})

    assert response.json()["fields"]["received_at"] == ["Give an instant between the years 2000 and 2100."]


@pytest.mark.parametrize("instant", IMPOSSIBLE + IMPLAUSIBLE)
def test_the_intake_refuses_an_impossible_time_received_from_anyone(instant, delhi_coordinator):
    for client in (client_for(), client_for(delhi_coordinator)):
        response = client.post("/api/v1/applications/", {**INTAKE_FORM, "received_at": instant}, format="json")

        body = assert_json_error(response, 400, "invalid")
        assert "received_at" in body["fields"]


@pytest.mark.parametrize("instant", IMPOSSIBLE + IMPLAUSIBLE)
def test_a_paper_consent_with_an_impossible_signing_time_is_a_field_error(instant):
    application = advance(submit(), "quoted")
    coordinator = office_staff(application.office)["coordinator"].user
    scan = SimpleUploadedFile("signed.pdf", TINY_PDF, content_type="application/pdf")

    response = client_for(coordinator).post(
        f"/api/v1/applications/{application.reference}/consent-signatures/",
        {"signer_name": "Priya Sharma", "signed_at": instant, "scan": scan},
        format="multipart",
    )

    body = assert_json_error(response, 400, "invalid")
    assert list(body["fields"]) == ["signed_at"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-01", "to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01", "to": "0001-12-31"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "2026-02-30"}, "from"),
    ],
)
def test_the_sla_report_refuses_an_implausible_period(params, field, delhi_manager):
    response = client_for(delhi_manager).get("/api/v1/reports/sla/", params)

    body = assert_json_error(response, 400, "invalid")
    assert field in body["fields"]


def test_the_help_texts_say_which_years_are_plausible(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    reply_due = schema["paths"]["/api/v1/offices/{code}/reply-due/"]["get"]["parameters"]
    report = schema["paths"]["/api/v1/reports/sla/"]["get"]["parameters"]
    descriptions = [p["description"] for p in reply_due + report if p["name"] in {"received_at", "from", "to"}]

    assert len(descriptions) == 3
    assert all("Between the years 2000 and 2100." in description for description in descriptions)


# ---- Nested field errors as flat paths, the shape the schema declares ----


def test_an_invalid_quote_item_is_named_by_its_path():
    application = advance(submit(), "medically_reviewed")
    coordinator = office_staff(application.office)["coordinator"].user
    items = [{"description": "Protocol", "amount": "4500.00"}, {"description": "Stay", "amount": "a lot"}]

    response = client_for(coordinator).post(
        f"/api/v1/applications/{application.reference}/transitions/send_quote/", {"items": items}, format="json"
    )

    body = assert_json_error(response, 400, "invalid")
    assert body["fields"] == {"items[1].amount": ["A valid number is required."]}
    assert body["message"] == "The request has invalid fields: items[1].amount."


def test_a_protocol_day_with_several_errors_lists_each_under_its_path():
    application = submit()
    physician = office_staff(application.office)["physician"].user

    response = client_for(physician).post(
        f"/api/v1/applications/{application.reference}/transitions/approve_review/",
        {"review_notes": "Eligible", "protocol": [{"day": 1, "activities": ["Rest"]}, {"day": 0, "activities": []}]},
        format="json",
    )

    body = assert_json_error(response, 400, "invalid")
    assert set(body["fields"]) == {"protocol[1].day", "protocol[1].activities"}
    assert all(isinstance(message, str) for messages in body["fields"].values() for message in messages)


def test_a_list_given_something_else_keeps_its_own_name():
    application = advance(submit(), "medically_reviewed")
    coordinator = office_staff(application.office)["coordinator"].user

    response = client_for(coordinator).post(
        f"/api/v1/applications/{application.reference}/transitions/send_quote/", {"items": "4500"}, format="json"
    )

    assert list(assert_json_error(response, 400, "invalid")["fields"]) == ["items"]


def test_flat_fields_names_list_field_items_by_index_and_keeps_whole_input_errors():
    detail = {
        "documents": {2: ["Not a file."]},
        "non_field_errors": ["The period starts after it ends."],
        "items": [{}, {"non_field_errors": ["Invalid data."]}],
    }

    assert flat_fields(detail) == {
        "documents[2]": ["Not a file."],
        "non_field_errors": ["The period starts after it ends."],
        "items[1]": ["Invalid data."],
    }
    assert flat_fields(["Wrong."]) == {"non_field_errors": ["Wrong."]}


@pytest.mark.parametrize("assigned", ["³", "٣", "me2", "-1"])
def test_a_queue_filter_by_assignee_that_is_no_user_id_is_a_field_error(assigned, delhi_coordinator):
    response = client_for(delhi_coordinator).get("/api/v1/applications/", {"assigned": assigned})

    body = assert_json_error(response, 400, "invalid")
    assert list(body["fields"]) == ["assigned"]
