"""Builders for applications in any state, through the real services (no raw state writes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from offices.models import Membership, Office
from tests.conftest import make_staff
from workflow import services
from workflow.actors import Actor
from workflow.models import Application

PATIENT_DEFAULTS: dict[str, Any] = {
    "full_name": "Priya Sharma",
    "email": "priya@example.org",
    "phone": "+91 98100 00000",
    "date_of_birth": date(1985, 4, 12),
    "sex": "female",
    "country": "IN",
    "preferred_language": "en",
    "condition": "Systemic lupus erythematosus",
    "diagnosis_date": date(2019, 6, 1),
    "current_medications": "Hydroxychloroquine 200 mg",
    "medical_history": "Lupus nephritis class III, 2021.",
    "treatment_request": "Seven-day protocol",
    "privacy_consent": True,
}

# The same patient as the public form sends it (JSON).
INTAKE_FORM: dict[str, Any] = {
    key: value.isoformat() if isinstance(value, date) else value for key, value in PATIENT_DEFAULTS.items()
}
# The smallest file that is a PDF by its content.
TINY_PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The order in which an application reaches each state on the main path.
PATH = ["received", "medically_reviewed", "quoted", "admitted", "discharged", "in_follow_up", "completed"]


def submit(*, now: datetime | None = None, **overrides: Any) -> Application:
    return services.application_submit(actor=Actor.patient(), now=now, **{**PATIENT_DEFAULTS, **overrides})


def office_staff(office: Office) -> dict[str, Actor]:
    """One actor per role in `office`, created on first use."""
    actors = {}
    for role in Membership.Role.values:
        username = f"{office.code}-{role}-builder"
        user = User.objects.filter(username=username).first() or make_staff(username, {office.code: role})
        actors[role] = Actor.staff(user)
    return actors


def advance(application: Application, state: str, *, now: datetime | None = None) -> Application:
    """Move an application along the main path (or to declined / withdrawn) using the services."""
    staff = office_staff(application.office)
    physician, coordinator, manager = staff["physician"], staff["coordinator"], staff["manager"]
    app = application
    if state == "declined":
        return services.application_decline(application=app, actor=physician, reason="Not eligible", now=now)
    if state == "withdrawn":
        return services.application_withdraw(application=app, actor=coordinator, reason="Patient asked", now=now)
    target = PATH.index(state)
    today = timezone.localdate(now or timezone.now(), app.office.tz)
    while PATH.index(app.state) < target:
        if app.state == "received":
            app = services.application_approve_review(
                application=app, actor=physician, review_notes="Eligible", now=now
            )
        elif app.state == "medically_reviewed":
            app = services.application_send_quote(
                application=app, actor=coordinator, items=[{"description": "Protocol", "amount": "4500.00"}], now=now
            )
        elif app.state == "quoted":
            services.quote_accept(application=app, actor=coordinator, now=now)
            services.admission_schedule(application=app, actor=coordinator, admission_date=today, now=now)
            services.consent_sign_portal(
                application=app, signer_name=app.full_name, ip_address="203.0.113.9", user_agent="pytest", now=now
            )
            app = services.application_admit(application=app, actor=coordinator, now=now)
        elif app.state == "admitted":
            app = services.application_discharge(
                application=app, actor=physician, discharge_date=today, summary="Tolerated well", now=now
            )
        elif app.state == "discharged":
            app = services.application_start_follow_up(application=app, actor=coordinator, now=now)
        elif app.state == "in_follow_up":
            app = services.application_complete(application=app, actor=manager, now=now)
    return app


@pytest.fixture
def application(db: None) -> Application:
    """A fresh Delhi application, received now."""
    return submit()
