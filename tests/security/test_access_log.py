"""The access log (SPEC §11, docs/security.md "Access log"): one row per staff read of an application's
personal data and per refusal, through the API, the staff pages and the admin; append-only."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import CharField, TextField
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from security.access_log import access_log_for_application, record_denial, record_read
from security.models import AccessLogEntry
from tests.workflow.conftest import TINY_PDF, submit
from workflow.models import Application, TransitionLog

pytestmark = pytest.mark.django_db


def a_request(user, path: str = "/api/v1/applications/x/", **meta):
    request = RequestFactory().get(path, REMOTE_ADDR="198.51.100.7", **meta)
    request.user = user
    return request


# ---- the service ----


def test_a_read_is_one_row_naming_the_user_the_application_its_office_and_the_address(delhi_coordinator):
    application = submit()

    record_read(request=a_request(delhi_coordinator), application=application, what="detail", channel="api")

    entry = AccessLogEntry.objects.get()
    assert (entry.user, entry.username, entry.what, entry.channel) == (delhi_coordinator, "asha", "detail", "api")
    assert (entry.application_id, entry.reference, entry.office_id) == (
        application.pk,
        application.reference,
        application.office_id,
    )
    assert (entry.outcome, entry.status, entry.client_address) == ("read", 200, "198.51.100.7")
    assert entry.path == "/api/v1/applications/x/"
    assert entry.at.utcoffset().total_seconds() == 0


def test_a_denial_by_reference_finds_the_application_in_any_office_so_its_managers_see_it(europe_coordinator):
    application = submit()

    record_denial(
        request=a_request(europe_coordinator),
        reference_or_application=application.reference,
        what="detail",
        channel="api",
        status=404,
    )

    entry = AccessLogEntry.objects.get()
    assert (entry.outcome, entry.status, entry.application_id, entry.office_id) == (
        "denied",
        404,
        application.pk,
        application.office_id,
    )


def test_a_denial_for_a_reference_nobody_has_keeps_the_reference_asked_for(europe_coordinator):
    record_denial(
        request=a_request(europe_coordinator),
        reference_or_application="DEL-NOPE",
        what="detail",
        channel="web",
        status=404,
    )

    entry = AccessLogEntry.objects.get()
    assert (entry.reference, entry.application_id, entry.office_id) == ("DEL-NOPE", None, None)


def test_the_query_string_is_not_kept_since_a_search_may_hold_a_patient_name(delhi_coordinator):
    application = submit()

    record_read(
        request=a_request(delhi_coordinator, "/staff/?q=Priya+Sharma"), application=application, what="d", channel="web"
    )

    assert AccessLogEntry.objects.get().path == "/staff/"


def test_the_rows_of_an_application_are_listed_oldest_first_for_the_export(delhi_coordinator):
    application, other = submit(), submit()
    for what in ("detail", "history"):
        record_read(request=a_request(delhi_coordinator), application=application, what=what, channel="api")
    record_read(request=a_request(delhi_coordinator), application=other, what="detail", channel="api")

    assert [entry.what for entry in access_log_for_application(application)] == ["detail", "history"]


@pytest.mark.postgres
def test_the_rows_of_an_application_are_read_through_their_index(delhi_coordinator):
    application = submit()
    record_read(request=a_request(delhi_coordinator), application=application, what="detail", channel="api")
    with connection.cursor() as cursor:
        # A test table is tiny: without this the planner would rightly read it whole.
        cursor.execute("SET LOCAL enable_seqscan = off")

    assert "access_log_by_application" in access_log_for_application(application).explain()


# ---- append-only in PostgreSQL ----


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement", ["UPDATE security_accesslogentry SET what = 'x'", "DELETE FROM security_accesslogentry"]
)
def test_an_update_or_a_delete_on_the_table_is_refused_by_the_database(statement, delhi_coordinator):
    record_read(request=a_request(delhi_coordinator), application=submit(), what="detail", channel="api")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert AccessLogEntry.objects.get().what == "detail"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_test_runners_flush_still_empties_the_table(delhi_coordinator):
    """pytest-django ends a transactional test with a flush, which is TRUNCATE in PostgreSQL."""
    record_read(request=a_request(delhi_coordinator), application=submit(), what="detail", channel="api")

    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), [AccessLogEntry._meta.db_table]))

    assert not AccessLogEntry.objects.exists()


@pytest.mark.postgres
def test_the_table_has_no_foreign_key_constraint_so_it_never_blocks_deleting_what_it_names():
    # A constraint would hold up deleting an office or an application (test teardown, a closed office);
    # a cascade or SET NULL would be a DELETE or an UPDATE, which the trigger refuses.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'security_accesslogentry'::regclass AND contype = 'f'"
        )
        assert cursor.fetchone() == (0,)


def test_deleting_a_user_keeps_their_rows_with_their_name(delhi_coordinator):
    record_read(request=a_request(delhi_coordinator), application=submit(), what="detail", channel="api")

    delhi_coordinator.delete()

    entry = AccessLogEntry.objects.get()
    assert (entry.username, entry.user_id is not None) == ("asha", True)


# ---- through the interfaces ----

ROLES = ["delhi_coordinator", "delhi_physician", "delhi_manager"]
DELHI_ADDRESS = "203.0.113.20"


def api(user) -> APIClient:
    client = APIClient(REMOTE_ADDR=DELHI_ADDRESS)
    client.force_authenticate(user)
    return client


def web(user) -> Client:
    client = Client(REMOTE_ADDR=DELHI_ADDRESS)
    client.force_login(user)
    return client


def rows() -> list[tuple[str, str, str, str, int, str]]:
    return [
        (entry.username, entry.channel, entry.outcome, entry.what, entry.status, entry.reference)
        for entry in AccessLogEntry.objects.order_by("id")
    ]


@pytest.fixture
def application() -> Application:
    return submit(documents=[SimpleUploadedFile("labs.pdf", TINY_PDF, content_type="application/pdf")])


@pytest.mark.parametrize("role", ROLES)
def test_reading_an_application_through_the_api_is_one_row_per_read_as_each_role(request, role, application):
    user = request.getfixturevalue(role)
    base = f"/api/v1/applications/{application.reference}/"
    document = application.documents.get()

    for path in ("", "history/", "messages/", "notifications/", f"documents/{document.pk}/"):
        assert api(user).get(base + path).status_code == 200

    ref = application.reference
    assert rows() == [
        (user.username, "api", "read", what, 200, ref)
        for what in ("detail", "history", "messages", "notifications", "document")
    ]
    entry = AccessLogEntry.objects.first()
    assert (entry.user_id, entry.application_id, entry.office_id, entry.client_address) == (
        user.pk,
        application.pk,
        application.office_id,
        DELHI_ADDRESS,
    )


def test_another_offices_application_through_the_api_is_one_404_refusal_its_office_can_see(
    europe_coordinator, application
):
    response = api(europe_coordinator).get(f"/api/v1/applications/{application.reference}/")

    assert response.status_code == 404
    assert rows() == [("jonas", "api", "denied", "detail", 404, application.reference)]
    assert AccessLogEntry.objects.get().office_id == application.office_id


def test_a_reference_nobody_has_through_the_api_is_one_refusal_with_the_reference_asked_for(delhi_coordinator):
    assert api(delhi_coordinator).get("/api/v1/applications/DEL-2026-NOPE/history/").status_code == 404

    assert rows() == [("asha", "api", "denied", "history", 404, "DEL-2026-NOPE")]


def test_a_step_the_role_may_not_take_is_one_403_refusal(delhi_coordinator, application):
    response = api(delhi_coordinator).post(
        f"/api/v1/applications/{application.reference}/transitions/approve_review/",
        {"review_notes": "fine"},
        format="json",
    )

    assert response.status_code == 403
    assert rows() == [("asha", "api", "denied", "application-transition-approve_review", 403, application.reference)]


def test_someone_with_no_office_is_one_403_refusal(outsider, application):
    assert api(outsider).get(f"/api/v1/applications/{application.reference}/").status_code == 403

    assert rows() == [("outsider", "api", "denied", "detail", 403, application.reference)]


def test_a_step_taken_is_in_the_history_not_the_access_log(delhi_physician, application):
    response = api(delhi_physician).post(
        f"/api/v1/applications/{application.reference}/transitions/approve_review/",
        {"review_notes": "Eligible"},
        format="json",
    )

    assert response.status_code == 200
    assert rows() == []


def test_the_queue_lists_names_without_writing_a_row_per_application(delhi_coordinator, application):
    """A decision (docs/security.md): the queue shows a name and a country to pick work by, and
    refreshes every minute; the reads of health data are the application's own pages."""
    assert api(delhi_coordinator).get("/api/v1/applications/").status_code == 200
    assert web(delhi_coordinator).get("/staff/").status_code == 200

    assert rows() == []


