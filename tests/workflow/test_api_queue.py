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


def bulk_applications(delhi: Office, europe: Office, count: int, *, now: datetime, **fields: Any) -> list[Application]:
    """`count` applications without the services (the fixture of an index test), alternating offices."""
    rows = []
    for i in range(count):
        at = now - timedelta(days=3, minutes=i)
        values: dict[str, Any] = {
            "office": delhi if i % 2 else europe,
            "full_name": f"Patient {i}",
            "email": f"patient{i}@example.org",
            "received_at": at,
            **{name: value(i) if callable(value) else value for name, value in fields.items()},
        }
        rows.append(
            Application(
                reference=f"{values['office'].code[:3].upper()}-2026-{i:05d}",
                date_of_birth=date(1980, 1, 1),
                sex="female",
                country="IN",
                condition="SLE",
                privacy_notice_version="2026-01",
                privacy_consent_at=at,
                **values,
            )
        )
    return Application.objects.bulk_create(rows)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "priya"}, {"sla": "due_soon"}, {"state": "received", "assigned": "none"}],
    ids=["no filter", "a search", "sla=due_soon", "state and assignee"],
)
@pytest.mark.parametrize("who", ["coordinator", "manager of both offices"])
def test_every_kind_of_page_costs_the_same_queries_at_5_and_at_50_rows(
    delhi_coordinator, network_manager, delhi, europe, params, who
):
    now = timezone.now()
    # 60 rows a office, every one matching every filter: due soon, named Priya, unassigned.
    bulk_applications(
        delhi,
        europe,
        120,
        now=now,
        full_name=lambda i: f"Priya Sharma {i}",
        reply_due_at=now + timedelta(hours=3),
        reply_warn_at=now - timedelta(hours=1),
    )
    client = client_for(delhi_coordinator if who == "coordinator" else network_manager)
    client.get(URL, {"page_size": 5, **params})  # the first request reads what later ones find cached

    with CaptureQueriesContext(connection) as small:
        five = client.get(URL, {"page_size": 5, **params})
    with CaptureQueriesContext(connection) as large:
        fifty = client.get(URL, {"page_size": 50, **params})

    assert len(five.json()["results"]) == 5
    assert len(fifty.json()["results"]) == 50
    assert fifty.json()["count"] == (60 if who == "coordinator" else 120)
    assert len(small.captured_queries) == len(large.captured_queries)


def test_the_count_stops_at_the_limit_and_says_so(delhi_coordinator, delhi, europe, monkeypatch):
    monkeypatch.setattr(selectors, "QUEUE_COUNT_LIMIT", 30)
    bulk_applications(delhi, europe, 80, now=timezone.now())

    capped = client_for(delhi_coordinator).get(URL, {"page_size": 10}).json()
    exact = client_for(delhi_coordinator).get(URL, {"page_size": 10, "q": "Patient 1"}).json()

    assert capped["count"] == 30
    assert capped["count_capped"] is True
    assert capped["next"] is not None
    # Delhi holds the odd ones: Patient 1, 11, 13 … 19 and 1x of the seventies: 1, 11, 13, 15, 17, 19.
    assert exact["count"] == 6
    assert exact["count_capped"] is False


def test_pages_past_the_count_limit_still_follow_each_other(delhi_coordinator, delhi, europe, monkeypatch):
    monkeypatch.setattr(selectors, "QUEUE_COUNT_LIMIT", 10)
    apps = bulk_applications(delhi, europe, 60, now=timezone.now())
    delhi_refs = sorted((a.received_at, a.pk, a.reference) for a in apps if a.office_id == delhi.pk)

    client = client_for(delhi_coordinator)
    pages = [client.get(URL, {"page_size": 8, "page": n, "ordering": "received_at"}).json() for n in (1, 2, 3, 4)]

    assert [row["reference"] for page in pages for row in page["results"]] == [ref for *_, ref in delhi_refs]
    assert pages[3]["next"] is None
    assert client.get(URL, {"page_size": 8, "page": 5}).status_code == 404


def test_a_manager_of_both_offices_gets_one_order_across_them(network_manager, delhi, europe, monkeypatch):
    # Over the count limit, so the page comes from the per-office merge, not from the counted rows.
    monkeypatch.setattr(selectors, "QUEUE_COUNT_LIMIT", 5)
    now = timezone.now()
    apps = bulk_applications(
        delhi, europe, 40, now=now, reply_due_at=lambda i: now + timedelta(hours=i), reply_warn_at=None
    )
    expected = [a.reference for a in sorted(apps, key=lambda a: (a.reply_due_at, a.pk))]

    client = client_for(network_manager)
    first = client.get(URL, {"page_size": 15}).json()
    second = client.get(URL, {"page_size": 15, "page": 2}).json()

    assert [row["reference"] for row in first["results"] + second["results"]] == expected[:30]
    assert {row["office"] for row in first["results"]} == {"delhi", "europe"}


def plans_of(call: Any) -> list[str]:
    """The EXPLAIN of each query `call` runs."""
    with CaptureQueriesContext(connection) as captured:
        call()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def page_plan(call: Any) -> str:
    """The plan of the one statement in which `call` (a queue page) reads applications; its only other
    statement may read only the calendar overrides of the page's offices (none for an empty page)."""
    plans = plans_of(call)
    applications = [plan for plan in plans if "workflow_application" in plan]
    assert len(applications) == 1, plans
    others = [plan for plan in plans if plan not in applications]
    assert len(others) <= 1, plans
    assert all("offices_calendaroverride" in plan for plan in others), others
    return applications[0]


