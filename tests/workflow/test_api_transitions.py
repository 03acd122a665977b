"""Every transition over HTTP: allowed, wrong state, wrong role, another office, bad parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, TransitionLog

pytestmark = pytest.mark.django_db

# Wednesday 25 November 2026, 11:30 in Delhi: a working day.
NOW = "2026-11-25T06:00:00Z"
TODAY = "2026-11-25"
TOMORROW = "2026-11-26"
ITEMS = [{"description": "Seven-day protocol", "amount": "4500.00"}]


@dataclass(frozen=True)
class Case:
    start: str
    role: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    wrong_state: str = "received"
    # None: every office role may run it; only a non-member is refused (and gets 403 too).
    wrong_role: str | None = None
    bad: list[tuple[dict[str, Any], str]] = field(default_factory=list)


CASES = {
    "approve_review": Case(
        start="received",
        role="physician",
        target="medically_reviewed",
        params={"review_notes": "Eligible"},
        wrong_state="medically_reviewed",
        wrong_role="coordinator",
        bad=[
            ({}, "review_notes"),
            ({"review_notes": ""}, "review_notes"),
            ({"review_notes": "Eligible", "protocol": [{"day": 2, "activities": ["rest"]}]}, "protocol"),
            ({"review_notes": "Eligible", "protocol": [{"day": 1, "activities": []}]}, "protocol"),
        ],
    ),
    "decline": Case(
        start="received",
        role="physician",
        target="declined",
        params={"reason": "Not eligible"},
        wrong_state="medically_reviewed",
        wrong_role="coordinator",
        bad=[({}, "reason"), ({"reason": "  "}, "reason")],
    ),
    "send_quote": Case(
        start="medically_reviewed",
        role="coordinator",
        target="quoted",
        params={"items": ITEMS, "currency": "usd", "valid_until": "2026-12-31", "notes": "All inclusive"},
        wrong_state="received",
        wrong_role="physician",
        bad=[
            ({}, "items"),
            ({"items": []}, "items"),
            ({"items": [{"description": "Protocol", "amount": "0"}]}, "items"),
            ({"items": [{"amount": "10"}]}, "items"),
            ({"items": ITEMS, "currency": "EURO"}, "currency"),
            ({"items": ITEMS, "valid_until": "2026-01-01"}, "valid_until"),
            ({"items": ITEMS, "valid_until": "soon"}, "valid_until"),
        ],
    ),
    "revise_quote": Case(
        start="quoted",
        role="manager",
        target="quoted",
        params={"items": [{"description": "Protocol", "amount": "4000"}, {"description": "Stay", "amount": "300"}]},
        wrong_state="medically_reviewed",
        wrong_role="physician",
        bad=[({}, "items"), ({"items": [{"description": "Protocol", "amount": "-5"}]}, "items")],
    ),
    "admit": Case(start="ready_to_admit", role="coordinator", target="admitted", wrong_role="physician"),
    "discharge": Case(
        start="admitted",
        role="physician",
        target="discharged",
        params={"discharge_date": TODAY, "summary": "Tolerated well"},
        wrong_state="quoted",
        bad=[
            ({"summary": "Tolerated well"}, "discharge_date"),
            ({"discharge_date": TOMORROW, "summary": "Tolerated well"}, "discharge_date"),
            ({"discharge_date": "2026-11-01", "summary": "Tolerated well"}, "discharge_date"),
            ({"discharge_date": TODAY}, "summary"),
        ],
    ),
    "start_follow_up": Case(
        start="discharged", role="coordinator", target="in_follow_up", wrong_state="admitted", wrong_role="physician"
    ),
    "complete": Case(
        start="in_follow_up", role="manager", target="completed", wrong_state="discharged", wrong_role="coordinator"
    ),
    "withdraw": Case(
        start="medically_reviewed",
        role="coordinator",
        target="withdrawn",
        params={"reason": "The patient asked"},
        wrong_state="admitted",
        wrong_role="physician",
        bad=[({}, "reason"), ({"reason": ""}, "reason")],
    ),
}
BAD_PARAMS = [(name, params, name_of_field) for name, case in CASES.items() for params, name_of_field in case.bad]


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def person(request: pytest.FixtureRequest, office: str, role: str) -> User:
    return request.getfixturevalue(f"{office}_{role}")


def ready_to_admit(app: Application) -> Application:
    """Quoted, accepted, admission today and the consent signed: `admit` may run."""
    app = advance(app, "quoted")
    coordinator = office_staff(app.office)["coordinator"]
    services.quote_accept(application=app, actor=coordinator)
    services.admission_schedule(application=app, actor=coordinator, admission_date=app.received_at.date())
    services.consent_sign_portal(application=app, signer_name=app.full_name, ip_address=None, user_agent="pytest")
    return app


def in_state(state: str, **overrides: Any) -> Application:
    app = submit(**overrides)
    if state == "ready_to_admit":
        return ready_to_admit(app)
    if state == "received":
        return app
    return advance(app, state)


def transition(user: User | None, app: Application, name: str, params: dict[str, Any] | None = None) -> Any:
    return client_for(user).post(f"/api/v1/applications/{app.reference}/transitions/{name}/", params or {})


def test_every_transition_of_the_services_is_covered_here():
    assert set(CASES) == set(services.TRANSITION_NAMES)


@pytest.mark.parametrize("name", list(CASES))
def test_a_transition_runs_for_the_right_role_and_is_recorded_with_its_actor(request, name):
    case = CASES[name]
    app = in_state(case.start)
    user = person(request, "delhi", case.role)

    response = transition(user, app, name, case.params)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reference"] == app.reference
    assert body["state"] == case.target
    app.refresh_from_db()
    assert app.state == case.target
    last = TransitionLog.objects.filter(application=app).latest("at", "id")
    assert (last.action, last.to_state, last.actor_kind, last.actor) == (name, case.target, "user", user)


@pytest.mark.parametrize("name", list(CASES))
def test_a_transition_from_the_wrong_state_is_a_409(request, name):
    case = CASES[name]
    app = in_state(case.wrong_state)

    response = transition(person(request, "delhi", case.role), app, name, case.params)

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["message"]
    app.refresh_from_db()
    assert app.state == case.wrong_state


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.wrong_role])
def test_a_transition_the_role_does_not_allow_is_a_403(request, name):
    case = CASES[name]
    app = in_state(case.start)
    assert case.wrong_role is not None

    response = transition(person(request, "delhi", case.wrong_role), app, name, case.params)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    app.refresh_from_db()
    assert TransitionLog.objects.filter(application=app, action=name).count() == 0


@pytest.mark.parametrize("name", list(CASES))
def test_a_transition_is_refused_to_someone_outside_every_office(outsider, name):
    app = in_state("received")

    response = transition(outsider, app, name, CASES[name].params)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("name", list(CASES))
def test_a_transition_on_another_offices_application_is_a_404(request, name):
    case = CASES[name]
    app = in_state(case.start)
    # The same role, but at the other office.
    response = transition(person(request, "europe", case.role), app, name, case.params)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    app.refresh_from_db()
    assert app.state == ("quoted" if case.start == "ready_to_admit" else case.start)


@pytest.mark.parametrize("name", list(CASES))
def test_a_transition_needs_credentials(name):
    app = in_state("received")

    response = transition(None, app, name, CASES[name].params)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("name", "params", "bad_field"), BAD_PARAMS)
def test_missing_or_invalid_parameters_are_a_400_naming_the_field(request, name, params, bad_field):
    case = CASES[name]
    app = in_state(case.start)

    response = transition(person(request, "delhi", case.role), app, name, params)

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    # Nested fields are named by their path, e.g. `items[0].amount`.
    assert any(field == bad_field or field.startswith((f"{bad_field}[", f"{bad_field}.")) for field in body["fields"])
    app.refresh_from_db()
    assert app.state == ("quoted" if case.start == "ready_to_admit" else case.start)


def test_admit_before_its_conditions_are_met_is_a_409_listing_what_is_missing(delhi_coordinator):
    app = in_state("quoted")

    response = transition(delhi_coordinator, app, "admit")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conditions_not_met"
    assert len(body["unmet"]) == 3
    assert "accepted the current quote" in body["message"]
    assert "consent signature" in body["message"]


def test_approve_review_keeps_a_protocol_the_physician_recommends(delhi_physician):
    app = in_state("received")
    protocol = [{"day": 1, "activities": ["admission", "IV injection"]}, {"day": 2, "activities": ["discharge"]}]

    response = transition(delhi_physician, app, "approve_review", {"review_notes": "Short", "protocol": protocol})

    assert response.status_code == 200
    assert response.json()["protocol"] == protocol


def test_revise_quote_replaces_the_live_quote(delhi_coordinator):
    app = in_state("quoted")

    response = transition(
        delhi_coordinator, app, "revise_quote", {"items": [{"description": "Protocol", "amount": "3999.50"}]}
    )

    assert response.status_code == 200
    quote = response.json()["quote"]
    assert quote["total"] == "3999.50"
    assert quote["items"] == [{"description": "Protocol", "amount": "3999.50"}]
    assert app.quotes.count() == 2


def test_an_unknown_transition_is_a_404(delhi_coordinator):
    app = in_state("received")

    response = transition(delhi_coordinator, app, "teleport")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_transition_of_an_unknown_reference_is_a_404(delhi_physician):
    response = client_for(delhi_physician).post(
        "/api/v1/applications/DEL-2026-99999/transitions/decline/", {"reason": "x"}
    )

    assert response.status_code == 404
