"""The reply promise's deadlines (SPEC §2, §4): the one function every caller computes them with.

The public reply-due endpoint, the reply obligations and their recompute after a calendar change
all call `reply_deadlines`, so that what a patient is told and what the sweep enforces agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offices.calendar import WorkingCalendar
    from offices.models import Office

# Share of the working-time budget after which a reply is "due soon" and the assignee is warned.
WARN_FRACTION = 0.75


@dataclass(frozen=True)
class ReplyDeadlines:
    warn_at: datetime
    due_at: datetime


def reply_budget(office: Office, calendar: WorkingCalendar | None = None) -> timedelta:
    """The office's reply SLA as working time: N working days of its daily opening hours."""
    calendar = calendar or office.calendar()
    return calendar.daily_hours * office.reply_sla_days


def reply_deadlines(office: Office, received_at: datetime, calendar: WorkingCalendar | None = None) -> ReplyDeadlines:
    """When a request received at `received_at` is due soon, and when its reply is due.

    Pass `calendar` when computing many deadlines of one office, so its overrides are read once.
    """
    calendar = calendar or office.calendar()
    budget = reply_budget(office, calendar)
    return ReplyDeadlines(
        warn_at=calendar.add_working_time(received_at, budget * WARN_FRACTION),
        due_at=calendar.add_working_time(received_at, budget),
    )