@pytest.fixture
def indexed_queue(delhi, europe, delhi_coordinator):
    """4,000 applications in both offices, in several states, most assigned to a colleague (so that
    `me` and `none` are both selective: a dense match is found as fast along the deadline index, and
    the planner rightly takes it), deadlines around now. Delhi, the office the tests read, is
    the large one: its rows are most of the table, as at scale."""
    now = timezone.now()
    colleague = make_staff("meera", {"delhi": "coordinator"})
    states = ["received", "completed", "declined", "quoted", "admitted"]
    bulk_applications(
        delhi,
        europe,
        4000,
        now=now,
        office=lambda i: europe if i % 10 == 0 else delhi,
        state=lambda i: states[i % len(states)],
        assigned_to_id=lambda i: None if i % 50 == 0 else delhi_coordinator.pk if i % 7 == 1 else colleague.pk,
        reply_due_at=lambda i: None if i % 3 == 0 else now + timedelta(hours=(i % 200) - 50),
        reply_warn_at=lambda i: None if i % 3 == 0 else now + timedelta(hours=(i % 200) - 60),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_application")
    return now


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"state": "admitted"}, "queue_by_office_state"),
        ({"assigned": "me"}, "queue_by_office_assignee"),
        ({"sla": "breached"}, "queue_by_office_due"),
        ({"sla": "due_soon"}, "queue_by_office_due"),
        ({"sla": "on_track"}, "queue_by_office_due"),
        ({"ordering": "received_at"}, "queue_by_office_received"),
        ({"ordering": "-received_at"}, "queue_by_office_received"),
    ],
)
def test_each_filter_of_one_office_reads_its_own_index_in_the_queues_order(
    delhi_coordinator, indexed_queue, filters, index
):
    actor = Actor.staff(delhi_coordinator)

    plan = page_plan(lambda: selectors.queue_page(actor=actor, now=indexed_queue, number=1, size=25, **filters))

    assert index in plan, plan
    # The index gives the order: the page is read, not sorted.
    assert "Sort" not in plan, plan
    if "sla" in filters and filters["sla"] != "breached":
        # The warning instant is checked inside the index, not on the rows.
        assert "reply_warn_at" in plan.split("Index Cond:")[1].split("\n")[0], plan


@pytest.mark.postgres
def test_a_search_reads_the_trigram_indexes_and_finds_no_match_without_walking_the_office(
    delhi_coordinator, indexed_queue
):
    actor = Actor.staff(delhi_coordinator)

    plans = plans_of(lambda: selectors.queue_page(actor=actor, now=indexed_queue, number=1, size=25, q="zzqxvw"))

    candidates = plans[0]
    for name in ("queue_search_reference", "queue_search_full_name", "queue_search_email"):
        assert f"Bitmap Index Scan on {name}" in candidates, candidates
    # Nothing matched: no second query reads rows.
    assert len(plans) == 1


@pytest.mark.postgres
def test_a_manager_of_both_offices_reads_each_office_in_index_order(network_manager, indexed_queue, monkeypatch):
    monkeypatch.setattr(selectors, "QUEUE_COUNT_LIMIT", 100)
    actor = Actor.staff(network_manager)

    plan = page_plan(lambda: selectors.queue_page(actor=actor, now=indexed_queue, number=1, size=25))

    # One limited range of the deadline index per office: the sort sees 2 x 26 rows, not both offices.
    assert plan.count("queue_by_office_due") == 2, plan
    assert "(office_id = 1)" in plan and "(office_id = 2)" in plan, plan
    assert "rows=52 " in plan.split("Sort Key")[1], plan


@pytest.mark.postgres
def test_unassigned_rows_are_found_by_an_index_not_by_reading_the_office(delhi_coordinator, indexed_queue):
    actor = Actor.staff(delhi_coordinator)

    plan = page_plan(lambda: selectors.queue_page(actor=actor, now=indexed_queue, number=1, size=25, assigned="none"))

    # A few rows: the assignee indexes find them (PostgreSQL may sort those few); never a filter on the office.
    assert "Index Cond: (assigned_to_id IS NULL)" in plan or "assigned_to_id IS NULL)" in plan.split("Index Cond")[1]
    assert "Filter: (assigned_to_id IS NULL)" not in plan, plan


def test_a_queue_row_built_by_hand_is_what_its_declared_fields_give(europe_coordinator, europe_manager, europe_queue):
    from rest_framework import serializers as drf

    from workflow.api.serializers import ApplicationSummarySerializer, QueueRowSerializer

    now = timezone.now()
    context = {"now": now, "calendars": {}}
    rows = selectors.queue_page(actor=Actor.staff(europe_manager), now=now, number=1, size=50).rows
    # Every kind of row: assigned and not, with a deadline and without.
    assert {row.assigned_to_id is None for row in rows} == {True, False}
    assert {row.reply_due_at is None for row in rows} == {True, False}
    for row in rows:
        application = Application.objects.select_related("office", "assigned_to").get(reference=row.reference)
        summary = ApplicationSummarySerializer(application, context=context)
        declared = drf.Serializer.to_representation(summary, application)
        assert QueueRowSerializer(row, context=context).data == declared
