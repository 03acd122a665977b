"""SPEC §9 for aftercare: the detail lists checks and reviews; record an outcome, a phone answer, and
correct the discharge date over HTTP, with the documented errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, TransitionLog

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
ADMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
DISCHARGED = datetime(2026, 11, 28, 20, 0, tzinfo=IST)
# Inside the 1-month review's window (due 28 December).
IN_WINDOW = datetime(2026, 12, 29, 11, 0, tzinfo=IST)
ANSWER = {"overall_change": 2, "fatigue": 3, "joint_pain": 2, "flares": 0, "current_medications": "HCQ 200 mg"}


@pytest.fixture
def app() -> Application:
    application = advance(submit(now=ADMITTED), "admitted", now=ADMITTED)
    return services.application_discharge(
        application=application,
        actor=office_staff(application.office)["physician"],
        discharge_date=date(2026, 11, 28),
        summary="Tolerated well",
        now=DISCHARGED,
    )


def user(app: Application, role: str) -> User:
    actor = office_staff(app.office)[role]
    assert actor.user is not None
    return actor.user


def post(who: User | None, path: str, data: dict[str, Any]) -> Any:
    client = APIClient()
    if who is not None:
        client.force_authenticate(who)
    return client.post(path, data, format="json")


def base(app: Application) -> str:
    return f"/api/v1/applications/{app.reference}/"


def test_the_detail_lists_the_checks_and_the_reviews_with_their_status(app: Application) -> None:
    client = APIClient()
    client.force_authenticate(user(app, "coordinator"))
    with time_machine.travel(IN_WINDOW, tick=False):
        body = client.get(base(app)).json()

    assert [(c["hours_after"], c["status"]) for c in body["monitoring_checks"]] == [
        (24, "scheduled"),
        (48, "scheduled"),
    ]
    assert [(r["months"], r["due_date"], r["status"]) for r in body["reviews"]] == [
        (1, "2026-12-28", "pending"),
        (3, "2027-02-28", "pending"),
        (6, "2027-05-28", "pending"),
        (12, "2027-11-28", "pending"),
        (24, "2028-11-28", "pending"),
    ]
    assert body["reviews"][0]["window_opens"] == "2026-12-21"
    assert body["follow_up_due_at"] == "2026-11-30T14:30:00Z"
    assert {"record_monitoring_outcome", "record_phone_answer", "correct_discharge_date"} <= set(
        body["available_actions"]
    )


def test_a_coordinator_records_a_concern_and_the_physicians_are_alerted(app: Application) -> None:
    response = post(user(app, "coordinator"), f"{base(app)}monitoring/48/", {"outcome": "concern", "note": "Fever"})

    assert response.status_code == 200
    check = response.json()["monitoring_checks"][1]
    assert (check["outcome"], check["note"], check["status"]) == ("concern", "Fever", "recorded")
    assert app.history.filter(action="record_monitoring_outcome").count() == 1


@pytest.mark.parametrize(
    ("path", "data", "status", "code"),
    [
        ("monitoring/36/", {"outcome": "well"}, 404, "not_found"),
        ("monitoring/24/", {"outcome": "fine"}, 400, "invalid"),
        ("monitoring/24/", {"outcome": "concern"}, 400, "invalid"),
        ("reviews/2/answers/", ANSWER, 404, "not_found"),
        ("reviews/1/answers/", {**ANSWER, "fatigue": 11}, 400, "invalid"),
        ("reviews/1/answers/", {**ANSWER, "overall_change": -4}, 400, "invalid"),
        ("discharge-date/", {"discharge_date": "2026-11-27"}, 400, "invalid"),
        ("discharge-date/", {"discharge_date": "2026-12-30", "reason": "x"}, 400, "invalid"),
    ],
)
def test_bad_input_is_a_documented_error(app: Application, path: str, data: Any, status: int, code: str) -> None:
    with time_machine.travel(IN_WINDOW, tick=False):
        response = post(user(app, "coordinator"), f"{base(app)}{path}", data)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_a_phone_answer_adds_a_version_each_time_and_keeps_the_first(app: Application) -> None:
    path = f"{base(app)}reviews/1/answers/"
    with time_machine.travel(IN_WINDOW, tick=False):
        first = post(user(app, "coordinator"), path, ANSWER)
        second = post(user(app, "manager"), path, {**ANSWER, "overall_change": 1})

    assert (first.status_code, second.status_code) == (201, 201)
    review = second.json()
    assert review["status"] == "answered"
    assert [(a["version"], a["overall_change"], a["channel"]) for a in review["answers"]] == [
        (1, 2, "phone"),
        (2, 1, "phone"),
    ]


def test_a_phone_answer_outside_the_window_is_a_409_and_a_physician_gets_a_403(app: Application) -> None:
    path = f"{base(app)}reviews/3/answers/"
    with time_machine.travel(IN_WINDOW, tick=False):
        early = post(user(app, "coordinator"), path, ANSWER)
        physician = post(user(app, "physician"), f"{base(app)}reviews/1/answers/", ANSWER)

    assert (early.status_code, early.json()["code"]) == (409, "conflict")
    assert (physician.status_code, physician.json()["code"]) == (403, "permission_denied")


def test_the_discharge_date_is_corrected_and_the_reviews_move(app: Application) -> None:
    with time_machine.travel(IN_WINDOW, tick=False):
        response = post(
            user(app, "physician"), f"{base(app)}discharge-date/", {"discharge_date": "2026-11-27", "reason": "Typo"}
        )

    assert response.status_code == 200
    body = response.json()
    assert body["discharge_date"] == "2026-11-27"
    assert [r["due_date"] for r in body["reviews"]] == [
        "2026-12-27",
        "2027-02-27",
        "2027-05-27",
        "2027-11-27",
        "2028-11-27",
    ]
    log = TransitionLog.objects.get(application=app, action="correct_discharge_date")
    assert log.params["previous"] == "2026-11-28"


def test_another_office_sees_nothing(app: Application, europe_coordinator: User) -> None:
    for path, data in (
        ("monitoring/24/", {"outcome": "well"}),
        ("reviews/1/answers/", ANSWER),
        ("discharge-date/", {"discharge_date": "2026-11-27", "reason": "x"}),
    ):
        response = post(europe_coordinator, f"{base(app)}{path}", data)
        assert response.status_code == 404
    assert post(None, f"{base(app)}monitoring/24/", {"outcome": "well"}).status_code == 401


def test_before_discharge_the_aftercare_endpoints_are_a_409() -> None:
    app = advance(submit(), "admitted")
    response = post(
        user(app, "coordinator"), f"{base(app)}discharge-date/", {"discharge_date": "2026-11-27", "reason": "x"}
    )

    assert (response.status_code, response.json()["code"]) == (409, "conflict")
