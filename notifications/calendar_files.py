"""Calendar files attached to patient emails (SPEC §5): dated days as all-day events.

Each event's UID is fixed by the application and the day, so a calendar that imports a second
copy (a resend, a corrected schedule) updates the days it has instead of adding new ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from notifications.models import site_domain
from notifications.services import Attachment

if TYPE_CHECKING:
    from offices.models import Office
    from workflow.models import Application

CONTENT_TYPE = "text/calendar"
PRODID = "-//Clinic workflow//Treatment schedule//EN"


def place(office: Office) -> str:
    """Where the treatment happens: the office's name and, when it is on file, its address."""
    lines = [_("%(office)s office of the clinic") % {"office": office.name}]
    lines += [line.strip() for line in office.address.splitlines() if line.strip()]
    return ", ".join(lines)


def treatment_schedule(application: Application, *, now: datetime) -> Attachment:
    """The admitted patient's 7 treatment days, in the patient's language, as an .ics attachment."""
    days = list(application.treatment_days.order_by("day"))
    office = application.office
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    with translation.override(application.preferred_language):
        calendar.add("x-wr-calname", _("Treatment %(reference)s") % {"reference": application.reference})
        location = place(office)
        for day in days:
            activities = ", ".join(day.activities)
            event = Event()
            event.add("uid", f"treatment-{application.pk}-day-{day.day}@{site_domain()}")
            event.add("dtstamp", now)
            # Dates, not times: all-day events that stay on their date in any time zone.
            event.add("dtstart", day.date)
            event.add("dtend", day.date + timedelta(days=1))
            event.add(
                "summary",
                _("Treatment day %(number)s: %(activities)s")
                % {
                    "number": day.day,
                    "activities": activities,
                },
            )
            event.add("location", location)
            event.add(
                "description",
                _("Application %(reference)s, day %(number)s of %(total)s.")
                % {
                    "reference": application.reference,
                    "number": day.day,
                    "total": len(days),
                },
            )
            calendar.add_component(event)
    return (f"treatment-{application.reference}.ics", CONTENT_TYPE, calendar.to_ical())


def follow_up_reviews(application: Application, *, now: datetime) -> Attachment:
    """The five follow-up review dates of the discharge summary (SPEC §5), all-day events.

    One fixed UID per review, so that a calendar importing a later copy moves the reviews it has
    instead of adding new ones.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic workflow//Follow-up reviews//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    with translation.override(application.preferred_language):
        calendar.add("x-wr-calname", _("Follow-up %(reference)s") % {"reference": application.reference})
        for review in application.reviews.order_by("months"):
            event = Event()
            event.add("uid", f"follow-up-{application.pk}-{review.months}m@{site_domain()}")
            event.add("dtstamp", now)
            event.add("dtstart", review.due_date)
            event.add("dtend", review.due_date + timedelta(days=1))
            event.add("summary", _("%(months)s-month follow-up review") % {"months": review.months})
            event.add(
                "description",
                _(
                    "Application %(reference)s. We will email you the questionnaire link on this day; "
                    "you can answer from %(opens)s to %(closes)s."
                )
                % {
                    "reference": application.reference,
                    "opens": review.window_opens.isoformat(),
                    "closes": review.window_closes.isoformat(),
                },
            )
            calendar.add_component(event)
    return (f"follow-up-{application.reference}.ics", CONTENT_TYPE, calendar.to_ical())