def test_nobody_signed_in_writes_no_row(application):
    assert APIClient().get(f"/api/v1/applications/{application.reference}/").status_code == 401

    assert rows() == []


def test_a_forged_x_forwarded_for_is_not_the_address_with_no_trusted_proxy(delhi_coordinator, application):
    client = api(delhi_coordinator)

    client.get(f"/api/v1/applications/{application.reference}/", HTTP_X_FORWARDED_FOR="192.0.2.66")

    assert AccessLogEntry.objects.get().client_address == DELHI_ADDRESS


def test_with_one_trusted_proxy_the_address_is_the_one_it_forwarded(settings, delhi_coordinator, application):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    api(delhi_coordinator).get(
        f"/api/v1/applications/{application.reference}/", HTTP_X_FORWARDED_FOR="192.0.2.66, 198.51.100.1"
    )

    assert AccessLogEntry.objects.get().client_address == "198.51.100.1"


@pytest.mark.parametrize("role", ROLES)
def test_reading_an_application_on_the_staff_pages_is_one_row_per_page_or_file_as_each_role(request, role, application):
    user = request.getfixturevalue(role)
    client = web(user)
    document = application.documents.get()

    assert client.get(f"/staff/applications/{application.reference}/").status_code == 200
    assert client.get(f"/staff/applications/{application.reference}/documents/{document.pk}/").status_code == 200

    ref = application.reference
    assert rows() == [
        (user.username, "web", "read", "detail", 200, ref),
        (user.username, "web", "read", "document", 200, ref),
    ]
    assert AccessLogEntry.objects.first().client_address == DELHI_ADDRESS


