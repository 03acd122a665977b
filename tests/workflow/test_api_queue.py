"""The staff queue: scoping, filters, ordering, pagination, a constant number of queries, its index."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from offices.models import Office
from tests.conftest import make_staff
from tests.workflow.conftest import advance, office_staff, submit
from workflow import selectors, services
from workflow.actors import Actor
from workflow.models import Application

pytestmark = pytest.mark.django_db

URL = "/api/v1/applications/"
# Wednesday 25 November 2026, 11:00 in Berlin.
QUERY_TIME = "2026-11-25T10:00:00Z"


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def received(at: str, **overrides: Any) -> Application:
    with time_machine.travel(at, tick=False):
        return submit(**overrides)


def references(response: Any) -> list[str]:
    body = response.json()
    return [row["reference"] for row in body["results"]]


@pytest.fixture
def network_manager(db: None) -> User:
    """A manager of both offices."""
    return make_staff("nadia", {"delhi": "manager", "europe": "manager"})


@pytest.fixture
def europe_queue(europe_coordinator: User, europe_manager: User) -> dict[str, Application]:
    """Four Europe applications whose reply promise, at QUERY_TIME, is in each SLA status, and one Delhi one.

    Europe works 09:00–17:00 Berlin, so two working days are 16 working hours, the warning comes at 12.
    """
    apps = {
        # Due Tue 17:00, warned Tue 13:00: breached.
        "breached": received("2026-11-23T08:00:00Z", country="DE", full_name="Anna Schmidt", email="anna@example.de"),
        # Due Wed 13:00, warned Tue 17:00: due soon.
        "due_soon": received("2026-11-23T12:00:00Z", country="DE", full_name="Bernd Meyer", email="bernd@example.de"),
        # Replied to at once: nothing is owed.
        "answered": received("2026-11-24T08:00:00Z", country="DE", full_name="Dieter Braun", email="dieter@example.de"),
        # Due Thu 17:00, warned Thu 13:00: on track.
        "on_track": received("2026-11-25T08:00:00Z", country="DE", full_name="Clara Vogel", email="clara@example.de"),
        "delhi": received("2026-11-24T05:00:00Z", country="IN", full_name="Anna Delhi", email="anna@example.in"),
    }
    coordinator = Actor.staff(europe_coordinator)
    with time_machine.travel("2026-11-24T09:00:00Z", tick=False):
        services.message_post(application=apps["answered"], actor=coordinator, kind="reply", body="Thank you.")
        services.application_assign(application=apps["breached"], actor=coordinator, user_id=europe_coordinator.pk)
        services.application_assign(application=apps["due_soon"], actor=coordinator, user_id=europe_manager.pk)
    return apps


def queue(user: User | None, **params: Any) -> Any:
    with time_machine.travel(QUERY_TIME, tick=False):
        return client_for(user).get(URL, params)


def test_the_queue_lists_the_callers_offices_by_reply_deadline_with_no_deadline_last(europe_coordinator, europe_queue):
    response = queue(europe_coordinator)

    assert response.status_code == 200
    apps = europe_queue
    assert references(response) == [
        apps["breached"].reference,
        apps["due_soon"].reference,
        apps["on_track"].reference,
        apps["answered"].reference,
    ]
    assert response.json()["count"] == 4


def test_each_row_carries_its_sla_in_working_seconds(europe_coordinator, europe_manager, europe_queue):
    rows = {row["reference"]: row for row in queue(europe_coordinator).json()["results"]}

    breached = rows[europe_queue["breached"].reference]
    assert breached["sla"] == {"status": "breached", "due_at": "2026-11-24T16:00:00Z", "working_time_left": -7200}
    assert breached["office"] == "europe"
    assert breached["assigned_to"] == europe_coordinator.pk
    assert breached["assigned_to_name"] == "jonas"
    assert breached["full_name"] == "Anna Schmidt"
    assert breached["country"] == "DE"
    assert breached["state"] == "received"
    assert breached["received_at"] == "2026-11-23T08:00:00Z"
    assert breached["reply_due_at"] == "2026-11-24T16:00:00Z"
    assert rows[europe_queue["due_soon"].reference]["sla"] == {
        "status": "due_soon",
        "due_at": "2026-11-25T12:00:00Z",
        "working_time_left": 7200,
    }
    assert rows[europe_queue["on_track"].reference]["sla"]["status"] == "on_track"
    assert rows[europe_queue["on_track"].reference]["sla"]["working_time_left"] == 14 * 3600
    assert rows[europe_queue["answered"].reference]["sla"] == {
        "status": None,
        "due_at": None,
        "working_time_left": None,
    }
    assert rows[europe_queue["answered"].reference]["assigned_to"] is None


@pytest.mark.parametrize("status", ["breached", "due_soon", "on_track"])
def test_the_sla_filter_picks_each_status(europe_coordinator, europe_queue, status):
    assert references(queue(europe_coordinator, sla=status)) == [europe_queue[status].reference]


def test_the_assigned_filter_takes_me_none_or_a_user_id(europe_coordinator, europe_manager, europe_queue):
    apps = europe_queue

    assert references(queue(europe_coordinator, assigned="me")) == [apps["breached"].reference]
    assert references(queue(europe_manager, assigned="me")) == [apps["due_soon"].reference]
    assert references(queue(europe_coordinator, assigned="none")) == [
        apps["on_track"].reference,
        apps["answered"].reference,
    ]
    assert references(queue(europe_coordinator, assigned=str(europe_manager.pk))) == [apps["due_soon"].reference]


def test_free_text_searches_reference_name_and_email_ignoring_case(europe_coordinator, europe_queue):
    apps = europe_queue

    assert references(queue(europe_coordinator, q="schmidt")) == [apps["breached"].reference]
    assert references(queue(europe_coordinator, q="DIETER@EXAMPLE")) == [apps["answered"].reference]
    assert references(queue(europe_coordinator, q=apps["on_track"].reference.lower())) == [apps["on_track"].reference]
    # Anna Delhi matches by name, but she is another office's patient.
    assert references(queue(europe_coordinator, q="anna")) == [apps["breached"].reference]


def test_the_queue_orders_by_arrival_either_way(europe_coordinator, europe_queue):
    apps = europe_queue
    oldest_first = [apps[k].reference for k in ("breached", "due_soon", "answered", "on_track")]

    assert references(queue(europe_coordinator, ordering="received_at")) == oldest_first
    assert references(queue(europe_coordinator, ordering="-received_at")) == oldest_first[::-1]


def test_another_offices_application_is_never_listed(delhi_coordinator, europe_coordinator, europe_queue):
    delhi_reference = europe_queue["delhi"].reference

    assert delhi_reference not in references(queue(europe_coordinator))
    assert references(queue(europe_coordinator, office="delhi")) == []
    assert references(queue(europe_coordinator, q=delhi_reference)) == []
    assert references(queue(delhi_coordinator)) == [delhi_reference]


def test_a_member_of_both_offices_sees_both_and_filters_by_office(network_manager, europe_queue):
    assert len(references(queue(network_manager))) == 5
    assert references(queue(network_manager, office="delhi")) == [europe_queue["delhi"].reference]
    assert len(references(queue(network_manager, office="europe"))) == 4


def test_the_state_filter_lists_one_state(delhi_coordinator):
    with time_machine.travel("2026-11-25T06:00:00Z", tick=False):
        waiting = submit()
        declined = advance(submit(), "declined")
        reviewed = advance(submit(), "medically_reviewed")

    assert references(queue(delhi_coordinator, state="declined")) == [declined.reference]
    assert references(queue(delhi_coordinator, state="medically_reviewed")) == [reviewed.reference]
    assert references(queue(delhi_coordinator, state="received")) == [waiting.reference]
    assert references(queue(delhi_coordinator, state="quoted")) == []


def test_empty_filters_are_ignored(europe_coordinator, europe_queue):
    response = queue(europe_coordinator, office="", state="", assigned="", sla="", q="")

    assert response.status_code == 200
    assert response.json()["count"] == 4


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [
        ({"state": "lost"}, "state"),
        ({"sla": "late"}, "sla"),
        ({"assigned": "someone"}, "assigned"),
        ({"assigned": "-3"}, "assigned"),
        ({"office": "mars"}, "office"),
        ({"ordering": "full_name"}, "ordering"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(europe_coordinator, params, bad_field):
    response = queue(europe_coordinator, **params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [bad_field]


def test_the_queue_is_paginated(delhi_coordinator):
    with time_machine.travel("2026-11-25T06:00:00Z", tick=True):
        apps = [submit() for _ in range(5)]

    first = queue(delhi_coordinator, page_size=2).json()
    assert first["count"] == 5
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert [row["reference"] for row in first["results"]] == [a.reference for a in apps[:2]]
    last = queue(delhi_coordinator, page_size=2, page=3).json()
    assert [row["reference"] for row in last["results"]] == [apps[4].reference]
    assert last["next"] is None
    beyond = queue(delhi_coordinator, page_size=2, page=4)
    assert beyond.status_code == 404
    assert beyond.json()["code"] == "not_found"


def test_someone_outside_every_office_gets_a_403(outsider):
    response = queue(outsider)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_the_queue_needs_credentials(db):
    response = queue(None)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_a_page_of_50_costs_the_same_queries_as_a_page_of_5(network_manager, delhi, europe):
    with time_machine.travel("2026-11-25T06:00:00Z", tick=True):
        apps = [submit(country="IN" if i % 2 else "DE") for i in range(60)]
        for office in (delhi, europe):
            staff = office_staff(office)
            for app in [a for a in apps if a.office_id == office.pk][:10]:
                services.application_assign(
                    application=app, actor=staff["manager"], user_id=staff["coordinator"].user.pk
                )
    client = client_for(network_manager)

    with CaptureQueriesContext(connection) as small:
        five = client.get(URL, {"page_size": 5})
    with CaptureQueriesContext(connection) as large:
        fifty = client.get(URL, {"page_size": 50})
    default = client.get(URL).json()

    assert len(five.json()["results"]) == 5
    assert len(fifty.json()["results"]) == 50
    assert {row["office"] for row in fifty.json()["results"]} == {"delhi", "europe"}
    assert sum(1 for row in fifty.json()["results"] if row["assigned_to_name"]) >= 10
    assert len(default["results"]) == 25
    assert default["count"] == 60
    assert len(small.captured_queries) == len(large.captured_queries)


def test_a_page_size_over_100_is_capped_at_100_rows_with_a_link_to_the_rest(delhi_coordinator: User) -> None:
    # More rows than the cap, all in the caller's office: with fewer, no cap could show.
    with time_machine.travel("2026-11-25T06:00:00Z", tick=True):
        for _ in range(101):
            submit()

    first = queue(delhi_coordinator, page_size=500)
    second = queue(delhi_coordinator, page_size=500, page=2)

    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 101
    assert len(body["results"]) == 100
    assert body["next"] is not None
    assert "page=2" in body["next"]
    assert len(second.json()["results"]) == 1
    assert second.json()["next"] is None


@pytest.mark.postgres
def test_the_default_queue_of_one_office_reads_the_queue_by_office_due_index(delhi_coordinator, delhi, europe):
    start = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    rows = []
    for i in range(2000):
        office = delhi if i % 2 else europe
        at = start + timedelta(hours=i)
        due = None if i % 10 == 0 else at + timedelta(days=2)
        rows.append(
            Application(
                reference=f"{office.code[:3].upper()}-2026-{i:05d}",
                office=office,
                full_name=f"Patient {i}",
                email=f"patient{i}@example.org",
                date_of_birth=date(1980, 1, 1),
                sex="female",
                country="IN",
                condition="SLE",
                privacy_notice_version="2026-01",
                privacy_consent_at=at,
                received_at=at,
                reply_due_at=due,
                reply_warn_at=due - timedelta(hours=4) if due else None,
            )
        )
    Application.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_application")

    page = selectors.application_queue(actor=Actor.staff(delhi_coordinator), now=timezone.now())[:25]
    plan = page.explain()

    assert "queue_by_office_due" in plan, plan
    # The index gives the order too: the page is read, not sorted.
    assert "Sort" not in plan, plan
    assert len(page) == 25
    assert all(app.office_id == delhi.pk for app in page)
    assert Office.objects.count() == 2
