"""Who acts: a staff member's actor carries a role and the office itself for each membership, read once."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offices.models import CalendarOverride, Office
from tests.conftest import make_staff
from workflow import selectors
from workflow.actors import Actor

pytestmark = pytest.mark.django_db


def test_a_member_of_both_offices_has_a_role_and_the_office_for_each_by_code(delhi, europe):
    user = make_staff("nadia", {"europe": "physician", "delhi": "manager"})
    # A change the actor must read from the database, not from an instance anyone holds.
    Office.objects.filter(pk=europe.pk).update(working_weekdays=[0, 1, 2], opens_at=time(8, 30))

    with CaptureQueriesContext(connection) as captured:
        actor = Actor.staff(user)

    assert len(captured.captured_queries) == 1
    assert actor.roles == {delhi.pk: "manager", europe.pk: "physician"}
    assert [office.code for office in actor.offices.values()] == ["delhi", "europe"]
    assert actor.office_ids == [delhi.pk, europe.pk]
    europe_office = actor.offices[europe.pk]
    # Whole offices with their fields converted as the ORM converts them: a list, a time, a zone.
    assert europe_office.working_weekdays == [0, 1, 2]
    assert europe_office.opens_at == time(8, 30)
    assert europe_office.tz.key == "Europe/Berlin"


def test_someone_outside_every_office_has_no_role_and_no_office(outsider):
    actor = Actor.staff(outsider)

    assert actor.roles == {}
    assert actor.offices == {}
    assert not actor.is_staff_member


def test_a_disabled_account_has_no_role_even_with_memberships(delhi_coordinator: User):
    delhi_coordinator.is_active = False
    delhi_coordinator.save()

    actor = Actor.staff(delhi_coordinator)

    assert actor.roles == {}
    assert actor.offices == {}


def test_the_calendars_of_offices_read_each_offices_own_overrides_in_one_query(delhi, europe):
    # Tue 24 Nov 2026 is a Delhi public holiday: an "open" override makes it a working day in Delhi only.
    CalendarOverride.objects.create(office=delhi, date=date(2026, 11, 24), kind="open")
    CalendarOverride.objects.create(office=europe, date=date(2026, 11, 25), kind="closed")

    with CaptureQueriesContext(connection) as captured:
        calendars = selectors.calendars_of({delhi.pk: delhi, europe.pk: europe})

    assert len(captured.captured_queries) == 1
    assert calendars[delhi.pk].is_working_date(date(2026, 11, 24))
    assert calendars[delhi.pk].is_working_date(date(2026, 11, 25))
    assert not calendars[europe.pk].is_working_date(date(2026, 11, 25))
    assert calendars[europe.pk].is_working_date(date(2026, 11, 24))
    assert selectors.calendars_of({}) == {}
