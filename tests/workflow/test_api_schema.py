"""The OpenAPI schema describes every applications endpoint, and the error handler's domain mappings."""

from __future__ import annotations

import pytest
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from rest_framework.test import APIClient, APIRequestFactory

from config.api import exception_handler
from workflow import services
from workflow.errors import ConditionsNotMet, Conflict, NotAllowed

pytestmark = pytest.mark.django_db

APPLICATION = "/api/v1/applications/{reference}/"
PATHS = {
    "/api/v1/applications/": {"get", "post"},
    APPLICATION: {"get"},
    APPLICATION + "history/": {"get"},
    APPLICATION + "messages/": {"get", "post"},
    APPLICATION + "assign/": {"post"},
    APPLICATION + "transfer/": {"post"},
    APPLICATION + "quote/accept/": {"post"},
    APPLICATION + "admission/": {"post"},
    APPLICATION + "consent-signatures/": {"post"},
    **{APPLICATION + f"transitions/{name}/": {"post"} for name in services.TRANSITION_NAMES},
}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_has_every_applications_path_and_method(schema):
    for path, methods in PATHS.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) - {"parameters"} == methods, path


def test_the_schema_validates_without_a_warning(tmp_path):
    # Warnings are counted process-wide; count only this generation's.
    reset_generator_stats()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/applications/{reference}/transitions/send_quote/:" in (tmp_path / "schema.yml").read_text()


def test_each_transition_documents_its_own_parameters(schema):
    def body_fields(name: str) -> set[str]:
        operation = schema["paths"][APPLICATION + f"transitions/{name}/"]["post"]
        if "requestBody" not in operation:
            return set()
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return set(schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"])

    assert body_fields("approve_review") == {"review_notes", "protocol"}
    assert body_fields("decline") == {"reason"}
    assert body_fields("send_quote") == body_fields("revise_quote") == {"items", "currency", "valid_until", "notes"}
    assert body_fields("discharge") == {"discharge_date", "summary"}
    assert body_fields("withdraw") == {"reason"}
    assert body_fields("admit") == body_fields("start_follow_up") == body_fields("complete") == set()


def test_the_transitions_document_their_error_responses(schema):
    for name in services.TRANSITION_NAMES:
        responses = schema["paths"][APPLICATION + f"transitions/{name}/"]["post"]["responses"]
        assert {"200", "401", "403", "404", "409"} <= set(responses), name
        assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_the_intake_accepts_json_and_multipart_and_documents_its_fields(schema):
    content = schema["paths"]["/api/v1/applications/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    ref = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = set(schema["components"]["schemas"][ref]["properties"])
    assert fields == {
        "full_name",
        "email",
        "phone",
        "date_of_birth",
        "sex",
        "country",
        "preferred_language",
        "condition",
        "diagnosis_date",
        "current_medications",
        "medical_history",
        "treatment_request",
        "office",
        "privacy_consent",
        "documents",
        "received_at",
    }


def test_the_queue_documents_its_filters_and_pagination(schema):
    operation = schema["paths"]["/api/v1/applications/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"office", "state", "assigned", "sla", "q", "ordering", "page", "page_size"} <= names
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "PaginatedApplicationSummaryList"
    )


# ---- the exception handler's mapping of Django's and the domain's errors ----


def handle(exc: Exception) -> tuple[int, dict[str, object]]:
    request = APIRequestFactory().get("/")
    response = exception_handler(exc, {"request": request, "view": None})
    assert response is not None
    return response.status_code, response.data


def test_not_allowed_is_a_403():
    assert handle(NotAllowed("Your role does not allow this.")) == (
        403,
        {"code": "permission_denied", "message": "Your role does not allow this."},
    )


def test_a_conflict_is_a_409():
    assert handle(Conflict("Someone else changed it.")) == (
        409,
        {"code": "conflict", "message": "Someone else changed it."},
    )


def test_unmet_conditions_are_a_409_that_lists_them():
    status, body = handle(ConditionsNotMet(["no quote accepted", "no consent"]))

    assert status == 409
    assert body == {
        "code": "conditions_not_met",
        "message": "Not yet possible: no quote accepted; no consent.",
        "unmet": ["no quote accepted", "no consent"],
    }


def test_a_missing_object_is_a_404():
    assert handle(ObjectDoesNotExist()) == (404, {"code": "not_found", "message": "Not found."})


def test_a_service_validation_error_is_a_400_with_its_fields():
    status, body = handle(ValidationError({"reason": ["This field is required."], "office": ["Unknown office."]}))

    assert status == 400
    assert body["code"] == "invalid"
    assert body["fields"] == {"reason": ["This field is required."], "office": ["Unknown office."]}
    assert "reason" in str(body["message"])


def test_a_validation_error_without_fields_is_about_the_whole_input():
    status, body = handle(ValidationError("Nothing works."))

    assert status == 400
    assert body["fields"] == {"non_field_errors": ["Nothing works."]}
    assert body["message"] == "Nothing works."


def test_other_exceptions_are_left_to_django():
    request = APIRequestFactory().get("/")

    assert exception_handler(RuntimeError("boom"), {"request": request, "view": None}) is None