def test_another_offices_application_on_the_staff_pages_is_one_404_refusal(europe_physician, application):
    assert web(europe_physician).get(f"/staff/applications/{application.reference}/").status_code == 404

    assert rows() == [("dr_weber", "web", "denied", "detail", 404, application.reference)]
    assert AccessLogEntry.objects.get().office_id == application.office_id


def test_a_staff_page_for_someone_with_no_office_is_one_403_refusal(outsider, application):
    assert web(outsider).get(f"/staff/applications/{application.reference}/").status_code == 403

    assert rows() == [("outsider", "web", "denied", "detail", 403, application.reference)]


def test_a_step_the_role_may_not_take_on_the_staff_pages_is_one_403_refusal(delhi_coordinator, application):
    response = web(delhi_coordinator).post(
        f"/staff/applications/{application.reference}/do/approve_review/", {"approve_review-review_notes": "x"}
    )

    assert response.status_code == 403
    assert rows() == [("asha", "web", "denied", "act", 403, application.reference)]


def admin_change(application: Application) -> str:
    return reverse("admin:workflow_application_change", args=[application.pk])


@pytest.mark.parametrize("role", ROLES)
def test_opening_an_application_in_the_admin_is_one_read_as_each_role(request, role, application):
    user = request.getfixturevalue(role)

    assert web(user).get(admin_change(application)).status_code == 200

    assert rows() == [(user.username, "admin", "read", "detail", 200, application.reference)]
    assert AccessLogEntry.objects.get().client_address == DELHI_ADDRESS


def test_opening_a_row_of_an_application_in_the_admin_is_a_read_of_that_application(delhi_manager, application):
    entry = TransitionLog.objects.filter(application=application).first()

    assert web(delhi_manager).get(reverse("admin:workflow_transitionlog_change", args=[entry.pk])).status_code == 200

    assert rows() == [("meera", "admin", "read", "transitionlog", 200, application.reference)]


def test_another_offices_application_in_the_admin_is_one_404_refusal(europe_manager, application):
    response = web(europe_manager).get(admin_change(application))

    # The admin's answer to a row it cannot find: back to its index, "does not exist".
    assert response.status_code == 302
    assert rows() == [("klara", "admin", "denied", "detail", 404, application.reference)]
    assert AccessLogEntry.objects.get().office_id == application.office_id


