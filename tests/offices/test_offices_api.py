from __future__ import annotations

from datetime import date

import pytest
import time_machine
from rest_framework.test import APIClient

from offices.models import CalendarOverride, Office

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_the_seeded_offices_are_listed_with_their_calendars(api):
    with time_machine.travel("2026-11-20T06:00:00Z", tick=False):
        response = api.get("/api/v1/offices/")
    assert response.status_code == 200
    offices = {o["code"]: o for o in response.json()}
    assert set(offices) == {"delhi", "europe"}
    delhi = offices["delhi"]
    assert delhi["timezone"] == "Asia/Kolkata"
    assert delhi["hours"] == {"opens": "09:30", "closes": "18:30"}
    assert delhi["working_days"] == [0, 1, 2, 3, 4, 5]
    assert delhi["currency"] == "INR"
    assert delhi["sla_days"] == 2
    europe = offices["europe"]
    assert europe["timezone"] == "Europe/Berlin"
    assert europe["hours"] == {"opens": "09:00", "closes": "17:00"}
    assert europe["working_days"] == [0, 1, 2, 3, 4]
    assert europe["currency"] == "EUR"


def test_closures_of_the_next_60_days_include_holidays_and_office_closures(api, europe):
    CalendarOverride.objects.create(office=europe, date=date(2026, 12, 30), kind="closed", note="Inventory")
    CalendarOverride.objects.create(office=europe, date=date(2027, 3, 1), kind="closed", note="Too far ahead")
    with time_machine.travel("2026-11-20T06:00:00Z", tick=False):
        response = api.get("/api/v1/offices/")
    offices = {o["code"]: o for o in response.json()}
    delhi_dates = {c["date"] for c in offices["delhi"]["closures"]}
    europe_dates = {c["date"] for c in offices["europe"]["closures"]}
    assert "2026-11-24" in delhi_dates
    assert {"2026-12-25", "2026-12-30"} <= europe_dates
    assert "2027-03-01" not in europe_dates
    # An ordinary weekend is not a closure.
    assert "2026-11-22" not in europe_dates


@pytest.mark.parametrize(
    ("code", "received_at", "due_utc", "due_local"),
    [
        ("delhi", "2026-11-23T04:30:00Z", "2026-11-26T04:30:00Z", "2026-11-26T10:00:00+05:30"),
        ("delhi", "2026-11-28T14:30:00Z", "2026-12-01T13:00:00Z", "2026-12-01T18:30:00+05:30"),
        ("europe", "2026-12-18T15:00:00Z", "2026-12-22T15:00:00Z", "2026-12-22T16:00:00+01:00"),
        ("europe", "2026-11-20T08:00:00Z", "2026-11-23T16:00:00Z", "2026-11-23T17:00:00+01:00"),
    ],
)
def test_the_reply_due_endpoint_gives_the_spec_worked_examples_to_the_second(
    api, code, received_at, due_utc, due_local
):
    response = api.get(f"/api/v1/offices/{code}/reply-due/", {"received_at": received_at})
    assert response.status_code == 200
    body = response.json()
    assert body["reply_due_at"] == due_utc
    assert body["reply_due_local"] == due_local


def test_the_reply_due_endpoint_rejects_a_naive_or_missing_instant(api):
    naive = api.get("/api/v1/offices/delhi/reply-due/", {"received_at": "2026-11-23T10:00:00"})
    assert naive.status_code == 400
    assert "received_at" in naive.json()["fields"]
    missing = api.get("/api/v1/offices/delhi/reply-due/")
    assert missing.status_code == 400
    garbage = api.get("/api/v1/offices/delhi/reply-due/", {"received_at": "soon"})
    assert garbage.status_code == 400


def test_an_unknown_office_is_a_404_with_the_error_shape(api):
    response = api.get("/api/v1/offices/mars/reply-due/", {"received_at": "2026-11-23T04:30:00Z"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_seed_migration_creates_both_offices_with_the_spec_defaults():
    delhi = Office.objects.get(code="delhi")
    assert (delhi.holiday_country, delhi.holiday_subdivision) == ("IN", "DL")
    europe = Office.objects.get(code="europe")
    assert (europe.holiday_country, europe.holiday_subdivision) == ("DE", "")
