"""The notification catalogue (SPEC §6): each kind, who gets it, and whether office hours apply.

A new kind is a template folder `templates/notifications/<kind>/` (subject.txt, body.txt,
body.html) and one line here; the event's service then calls `notify_patient` or `notify_staff`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    audience: str  # "patient" or "staff"


PATIENT, STAFF = "patient", "staff"

CATALOGUE: dict[str, Kind] = {
    kind.name: kind
    for kind in [
        Kind("intake_acknowledgement", PATIENT),
        Kind("new_application", STAFF),
        Kind("review_requested", STAFF),
        Kind("outbound_message", PATIENT),
        Kind("review_approved", PATIENT),
        Kind("declined", PATIENT),
        Kind("quote_sent", PATIENT),
        Kind("quote_revised", PATIENT),
        Kind("quote_expiring", PATIENT),
        Kind("consent_form", PATIENT),
        Kind("consent_reminder", PATIENT),
        Kind("consent_signed", PATIENT),
        Kind("admission_confirmed", PATIENT),
        Kind("withdrawn", PATIENT),
        Kind("portal_link", PATIENT),
        Kind("sla_warning", STAFF),
        Kind("sla_breach", STAFF),
        Kind("discharge_summary", PATIENT),
        Kind("follow_up_due", PATIENT),
        Kind("follow_up_reminder", PATIENT),
        Kind("monitoring_due", STAFF),
        Kind("monitoring_concern", STAFF),
        Kind("follow_up_overdue", STAFF),
        Kind("follow_up_dates_changed", PATIENT),
    ]
}