def test_an_id_no_application_has_in_the_admin_is_one_refusal_naming_the_id(delhi_manager):
    web(delhi_manager).get(reverse("admin:workflow_application_change", args=[999999]))

    assert rows() == [("meera", "admin", "denied", "detail", 404, "application:999999")]


def test_the_workflow_page_of_another_offices_application_in_the_admin_is_one_refusal(europe_manager, application):
    url = reverse("admin:workflow_application_workflow", args=[application.pk])

    assert web(europe_manager).get(url).status_code == 404

    assert rows() == [("klara", "admin", "denied", "workflow", 404, application.reference)]


def test_nothing_personal_about_the_patient_is_kept_in_any_text_column(
    delhi_coordinator, europe_coordinator, outsider, application
):
    api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")
    web(delhi_coordinator).get(f"/staff/applications/{application.reference}/")
    web(delhi_coordinator).get(admin_change(application))
    api(europe_coordinator).get(f"/api/v1/applications/{application.reference}/messages/")
    web(outsider).get(f"/staff/applications/{application.reference}/")
    web(delhi_coordinator).get("/staff/", {"q": application.full_name})

    text_columns = [
        field.attname for field in AccessLogEntry._meta.get_fields() if isinstance(field, CharField | TextField)
    ]
    values = " ".join(str(value) for row in AccessLogEntry.objects.values_list(*text_columns) for value in row)
    assert AccessLogEntry.objects.count() == 5
    for personal in (application.full_name, application.email, application.phone, "Priya", "lupus"):
        assert personal.lower() not in values.lower()


# ---- reading the log: GET /api/v1/access-log/ and the admin ----


def log_of(caller, **query) -> Any:
    return api(caller).get("/api/v1/access-log/", query)


@pytest.fixture
def reads(delhi_coordinator, europe_coordinator, application) -> dict[str, Application]:
    """Delhi's coordinator reads a Delhi application on the API and the staff pages and asks for one
    nobody has; Europe's reads a Europe application and is refused the Delhi one."""
    europe_application = submit(country="DE")
    assert europe_application.office.code == "europe"
    api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")
    web(delhi_coordinator).get(f"/staff/applications/{application.reference}/")
    api(delhi_coordinator).get("/api/v1/applications/DEL-2026-NOPE/")
    api(europe_coordinator).get(f"/api/v1/applications/{europe_application.reference}/")
    api(europe_coordinator).get(f"/api/v1/applications/{application.reference}/")
    return {"delhi": application, "europe": europe_application}


def listed(response) -> list[tuple[str, str, str, str]]:
    assert response.status_code == 200, response.json()
    return [(row["username"], row["channel"], row["outcome"], row["application"]) for row in response.json()["results"]]


def test_a_manager_reads_the_rows_of_their_offices_applications_and_their_staffs_other_refusals(delhi_manager, reads):
    delhi = reads["delhi"].reference

    assert listed(log_of(delhi_manager)) == [
        ("jonas", "api", "denied", delhi),
        ("asha", "api", "denied", "DEL-2026-NOPE"),
        ("asha", "web", "read", delhi),
        ("asha", "api", "read", delhi),
    ]


def test_another_offices_manager_sees_none_of_them(europe_manager, reads):
    assert listed(log_of(europe_manager)) == [("jonas", "api", "read", reads["europe"].reference)]


