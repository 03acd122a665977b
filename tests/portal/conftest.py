"""What the portal tests share: a browser-less patient who opened their link, and the application form's data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.workflow.conftest import PATIENT_DEFAULTS
from workflow.models import Application
from workflow.services.portal import portal_link_issue

# The patient of tests/workflow/conftest.py as the public form posts it: dates in day/month/year boxes.
FORM: dict[str, Any] = {
    "full_name": PATIENT_DEFAULTS["full_name"],
    "email": PATIENT_DEFAULTS["email"],
    "phone": PATIENT_DEFAULTS["phone"],
    "date_of_birth_day": "12",
    "date_of_birth_month": "4",
    "date_of_birth_year": "1985",
    "sex": "female",
    "country": "IN",
    "preferred_language": "en",
    "condition": PATIENT_DEFAULTS["condition"],
    "diagnosis_date_day": "1",
    "diagnosis_date_month": "6",
    "diagnosis_date_year": "2019",
    "current_medications": PATIENT_DEFAULTS["current_medications"],
    "medical_history": PATIENT_DEFAULTS["medical_history"],
    "treatment_request": PATIENT_DEFAULTS["treatment_request"],
    "office": "",
    "privacy_consent": "on",
}
assert date(1985, 4, 12) == PATIENT_DEFAULTS["date_of_birth"]

PORTAL_PAGES = ("/portal/", "/portal/messages/", "/portal/quote/", "/portal/consent/", "/portal/withdraw/")
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Throttle and rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


def open_portal(client: Client, application: Application, landing: str | None = None) -> Any:
    """Open a fresh private link to the application, as a patient clicks it in an email."""
    token = portal_link_issue(application=application, now=timezone.now())
    query = f"?next={landing}" if landing else ""
    return client.get(f"/portal/open/{token}/{query}")


def patient_client(application: Application) -> Client:
    client = Client()
    response = open_portal(client, application)
    assert response.status_code == 302, response
    return client


def without_csrf(content: bytes) -> bytes:
    """A page's HTML without its per-response CSRF token, to compare two answers."""
    return CSRF_INPUT.sub(b'name="csrfmiddlewaretoken" value=""', content)
