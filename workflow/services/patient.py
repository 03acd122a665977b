"""The rules of a patient's details (SPEC §3), shared by intake and by staff corrections."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from workflow.models import Application
from workflow.routing import is_country

# The details a patient gives and staff may correct, in the form's order.
PATIENT_FIELDS = (
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "sex",
    "country",
    "preferred_language",
    "condition",
    "diagnosis_date",
    "current_medications",
    "medical_history",
    "treatment_request",
)
EARLIEST_DATE = date(1900, 1, 1)
# Bidirectional overrides and isolates: they make a name display as something else than it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
NAME_FIELDS = ("full_name",)


def has_bidi_controls(text: str) -> bool:
    return any(char in BIDI_CONTROLS for char in text)


def name_errors(value: str) -> list[str]:
    """What is wrong with a person's name as typed (a patient's, a signer's)."""
    if not value.strip():
        return ["This field is required."]
    if has_bidi_controls(value):
        return ["Remove the text-direction control characters from the name."]
    return []


def patient_details_errors(values: Mapping[str, Any], *, today: date) -> dict[str, list[str]]:
    """Field messages for a complete set of patient details; `today` is the handling office's local date."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field in NAME_FIELDS:
        for message in name_errors(str(values.get(field) or "")):
            add(field, message)
    try:
        validate_email(values.get("email") or "")
    except ValidationError:
        add("email", "Enter a valid email address.")
    if not str(values.get("condition") or "").strip():
        add("condition", "This field is required.")
    if values.get("sex") not in Application.Sex.values:
        add("sex", f"Choose one of {', '.join(Application.Sex.values)}.")
    if not is_country(str(values.get("country") or "")):
        add("country", f"{values.get('country')!r} is not an ISO 3166-1 alpha-2 country code.")
    if values.get("preferred_language") not in dict(settings.LANGUAGES):
        add("preferred_language", f"Choose one of {', '.join(dict(settings.LANGUAGES))}.")
    born = values.get("date_of_birth")
    if not isinstance(born, date):
        add("date_of_birth", "Enter a valid date.")
    elif born < EARLIEST_DATE:
        add("date_of_birth", "The date of birth cannot be before 1900.")
    elif born >= today:
        add("date_of_birth", "The date of birth must be in the past.")
    diagnosed = values.get("diagnosis_date")
    if diagnosed is not None:
        if not isinstance(diagnosed, date):
            add("diagnosis_date", "Enter a valid date.")
        elif diagnosed > today:
            add("diagnosis_date", "The diagnosis date cannot be in the future.")
        elif isinstance(born, date) and diagnosed < born:
            add("diagnosis_date", "The diagnosis date cannot be before the date of birth.")
    return errors
