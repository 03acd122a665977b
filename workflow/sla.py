"""The reply promise as people see it: status, deadline and working time left (SPEC §4)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Q

if TYPE_CHECKING:
    from offices.calendar import WorkingCalendar
    from offices.models import Office

BREACHED, DUE_SOON, ON_TRACK = "breached", "due_soon", "on_track"
STATUSES = (BREACHED, DUE_SOON, ON_TRACK)


def status(*, due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str | None:
    if due_at is None:
        return None
    if now >= due_at:
        return BREACHED
    if warn_at is not None and now >= warn_at:
        return DUE_SOON
    return ON_TRACK


def status_filter(value: str, now: datetime) -> Q:
    """The queue's `sla` filter on the application's denormalised deadlines."""
    if value == BREACHED:
        return Q(reply_due_at__lte=now)
    if value == DUE_SOON:
        return Q(reply_warn_at__lte=now, reply_due_at__gt=now)
    if value == ON_TRACK:
        # The deadline bound follows from the warning one (the warning comes first) and lets the
        # queue's index on (office, reply_due_at, id, reply_warn_at) start its range at now.
        return Q(reply_warn_at__gt=now, reply_due_at__gt=now)
    raise ValueError(value)


def summary(
    *, office: Office, calendar: WorkingCalendar, due_at: datetime | None, warn_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """`sla` as the API serves it: status, due_at and working seconds left (negative once breached)."""
    state = status(due_at=due_at, warn_at=warn_at, now=now)
    if due_at is None:
        return {"status": None, "due_at": None, "working_time_left": None}
    if now < due_at:
        left = calendar.working_time(now, due_at).total_seconds()
    else:
        left = -calendar.working_time(due_at, now).total_seconds()
    return {"status": state, "due_at": due_at, "working_time_left": int(left)}
