"""The access log (SPEC §11, docs/security.md "Access log"): one row per staff read of an application's
personal data and per refusal, through the API, the staff pages and the admin; append-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from security.access_log import access_log_for_application, record_denial, record_read
from security.models import AccessLogEntry
from tests.workflow.conftest import submit

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
