"""The reply-promise report (SPEC §4): per office and period, how well the promise was kept."""

from __future__ import annotations

import math
import statistics
from datetime import date, datetime, time, timedelta
from typing import Any

from offices.models import Office
from workflow.models import ReplyObligation


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
        tz = office.tz
        since = datetime.combine(start, time.min, tzinfo=tz)
        until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
        obligations = ReplyObligation.objects.filter(
            application__office=office, opened_at__gte=since, opened_at__lt=until
        ).only("opened_at", "due_at", "satisfied_at", "closed_at", "breached_at")
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
        rows.append(
            {
                "office": office.code,
                "from": start,
                "to": end,
                "opened": opened,
                "met": met,
                "breached": breached,
                "pending": pending,
                "closed_unanswered": closed,
                "percent_met": round(100 * met / decided, 1) if decided else None,
                "median_reply_hours": round(statistics.median(hours), 2) if hours else None,
                "p90_reply_hours": round(_percentile(hours, 0.9), 2) if hours else None,
            }
        )
    return rows
