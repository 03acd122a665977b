"""The treatment itself (SPEC §5): the protocol a physician recommends and may change until admission,
and the dated schedule whose days staff mark done, each with notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, TreatmentDay
from workflow.services.common import lock, now_or, record
from workflow.services.rules import check_action

# Beyond this a protocol is a typo, not a plan (the standard one lasts 7 days).
MAX_PROTOCOL_DAYS = 30
MAX_DAY_NOTES = 5000


def validate_protocol(protocol: Any) -> list[dict[str, Any]]:
    """A protocol is a list of days numbered from 1, each with a non-empty list of activities (text).

    Shared by `approve_review` and `change_protocol`, so both accept exactly the same protocols.
    """
    entries = protocol if isinstance(protocol, list) else []
    days = [entry.get("day") for entry in entries if isinstance(entry, dict)]
    if (
        not entries
        or len(days) != len(entries)
        or days != list(range(1, len(entries) + 1))
        or not all(
            isinstance(entry.get("activities"), list)
            and entry["activities"]
            and all(isinstance(activity, str) and activity.strip() for activity in entry["activities"])
            for entry in entries
        )
    ):
        raise ValidationError(
            {"protocol": ["A protocol is a list of days numbered from 1, each with a non-empty list of activities."]}
        )
    if len(entries) > MAX_PROTOCOL_DAYS:
        raise ValidationError({"protocol": [f"A protocol lasts at most {MAX_PROTOCOL_DAYS} days."]})
    # Only the two keys the schedule reads: anything else sent along is not stored.
    return [
        {"day": entry["day"], "activities": [activity.strip() for activity in entry["activities"]]} for entry in entries
    ]


def application_change_protocol(
    *, application: Application | int, actor: Actor, protocol: list[dict[str, Any]], now: datetime | None = None
) -> Application:
    """The physician changes the recommended protocol before admission; `admit` dates the new one.

    The history row keeps the old and the new protocol. An identical protocol changes nothing.
    """
    cleaned = validate_protocol(protocol)
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "change_protocol", now=now)
        previous = app.protocol
        if previous == cleaned:
            return app
        app.protocol = cleaned
        app.save(update_fields=["protocol", "updated_at"])
        record(app, action="change_protocol", actor=actor, at=now, params={"from": previous, "to": cleaned})
    return app


def treatment_day_complete(
    *, application: Application | int, actor: Actor, day: int, notes: str = "", now: datetime | None = None
) -> TreatmentDay:
    """Mark one day of the admitted patient's schedule done, with the team's notes.

    A day is done once: marking it again is a conflict, so notes are never overwritten silently.
    A day whose date has not come yet cannot be done. No such day: DoesNotExist (a 404).
    """
    notes = (notes or "").strip()
    if len(notes) > MAX_DAY_NOTES:
        raise ValidationError({"notes": [f"At most {MAX_DAY_NOTES} characters."]})
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "complete_treatment_day", now=now)
        entry = app.treatment_days.select_for_update().filter(day=day).first()
        if entry is None:
            raise TreatmentDay.DoesNotExist(f"The schedule has no day {day}.")
        if entry.done_at is not None:
            raise Conflict(f"Day {day} was already marked done.")
        if entry.date > timezone.localdate(now, app.office.tz):
            raise Conflict(f"Day {day} is on {entry.date:%Y-%m-%d}; it can be marked done from that date.")
        entry.done_at = now
        entry.notes = notes
        entry.save(update_fields=["done_at", "notes"])
        record(
            app,
            action="complete_treatment_day",
            actor=actor,
            at=now,
            params={"day": day, "date": entry.date.isoformat(), "notes": notes},
        )
    return entry
