"""Changes of an office's working calendar (SPEC §2), whoever makes them: the admin, the shell, an API.

Each change saves, recomputes the deadlines of the open reply obligations that run on that
calendar, and logs a `CalendarChange`, in one transaction. The office row is locked first, so
changes of one office queue up, and so does the opening of an obligation against it (see
`obligations.open_obligation`): no deadline is computed from a calendar that is being replaced.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

from offices.models import CalendarChange, CalendarOverride, Office
from workflow.services.common import now_or
from workflow.services.obligations import recompute_open_obligations

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Office fields whose change moves working time, and so the open reply deadlines.
CALENDAR_FIELDS = frozenset(
    {
        "timezone",
        "working_weekdays",
        "opens_at",
        "closes_at",
        "holiday_country",
        "holiday_subdivision",
        "reply_sla_days",
    }
)


def _lock(office: Office | int) -> Office:
    # NO KEY UPDATE, not UPDATE: a concurrent transition's foreign-key checks take KEY SHARE on the
    # office row at commit (Django's constraints are deferred), and a full UPDATE lock would make
    # that commit wait for us while we wait for its application row: a deadlock.
    pk = office.pk if isinstance(office, Office) else office
    return Office.objects.select_for_update(no_key=True).get(pk=pk)


def _recompute_and_log(office: Office, *, description: str, user: User | None, now: datetime) -> CalendarChange:
    moved = recompute_open_obligations(office, now=now)
    return CalendarChange.objects.create(
        office=office, changed_by=user, description=description[:300], obligations_recomputed=moved, at=now
    )


def office_update(
    *, office: Office | int, values: dict[str, Any], user: User | None, now: datetime | None = None
) -> CalendarChange | None:
    """Change an office's settings. When its calendar changed, returns the logged change."""
    now = now_or(now)
    with transaction.atomic():
        locked = _lock(office)
        before = {name: getattr(locked, name) for name in values}
        for name, value in values.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
        changed = sorted(name for name in CALENDAR_FIELDS & set(values) if before[name] != values[name])
        if not changed:
            return None
        return _recompute_and_log(locked, description=f"changed {', '.join(changed)}", user=user, now=now)


def calendar_override_set(
    *,
    office: Office | int,
    day: date,
    kind: str,
    note: str = "",
    user: User | None,
    now: datetime | None = None,
) -> CalendarOverride:
    """Mark one date closed or open (adding the override, or changing the one of that date)."""
    now = now_or(now)
    with transaction.atomic():
        locked = _lock(office)
        override = CalendarOverride.objects.filter(office=locked, date=day).first() or CalendarOverride(
            office=locked, date=day
        )
        previous = (override.kind, override.note) if override.pk else None
        override.kind, override.note = kind, note
        override.full_clean()
        override.save()
        if previous is None or previous[0] != kind:
            _recompute_and_log(locked, description=f"override {day:%Y-%m-%d} {kind}", user=user, now=now)
    return override


def calendar_override_remove(
    *, override: CalendarOverride | int, user: User | None, now: datetime | None = None
) -> None:
    now = now_or(now)
    pk = override.pk if isinstance(override, CalendarOverride) else override
    with transaction.atomic():
        office_id = CalendarOverride.objects.values_list("office_id", flat=True).get(pk=pk)
        locked = _lock(office_id)
        removed = CalendarOverride.objects.select_for_update().filter(pk=pk).first()
        if removed is None:
            return
        removed.delete()
        _recompute_and_log(
            locked, description=f"removed override {removed.date:%Y-%m-%d} {removed.kind}", user=user, now=now
        )
