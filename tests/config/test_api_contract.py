"""The API keeps its OpenAPI contract under fuzzing (schemathesis, in-process over WSGI).

Each operation of `/api/schema/` is called with generated input, valid and invalid, by an office
staff member, against real applications in several states; path parameters are mostly real
references and ids. Any 5xx, a status the operation does not document, a wrong content type or a
body that does not match its declared schema fails the operation's test.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from notifications.models import Notification
from offices.models import Membership
from security.models import ApiToken
from security.tokens import token_issue
from tests.conftest import make_staff
from tests.workflow.conftest import TINY_PDF, advance, office_staff, submit
from workflow import services
from workflow.models import ConsentSignature, Document, TreatmentDay

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]

# Instants and days that are well-formed but impossible or implausible, mixed into the fields that
# take them: hypothesis alone draws only real dates, or strings that are no date at all. And one
# instant that the intake and the paper consent accept (an hour ago, within the last year).
INSTANTS = [
    (timezone.now() - timedelta(hours=1)).isoformat(),
    "2026-02-30T10:00:00Z",
    "2026-11-23T10:99:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+05:00",
    "2026-11-23T10:00:00",
]
ODD_DAYS = ["2026-02-30", "9999-12-31", "0001-01-01"]

# Generated examples per operation, besides schemathesis' coverage cases (the boundaries and the
# wrong types of each field). A fixed seed: the same cases on every run, so a failure reproduces.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261124,
        "generation": {"max-examples": 20, "database": "none"},
        "dictionaries": {
            "instants": {"values": INSTANTS},
            "days": {"values": ODD_DAYS},
            "offices": {"values": ["delhi", "europe"]},
            "countries": {"values": ["IN", "DE", "FR"]},
        },
        "parameters": {
            **{
                f"{where}.{name}": {"dictionary": "instants", "probability": 0.3}
                for where, name in [("query", "received_at"), ("body", "received_at"), ("body", "signed_at")]
            },
            **{
                f"{where}.{name}": {"dictionary": "days", "probability": 0.3}
                for where, name in [
                    ("query", "from"),
                    ("query", "to"),
                    ("body", "date_of_birth"),
                    ("body", "diagnosis_date"),
                    ("body", "valid_until"),
                    ("body", "discharge_date"),
                    ("body", "admission_date"),
                ]
            },
            # Mostly an office and a country that exist, so that the intake gets past routing.
            "body.office": {"dictionary": "offices", "probability": 0.7},
            "body.country": {"dictionary": "countries", "probability": 0.7},
        },
    }
)

# Loaded once at collection: generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=CONFIG)

# Path parameter -> real values (see `staff_token`), and for an id that belongs to one
# application, id -> that application's reference.
REAL: dict[str, list[Any]] = {}
OWNER: dict[str, dict[Any, str]] = {}


def with_owner(path_parameters: dict[str, Any]) -> dict[str, Any]:
    """A real document or signature id goes with the reference of its own application."""
    for name, owners in OWNER.items():
        if "reference" in path_parameters and path_parameters.get(name) in owners:
            path_parameters["reference"] = owners[path_parameters[name]]
    return path_parameters


def with_real_records(case: schemathesis.Case) -> None:
    """Coverage cases are built at collection, before the records exist. Unless a case is about a
    path parameter, give it real ones, so that its body and query get past the lookup."""
    phase = case.meta.phase if case.meta is not None else None
    if phase is None or phase.name != TestPhase.COVERAGE or phase.data.parameter_location == ParameterLocation.PATH:
        return
    if not case.path_parameters:
        return
    pick = zlib.crc32(repr((case.body, case.query)).encode())
    for name in case.path_parameters:
        values = REAL.get(name)
        if values:
            case.path_parameters[name] = values[pick % len(values)]
    with_owner(case.path_parameters)


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    """Mostly (three times in four) real references and ids, so that operations get past the lookup."""
    if not path_parameters:
        return st.just(path_parameters)
    present = {name: values for name, values in REAL.items() if name in path_parameters and values}
    if not present:
        return st.just(path_parameters)
    real = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in present.items()})
    return st.integers(min_value=0, max_value=3).flatmap(
        lambda draw: (
            real.map(lambda values: with_owner({**path_parameters, **values})) if draw else st.just(path_parameters)
        )
    )


def pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, TINY_PDF, content_type="application/pdf")


def build_records() -> None:
    """Applications on each step of the path, in both offices, with a record, a paper consent and
    signed ones, a schedule of treatment days and emails."""
    received = submit(documents=[pdf("labs.pdf")])
    quoted = advance(submit(), "quoted")
    coordinator = office_staff(quoted.office)["coordinator"]
    services.quote_accept(application=quoted, actor=coordinator)
    services.consent_record_paper(
        application=quoted,
        actor=coordinator,
        signer_name="Priya Sharma",
        signed_at=quoted.received_at,
        scan=pdf("signed.pdf"),
    )
    applications = [
        received,
        quoted,
        advance(submit(), "medically_reviewed"),
        advance(submit(), "admitted"),
        advance(submit(), "in_follow_up"),
        advance(submit(), "declined"),
        submit(country="DE"),
        advance(submit(country="DE"), "medically_reviewed"),
    ]
    documents = Document.objects.filter(application__in=applications).select_related("application")
    signatures = ConsentSignature.objects.filter(application__in=applications).select_related("application")
    OWNER.update(
        document_id={document.pk: document.application.reference for document in documents},
        signature_id={signature.pk: signature.application.reference for signature in signatures},
    )
    REAL.update(
        reference=[application.reference for application in applications],
        document_id=list(OWNER["document_id"]),
        signature_id=list(OWNER["signature_id"]),
        day=sorted(set(TreatmentDay.objects.filter(application__in=applications).values_list("day", flat=True))),
        id=list(Notification.objects.values_list("pk", flat=True)),
        code=["delhi", "europe"],
        # The aftercare endpoints' monitoring checks and review points.
        hours=[24, 48],
        months=[1, 3, 6, 12, 24],
    )


@pytest.fixture(scope="module")
def staff_token(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The records, built once for every operation's test, in a transaction of the module's own
    (each test's transaction nests in it, as in Django's setUpTestData, and rolls back its changes).

    The caller is a manager at Delhi and a coordinator in Europe: most operations are allowed to
    them, some are refused.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        user = make_staff("contract", {"delhi": Membership.Role.MANAGER, "europe": Membership.Role.COORDINATOR})
        token = token_issue(user=user)
        CALLER_TOKEN[:] = [ApiToken.objects.get(user=user)]
        build_records()
        try:
            yield token
        finally:
            REAL.clear()
            OWNER.clear()
            CALLER_TOKEN.clear()
            transaction.set_rollback(True)


# The caller's token as issued: `DELETE /auth/tokens/{id}/` revokes it whenever the fuzzer draws its id
# (a small number on a fresh database, or a notification id that happens to equal it), and every
# later example of the operation would be a 401.
CALLER_TOKEN: list[ApiToken] = []


def keep_the_callers_token() -> None:
    for token in CALLER_TOKEN:
        if not ApiToken.objects.filter(pk=token.pk).exists():
            token.save(force_insert=True)


@pytest.fixture
def in_test_transaction(db: None) -> Iterator[None]:
    """Like Django's test client: requests share the test's connection and transaction, which Django
    would otherwise close at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        # The login and intake throttles count in the cache; the next test starts afresh.
        cache.clear()


@schema.parametrize()
# The records are meant to be shared by the examples of an operation (and rolled back after them).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_every_operation_answers_as_its_schema_says(
    case: schemathesis.Case, staff_token: str, in_test_transaction: None
) -> None:
    with_real_records(case)
    keep_the_callers_token()
    case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, checks=CHECKS)


# What anyone may call: token login, the intake (and the queue beside it), the offices.
public = schema.include(path_regex=r"^/api/v1/(auth/token|applications|offices(/[^/]+/reply-due)?)/$")


@public.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_every_public_operation_answers_an_anonymous_caller_as_its_schema_says(
    case: schemathesis.Case, staff_token: str, in_test_transaction: None
) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_schema_documents_the_errors_drf_answers_on_any_operation_of_a_kind() -> None:
    operations = [
        operation
        for path_item in schema.raw_schema["paths"].values()
        for method, operation in path_item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    with_body = [operation for operation in operations if "requestBody" in operation]
    paginated = [
        operation
        for operation in operations
        if any(parameter["name"] == "page" for parameter in operation.get("parameters", []))
    ]

    assert with_body
    assert paginated
    assert all({"400", "415"} <= set(operation["responses"]) for operation in with_body)
    assert all("404" in operation["responses"] for operation in paginated)
