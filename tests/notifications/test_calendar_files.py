"""The admission confirmation's calendar file (SPEC §5): the 7 dated treatment days as all-day events at
the office, in the patient's language, with UIDs fixed per application and day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.core import mail
from icalendar import Calendar

from notifications import delivery
from notifications.calendar_files import treatment_schedule
from notifications.models import Notification
from offices.models import Office
from tests.workflow.conftest import advance, submit
from workflow.models import Application

pytestmark = pytest.mark.django_db

# Tue 24 Nov 2026, 11:00 in Delhi and 06:30 in Berlin: the admission day in both offices.
NOW = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
ADMISSION = date(2026, 11, 24)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def admitted(**patient: Any) -> Application:
    return advance(submit(**patient), "admitted")


def calendar_of(notification: Notification) -> Calendar:
    (attachment,) = notification.attachments.all()
    assert notification.application is not None
    assert attachment.content_type == "text/calendar"
    assert attachment.filename == f"treatment-{notification.application.reference}.ics"
    return Calendar.from_ical(bytes(attachment.content))


def test_the_admission_confirmation_carries_the_seven_days_as_all_day_events_at_the_office() -> None:
    Office.objects.filter(code="delhi").update(address="12 Ring Road\nLajpat Nagar\nNew Delhi 110024")
    application = admitted()

    calendar = calendar_of(Notification.objects.get(application=application, kind="admission_confirmed"))

    events = calendar.walk("VEVENT")
    assert len(events) == 7
    assert [event.decoded("dtstart") for event in events] == [ADMISSION + timedelta(days=n) for n in range(7)]
    assert all(event.decoded("dtend") == event.decoded("dtstart") + timedelta(days=1) for event in events)
    # Dates, not instants: all-day events, the same date in every time zone.
    assert all(type(event.decoded("dtstart")) is date for event in events)
    assert {str(event["location"]) for event in events} == {
        "Delhi office of the clinic, 12 Ring Road, Lajpat Nagar, New Delhi 110024"
    }
    assert str(events[0]["summary"]).startswith("Treatment day 1: admission")
    assert str(events[6]["summary"]) == "Treatment day 7: rest, discharge"
    assert str(events[2]["description"]) == f"Application {application.reference}, day 3 of 7."
    assert str(calendar["method"]) == "PUBLISH"


def test_without_an_address_on_file_the_location_is_the_office() -> None:
    application = admitted()

    calendar = calendar_of(Notification.objects.get(application=application, kind="admission_confirmed"))

    assert {str(event["location"]) for event in calendar.walk("VEVENT")} == {"Delhi office of the clinic"}


def test_each_day_keeps_its_uid_when_the_file_is_made_again_and_no_two_applications_share_one() -> None:
    first, second = admitted(), admitted(email="other@example.org")

    def uids(application: Application) -> list[str]:
        _, _, content = treatment_schedule(application, now=NOW)
        return [str(event["uid"]) for event in Calendar.from_ical(content).walk("VEVENT")]

    sent = calendar_of(Notification.objects.get(application=first, kind="admission_confirmed"))

    assert [str(event["uid"]) for event in sent.walk("VEVENT")] == uids(first)
    assert len(set(uids(first))) == 7
    assert uids(first)[0] == f"treatment-{first.pk}-day-1@127.0.0.1"
    assert set(uids(first)).isdisjoint(uids(second))


def test_a_german_patient_gets_the_calendar_in_german() -> None:
    application = admitted(
        full_name="Jürgen Groß", country="DE", office="europe", preferred_language="de", email="jg@example.de"
    )

    calendar = calendar_of(Notification.objects.get(application=application, kind="admission_confirmed"))

    events = calendar.walk("VEVENT")
    assert str(events[0]["summary"]).startswith("Behandlungstag 1: ")
    assert str(events[0]["location"]) == "Büro Europe der Klinik"
    assert str(events[0]["description"]) == f"Antrag {application.reference}, Tag 1 von 7."


def test_the_delivered_confirmation_has_the_schedule_in_its_body_and_the_ics_attached() -> None:
    application = admitted()
    email = Notification.objects.get(application=application, kind="admission_confirmed")

    assert delivery.deliver(email.pk)[0] == delivery.SENT

    (sent,) = [m for m in mail.outbox if m.extra_headers["Message-ID"] == email.message_id]
    message = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "Day 7 (2026-11-30): rest, discharge" in body.get_content()
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == f"treatment-{application.reference}.ics"
    assert part.get_content_type() == "text/calendar"
    content = part.get_payload(decode=True)
    assert isinstance(content, bytes)
    calendar = Calendar.from_ical(content)
    assert [event.decoded("dtstart") for event in calendar.walk("VEVENT")] == [
        ADMISSION + timedelta(days=n) for n in range(7)
    ]
