from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from offices.models import Office
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.reports import sla_report

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def received(when: str):
    with time_machine.travel(at(when), tick=False):
        return submit()


def test_it_counts_met_breached_and_pending_and_measures_reply_time_in_working_hours(delhi_coordinator):
    coordinator = Actor.staff(delhi_coordinator)
    # Replied after 2 working hours: met.
    quick = received("2026-11-23 10:00")
    services.message_post(application=quick, actor=coordinator, kind="reply", body="Hi", now=at("2026-11-23 12:00"))
    # Replied across the Delhi holiday (Tue 24 Nov): 8.5 h on Monday + 1 h on Wednesday = 9.5 working hours.
    overnight = received("2026-11-23 10:00")
    services.message_post(application=overnight, actor=coordinator, kind="reply", body="Hi", now=at("2026-11-25 10:30"))
    # Replied after the deadline (Thu 26 Nov 10:00): breached, 18 h + 1 h = 19 working hours.
    late = received("2026-11-23 10:00")
    services.message_post(application=late, actor=coordinator, kind="reply", body="Hi", now=at("2026-11-26 11:00"))
    # Never replied, past due: breached.
    received("2026-11-23 10:00")
    # Not yet due: pending.
    received("2026-11-27 10:00")
    # Outside the period: not counted.
    received("2026-12-05 10:00")

    [row] = sla_report(
        offices=[Office.objects.get(code="delhi")],
        start=date(2026, 11, 23),
        end=date(2026, 11, 30),
        now=at("2026-11-27 12:00"),
    )
    assert row["opened"] == 5
    assert (row["met"], row["breached"], row["pending"]) == (2, 2, 1)
    assert row["percent_met"] == 50.0
    assert row["median_reply_hours"] == 9.5
    assert row["p90_reply_hours"] == 19.0


def test_a_withdrawal_before_the_deadline_emails_the_patient_and_counts_as_met():
    application = received("2026-11-23 10:00")
    with time_machine.travel(at("2026-11-23 11:00"), tick=False):
        advance(application, "withdrawn")
    [row] = sla_report(
        offices=[Office.objects.get(code="delhi")],
        start=date(2026, 11, 23),
        end=date(2026, 11, 23),
        now=at("2026-12-31 12:00"),
    )
    assert (row["opened"], row["met"], row["breached"], row["closed_unanswered"]) == (1, 1, 0, 0)
    assert row["median_reply_hours"] == 1.0


def test_a_question_closed_by_completion_without_an_email_is_neither_met_nor_breached(delhi_manager):
    with time_machine.travel(at("2026-11-23 10:00"), tick=False):
        application = advance(submit(), "in_follow_up")
    services.message_receive(
        application=application, actor=Actor.patient(), body="One more question", now=at("2026-11-27 10:00")
    )
    # Completion writes nothing to the patient: the question was closed, not answered (SPEC §4).
    services.application_complete(application=application, actor=Actor.staff(delhi_manager), now=at("2026-11-27 11:00"))
    [row] = sla_report(
        offices=[Office.objects.get(code="delhi")],
        start=date(2026, 11, 27),
        end=date(2026, 11, 27),
        now=at("2026-12-31 12:00"),
    )
    assert (row["opened"], row["met"], row["breached"], row["closed_unanswered"]) == (1, 0, 0, 1)
    assert row["percent_met"] is None
    assert row["median_reply_hours"] is None


def test_each_office_reports_only_its_own_obligations():
    received("2026-11-23 10:00")
    rows = sla_report(
        offices=list(Office.objects.order_by("code")),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
        now=at("2026-11-23 12:00"),
    )
    assert [(r["office"], r["opened"]) for r in rows] == [("delhi", 1), ("europe", 0)]


def api_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_gets_the_report_of_their_office_over_http(delhi_manager, delhi_coordinator):
    application = received("2026-11-23 10:00")
    services.message_post(
        application=application,
        actor=Actor.staff(delhi_coordinator),
        kind="reply",
        body="Hi",
        now=at("2026-11-23 12:00"),
    )
    with time_machine.travel(at("2026-11-27 12:00"), tick=False):
        response = api_for(delhi_manager).get("/api/v1/reports/sla/", {"from": "2026-11-01", "to": "2026-11-30"})
    assert response.status_code == 200
    [row] = response.json()
    assert row["office"] == "delhi"
    assert (row["from"], row["to"]) == ("2026-11-01", "2026-11-30")
    assert (row["opened"], row["met"], row["percent_met"], row["median_reply_hours"]) == (1, 1, 100.0, 2.0)


def test_the_report_is_for_managers_only(delhi_coordinator):
    response = api_for(delhi_coordinator).get("/api/v1/reports/sla/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_manager_cannot_read_another_offices_report(delhi_manager):
    response = api_for(delhi_manager).get("/api/v1/reports/sla/", {"office": "europe"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-01", "to": "2026-11-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
    ],
)
def test_a_bad_period_is_a_400_naming_the_field(delhi_manager, params, field):
    response = api_for(delhi_manager).get("/api/v1/reports/sla/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_without_a_period_the_report_covers_the_last_30_days(delhi_manager):
    with time_machine.travel(at("2026-11-27 12:00"), tick=False):
        response = api_for(delhi_manager).get("/api/v1/reports/sla/")
    [row] = response.json()
    assert (row["from"], row["to"]) == ("2026-10-29", "2026-11-27")
