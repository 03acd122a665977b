"""Staff emails carry the reference, the office, what is due and a link: never health data, and no more
identity than that (issue 12, docs/security.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notifications import events
from notifications.catalogue import CATALOGUE, STAFF
from notifications.models import Notification
from notifications.services import _base_context, _render
from offices.models import Office
from tests.workflow.conftest import office_staff, submit

STAFF_KINDS = sorted(name for name, kind in CATALOGUE.items() if kind.audience == STAFF)

PATIENT: dict[str, Any] = {
    "full_name": "Zaphira Quellmann",
    "condition": "Systemic lupus erythematosus",
    "current_medications": "Hydroxychloroquine 200 mg",
    "medical_history": "Lupus nephritis class III since 2019",
    "country": "IN",
}


def assert_nothing_personal(text: str) -> None:
    for secret in ("Zaphira", "Quellmann", "lupus", "Hydroxychloroquine", "nephritis", "India"):
        assert secret.lower() not in text.lower(), secret
    # The country code on its own, as a word ("IN" inside "INR" or "INFO" is not one).
    assert not re.search(r"\bIN\b", text)


@pytest.fixture
def application(db: None) -> Any:
    office_staff(Office.objects.get(code="delhi"))  # someone to tell
    return submit(office="delhi", **PATIENT)


@pytest.mark.parametrize("kind", STAFF_KINDS)
def test_no_staff_email_names_the_patient_their_country_or_their_health(kind: str, application: Any) -> None:
    due = events.local_time(application, timezone.now() + timedelta(days=2), "en")
    # Every key the events and sweeps pass to a staff email, holding the patient's application.
    context = {
        **_base_context(application),
        "reply_by": due,
        "due_local": due,
        "obligation": application.obligations.first(),
        "assignee": "delhi-coordinator",
    }
    for language in ("en", "de"):
        subject, text, html = _render(kind, language, context)

        assert application.reference in subject + text
        assert application.office.name in text
        for part in (subject, text, html):
            assert_nothing_personal(part)


def test_the_emails_intake_writes_to_staff_are_minimal(application: Any) -> None:
    written = Notification.objects.filter(application=application, audience=STAFF)

    assert {n.kind for n in written} == {"new_application", "review_requested"}
    for notification in written:
        assert_nothing_personal(notification.subject + notification.body_text + notification.body_html)
