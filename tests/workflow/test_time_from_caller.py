"""STYLE §4: time comes from the caller. A job or the demo acting "as of" an instant gets that instant's answers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications import delivery
from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import ConditionsNotMet

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
TODAY = datetime(2026, 11, 23, 10, 0, tzinfo=IST)  # the wall clock in these tests


@time_machine.travel(TODAY, tick=False)
def test_admit_reads_the_admission_date_against_the_services_now_not_the_wall_clock() -> None:
    app = advance(submit(), "quoted")
    coordinator = office_staff(app.office)["coordinator"]
    services.quote_accept(application=app, actor=coordinator)
    services.admission_schedule(application=app, actor=coordinator, admission_date=date(2026, 11, 25))
    services.consent_sign_portal(application=app, signer_name=app.full_name, ip_address=None, user_agent="pytest")
    app.refresh_from_db()
    on_the_day = datetime(2026, 11, 25, 9, 0, tzinfo=IST)

    # As of today the date is in the future: not offered, and refused.
    assert "admit" not in services.available_transitions(app, coordinator)
    with pytest.raises(ConditionsNotMet):
        services.application_admit(application=app, actor=coordinator)
    # As of the admission day (a job, or the demo, acting then), the same call goes through.
    assert "admit" in services.available_transitions(app, coordinator, now=on_the_day)
    admitted = services.application_admit(application=app, actor=coordinator, now=on_the_day)

    assert (admitted.state, admitted.admitted_at) == ("admitted", on_the_day)


def test_intake_dates_are_checked_against_the_offices_own_date() -> None:
    # 20:00 UTC on 23 November is already 01:30 on 24 November in Delhi.
    now = datetime(2026, 11, 23, 20, 0, tzinfo=ZoneInfo("UTC"))

    app = submit(now=now, diagnosis_date=date(2026, 11, 24))

    assert app.diagnosis_date == date(2026, 11, 24)
    with pytest.raises(Exception, match="diagnosis date cannot be in the future"):
        submit(now=now, diagnosis_date=date(2026, 11, 25))


@time_machine.travel(TODAY, tick=False)
def test_a_delivery_run_as_of_an_instant_records_that_instant_as_sent_at() -> None:
    submit()
    row = Notification.objects.get(kind="intake_acknowledgement")
    later = TODAY + timedelta(hours=2)

    assert delivery.deliver(row.pk, now=later) == (delivery.SENT, None)

    row.refresh_from_db()
    assert (row.status, row.sent_at, row.claimed_at) == ("sent", later, later)


@time_machine.travel(TODAY, tick=False)
def test_a_message_received_as_of_an_instant_opens_its_obligation_from_that_instant() -> None:
    app = submit()
    services.message_post(
        application=app, actor=office_staff(app.office)["coordinator"], kind="reply", body="Hello", now=TODAY
    )
    asked = datetime(2026, 11, 27, 12, 0, tzinfo=IST)

    services.message_receive(application=app, actor=Actor.patient(), body="A question", now=asked)

    assert app.obligations.get(satisfied_at__isnull=True).opened_at == asked
