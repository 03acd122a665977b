"""The aftercare plan (SPEC §5): what discharge creates, and the dates it computes.

Kept apart from `workflow.services.aftercare` (which runs transitions) so that the discharge
transition can plan without an import cycle.

Decisions:
- The monitoring checks and the automatic `start_follow_up` count from the instant the discharge is
  recorded, not from the discharge date: the date has no time of day, and a check recorded a day late
  would otherwise be "due" in the past and alert at once.
- The reviews count calendar months from the discharge date in the office's calendar; a day the
  target month lacks is clamped to its last day (31 Jan + 1 month = 28/29 Feb).
- Each swept instant is `REVIEW_LOCAL_TIME` on its local date in the office's zone, stored in UTC; the
  window closes at the end of its last day (midnight local).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from offices.models import Office
from workflow.models import Application, FollowUpReview, MonitoringCheck
from workflow.models.aftercare import MONITORING_HOURS, REVIEW_MONTHS

# SPEC §3: `start_follow_up` runs by itself 48 h after discharge.
FOLLOW_UP_START_DELAY = timedelta(hours=48)
# SPEC §5: the window runs from 7 days before to 30 days after the due date.
WINDOW_BEFORE = timedelta(days=7)
WINDOW_AFTER = timedelta(days=30)
REMIND_AFTER = timedelta(days=7)
OVERDUE_AFTER = timedelta(days=14)
# A civil hour of the office's day for the patient emails (a midnight UTC email reaches Delhi at 05:30).
REVIEW_LOCAL_TIME = time(9, 0)


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamped to the target month's last day (31 Jan + 1 = 28/29 Feb).

    What dateutil's relativedelta does; written out because dateutil is only a transitive dependency
    of ours and ships no types.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ReviewDates:
    due_date: date
    window_opens: date
    window_closes: date
    invite_at: datetime
    remind_at: datetime
    overdue_at: datetime
    closes_at: datetime


def _at(office: Office, day: date, moment: time = REVIEW_LOCAL_TIME) -> datetime:
    # An aware local instant; Django stores it in UTC. zoneinfo resolves DST gaps and folds itself.
    return datetime.combine(day, moment, tzinfo=office.tz)


def review_dates(office: Office, discharge_date: date, months: int) -> ReviewDates:
    due = add_months(discharge_date, months)
    closes = due + WINDOW_AFTER
    return ReviewDates(
        due_date=due,
        window_opens=due - WINDOW_BEFORE,
        window_closes=closes,
        invite_at=_at(office, due),
        remind_at=_at(office, due + REMIND_AFTER),
        overdue_at=_at(office, due + OVERDUE_AFTER),
        closes_at=_at(office, closes + timedelta(days=1), time(0, 0)),
    )


def plan_aftercare(application: Application, *, now: datetime) -> None:
    """The checks, the reviews and the automatic start of a just-discharged application (locked).

    Called by the discharge before it saves the application, which carries `follow_up_due_at`.
    """
    assert application.discharge_date is not None  # noqa: S101 - discharge sets it first
    MonitoringCheck.objects.bulk_create(
        MonitoringCheck(application=application, hours_after=hours, due_at=now + timedelta(hours=hours))
        for hours in MONITORING_HOURS
    )
    FollowUpReview.objects.bulk_create(
        FollowUpReview(
            application=application,
            months=months,
            **review_dates(application.office, application.discharge_date, months).__dict__,
        )
        for months in REVIEW_MONTHS
    )
    application.follow_up_due_at = now + FOLLOW_UP_START_DELAY
