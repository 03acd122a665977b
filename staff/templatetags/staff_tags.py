"""How the staff pages write times, working time and SLA states (SPEC §2, §8).

Times are the office's local ones with the zone named, e.g. "Thu 26 Nov 2026, 10:00 IST"; the badge
says its state in words as well as colour, so it reads without colour.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from offices.models import Office
from workflow import sla as sla_rules

register = template.Library()

SLA_LABELS = {
    sla_rules.BREACHED: "Overdue",
    sla_rules.DUE_SOON: "Due soon",
    sla_rules.ON_TRACK: "On track",
}


@register.filter
def office_time(moment: datetime | None, office: Office) -> str:
    """Thu 26 Nov 2026, 10:00 IST: the office's clock with its zone's abbreviation."""
    if moment is None:
        return ""
    local = moment.astimezone(office.tz)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


@register.filter
def office_date(value: Any) -> str:
    return f"{value:%a %d %b %Y}" if value else ""


@register.filter
def working_time(seconds: int | None) -> str:
    """5 h 30 min of working time; the sign is the badge's business."""
    if seconds is None:
        return ""
    minutes = abs(int(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)d h") % {"hours": hours}
    return ngettext("%(minutes)d min", "%(minutes)d min", minutes) % {"minutes": minutes}


@register.inclusion_tag("staff/_sla_badge.html")
def sla_badge(summary: dict[str, Any] | None, office: Office) -> dict[str, Any]:
    """The application's reply promise: state in words, local due time, working time left or over."""
    summary = summary or {}
    status = summary.get("status")
    return {
        "status": status,
        "label": _(SLA_LABELS[status]) if status else _("No reply owed"),
        "due_at": summary.get("due_at"),
        "left": summary.get("working_time_left"),
        "office": office,
    }