def test_a_row_says_who_what_when_from_where_and_how(delhi_manager, delhi_coordinator, reads):
    row = log_of(delhi_manager, channel="web").json()["results"][0]

    entry = AccessLogEntry.objects.get(channel="web")
    assert row == {
        "id": entry.pk,
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "user": delhi_coordinator.pk,
        "username": "asha",
        "what": "detail",
        "application": reads["delhi"].reference,
        "office": "delhi",
        "outcome": "read",
        "status": 200,
        "client_address": DELHI_ADDRESS,
        "channel": "web",
        "path": f"/staff/applications/{reads['delhi'].reference}/",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"outcome": "denied"}, [("jonas", "api", "denied", "{delhi}"), ("asha", "api", "denied", "DEL-2026-NOPE")]),
        ({"channel": "web"}, [("asha", "web", "read", "{delhi}")]),
        ({"user": "jonas"}, [("jonas", "api", "denied", "{delhi}")]),
        (
            {"application": "{delhi}", "outcome": "read"},
            [("asha", "web", "read", "{delhi}"), ("asha", "api", "read", "{delhi}")],
        ),
    ],
)
def test_the_list_filters_by_outcome_channel_user_and_application(delhi_manager, reads, query, expected):
    delhi = reads["delhi"].reference
    query = {name: value.format(delhi=delhi) for name, value in query.items()}

    assert listed(log_of(delhi_manager, **query)) == [tuple(v.format(delhi=delhi) for v in row) for row in expected]


def test_the_user_filter_takes_a_user_id_too(delhi_manager, europe_coordinator, reads):
    assert {row[0] for row in listed(log_of(delhi_manager, user=str(europe_coordinator.pk)))} == {"jonas"}


def test_the_list_filters_by_utc_days_from_and_to_inclusive(delhi_manager, delhi_coordinator, application):
    for day in ("2026-11-30T23:59:00Z", "2026-12-01T00:00:00Z", "2026-12-02T23:59:59Z", "2026-12-03T00:00:00Z"):
        with time_machine.travel(day, tick=False):
            api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")

    response = log_of(delhi_manager, **{"from": "2026-12-01", "to": "2026-12-02"})

    assert [row["at"] for row in response.json()["results"]] == ["2026-12-02T23:59:59Z", "2026-12-01T00:00:00Z"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-12-05", "to": "2026-12-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"outcome": "seen"}, "outcome"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(delhi_manager, query, field):
    response = log_of(delhi_manager, **query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]


def test_the_list_is_paginated_like_the_other_lists(delhi_manager, delhi_coordinator, application):
    for _ in range(3):
        api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")

    body = log_of(delhi_manager, page_size=2).json()

    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert "page=2" in body["next"]


@pytest.mark.parametrize("role", ["delhi_coordinator", "delhi_physician", "outsider"])
def test_someone_who_manages_no_office_gets_a_403_which_is_itself_logged(request, role, reads):
    user = request.getfixturevalue(role)
    before = AccessLogEntry.objects.count()

    response = log_of(user)

    assert response.status_code == 403
    assert AccessLogEntry.objects.count() == before + 1
    assert rows()[-1] == (user.username, "api", "denied", "access_log", 403, "")


def test_the_list_costs_the_same_queries_for_three_rows_or_thirty(delhi_manager, delhi_coordinator, application):
    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert log_of(delhi_manager, page_size=100).status_code == 200
        return len(captured.captured_queries)

    for _ in range(3):
        api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")
    few = queries_for_a_page()
    for _ in range(27):
        api(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/")

    assert queries_for_a_page() == few


def test_the_admin_lists_a_managers_offices_rows_and_offers_no_add_change_or_delete(
    delhi_manager, europe_manager, reads
):
    client = web(delhi_manager)
    entry = AccessLogEntry.objects.filter(office=reads["delhi"].office).first()
    europe_entry = AccessLogEntry.objects.filter(office=reads["europe"].office).get()
    changelist = reverse("admin:security_accesslogentry_changelist")

    page = client.get(changelist)
    change = client.get(reverse("admin:security_accesslogentry_change", args=[entry.pk]))

    assert page.status_code == 200
    assert page.context["cl"].result_count == 4
    assert change.status_code == 200
    assert not change.context["has_change_permission"]
    assert client.get(reverse("admin:security_accesslogentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:security_accesslogentry_change", args=[entry.pk]), {"what": "x"}).status_code == 403
    )
    assert (
        client.post(reverse("admin:security_accesslogentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    # Another office's row does not exist here.
    assert client.get(reverse("admin:security_accesslogentry_change", args=[europe_entry.pk])).status_code == 302
    AccessLogEntry.objects.get(pk=entry.pk, what="detail")


def test_the_admin_shows_the_access_log_to_managers_only(delhi_coordinator):
    response = web(delhi_coordinator).get(reverse("admin:security_accesslogentry_changelist"))

    assert response.status_code == 403
