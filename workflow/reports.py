"""The reply-promise report (SPEC §4): per office and period, how well the promise was kept."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from offices.models import Office
from workflow.models import ReplyObligation

if TYPE_CHECKING:
    from offices.calendar import WorkingCalendar


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def sla_report(*, offices: list[Office], start: date, end: date, now: datetime) -> list[dict[str, Any]]:
    """Obligations opened from `start` to `end` (inclusive, office-local dates), per office.

    met: replied by the deadline. breached: replied late, or still unanswered past the deadline.
    pending: open and not yet due. Reply times are working hours on the office's calendar.
    """
    rows = []
    for office in offices:
        calendar = office.calendar()
        obligations = _obligations(office, start, end)
        rows.append({"office": office.code, "from": start, "to": end, **_figures(obligations, calendar, now)})
    return rows


def iso_weeks(*, office: Office, now: datetime, weeks: int) -> list[tuple[date, date]]:
    """The last `weeks` ISO weeks in the office's zone, oldest first, ending with the current one:
    (Monday, Sunday) of each."""
    today = timezone.localdate(now, office.tz)
    monday = today - timedelta(days=today.weekday())
    return [
        (monday - timedelta(weeks=back), monday - timedelta(weeks=back) + timedelta(days=6))
        for back in range(weeks - 1, -1, -1)
    ]


def sla_report_weekly(*, offices: list[Office], weeks: int, now: datetime) -> list[dict[str, Any]]:
    """`sla_report`'s figures per office and ISO week (office-local), for the last `weeks` weeks.

    Each row is exactly the row `sla_report` gives for that office from Monday to Sunday, with the
    week's ISO name (`2026-W49`); one query per office, whatever the number of weeks.
    """
    rows = []
    for office in offices:
        calendar = office.calendar()
        periods = iso_weeks(office=office, now=now, weeks=weeks)
        by_week: dict[date, list[ReplyObligation]] = defaultdict(list)
        for obligation in _obligations(office, periods[0][0], periods[-1][1]):
            local = timezone.localdate(obligation.opened_at, office.tz)
            by_week[local - timedelta(days=local.weekday())].append(obligation)
        for monday, sunday in periods:
            year, week, _ = monday.isocalendar()
            rows.append(
                {
                    "office": office.code,
                    "week": f"{year}-W{week:02d}",
                    "from": monday,
                    "to": sunday,
                    **_figures(by_week[monday], calendar, now),
                }
            )
    return rows


def _obligations(office: Office, start: date, end: date) -> QuerySet[ReplyObligation]:
    tz = office.tz
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return ReplyObligation.objects.filter(application__office=office, opened_at__gte=since, opened_at__lt=until).only(
        "opened_at", "due_at", "satisfied_at", "closed_at", "breached_at"
    )


def _figures(obligations: Iterable[ReplyObligation], calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    opened = met = breached = pending = closed = 0
    hours: list[float] = []
    for obligation in obligations:
        opened += 1
        answered = obligation.satisfied_at
        if answered is not None:
            hours.append(calendar.working_time(obligation.opened_at, answered).total_seconds() / 3600)
            if answered <= obligation.due_at:
                met += 1
            else:
                breached += 1
        elif obligation.closed_at is not None:
            # Closed by a terminal state: late if that came after the deadline.
            if obligation.breached_at is not None or obligation.closed_at > obligation.due_at:
                breached += 1
            else:
                closed += 1
        elif obligation.breached_at is not None or obligation.due_at <= now:
            breached += 1
        else:
            pending += 1
    decided = met + breached
    return {
        "opened": opened,
        "met": met,
        "breached": breached,
        "pending": pending,
        "closed_unanswered": closed,
        "percent_met": round(100 * met / decided, 1) if decided else None,
        "median_reply_hours": round(statistics.median(hours), 2) if hours else None,
        "p90_reply_hours": round(_percentile(hours, 0.9), 2) if hours else None,
    }
