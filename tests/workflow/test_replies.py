"""SPEC §4: a reply obligation is satisfied exactly when a step writes to the patient.

For every transition and every other action on an application, with the patient waiting for us:
the obligation is satisfied if and only if that step wrote an email to the patient, in the same
transaction, and the registry `PATIENT_NOTICES` names exactly those steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from notifications.models import Notification
from tests.workflow.conftest import TINY_PDF, advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ReplyObligation
from workflow.services import ACTION_NAMES, PATIENT_NOTICES, TRANSITION_NAMES

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
# A Monday in Delhi, inside opening hours; later steps happen minutes after.
START = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
LATER = START + timedelta(hours=1)


def staff(app: Application, role: str) -> Actor:
    return office_staff(app.office)[role]


def coordinator(app: Application) -> Actor:
    return staff(app, "coordinator")


def prepared(state: str, *, accepted: bool = False, signed: bool = False) -> Application:
    app = advance(submit(now=START), state, now=START) if state != "received" else submit(now=START)
    coordinator = staff(app, "coordinator")
    if accepted:
        services.quote_accept(application=app, actor=coordinator, now=START)
        services.admission_schedule(application=app, actor=coordinator, admission_date=START.date(), now=START)
    if signed:
        services.consent_sign_portal(
            application=app, signer_name=app.full_name, ip_address="203.0.113.9", user_agent="pytest", now=START
        )
    return app


@dataclass(frozen=True)
class Step:
    state: str
    run: Callable[[Application], Any]
    accepted: bool = False
    signed: bool = False


# A month after discharge (on START): the 1-month review's window is open.
MONTH_LATER = START + timedelta(days=30)
ANSWERS_GIVEN = services.Answers(overall_change=1, fatigue=4, joint_pain=3, flares=0)


def _scan() -> SimpleUploadedFile:
    return SimpleUploadedFile("consent.pdf", TINY_PDF, content_type="application/pdf")


STEPS: dict[str, Step] = {
    # Transitions.
    "approve_review": Step(
        "received",
        lambda a: services.application_approve_review(
            application=a, actor=staff(a, "physician"), review_notes="Eligible", now=LATER
        ),
    ),
    "decline": Step(
        "received",
        lambda a: services.application_decline(application=a, actor=staff(a, "physician"), reason="No", now=LATER),
    ),
    "send_quote": Step(
        "medically_reviewed",
        lambda a: services.application_send_quote(
            application=a, actor=coordinator(a), items=[{"description": "Protocol", "amount": "10"}], now=LATER
        ),
    ),
    "revise_quote": Step(
        "quoted",
        lambda a: services.application_revise_quote(
            application=a, actor=coordinator(a), items=[{"description": "Protocol", "amount": "9"}], now=LATER
        ),
    ),
    "admit": Step(
        "quoted",
        lambda a: services.application_admit(application=a, actor=coordinator(a), now=LATER),
        accepted=True,
        signed=True,
    ),
    "discharge": Step(
        "admitted",
        lambda a: services.application_discharge(
            application=a, actor=staff(a, "physician"), discharge_date=LATER.date(), summary="Well", now=LATER
        ),
    ),
    "start_follow_up": Step(
        "discharged",
        lambda a: services.application_start_follow_up(application=a, actor=coordinator(a), now=LATER),
    ),
    "complete": Step(
        "in_follow_up",
        lambda a: services.application_complete(application=a, actor=staff(a, "manager"), now=LATER),
    ),
    "withdraw": Step(
        "received",
        lambda a: services.application_withdraw(application=a, actor=coordinator(a), reason="Asked", now=LATER),
    ),
    # Other actions.
    "reply": Step(
        "received",
        lambda a: services.message_post(application=a, actor=coordinator(a), kind="reply", body="Hi", now=LATER),
    ),
    "note": Step(
        "received",
        lambda a: services.message_post(application=a, actor=coordinator(a), kind="note", body="FYI", now=LATER),
    ),
    "record_inbound": Step(
        "received",
        lambda a: services.message_receive(
            application=a, actor=coordinator(a), body="Called", channel="phone", now=LATER
        ),
    ),
    "assign": Step(
        "received",
        lambda a: services.application_assign(
            application=a,
            actor=staff(a, "manager"),
            user_id=User.objects.get(username=f"{a.office.code}-coordinator-builder").pk,
            now=LATER,
        ),
    ),
    "transfer": Step(
        "received",
        lambda a: services.application_transfer(
            application=a, actor=staff(a, "manager"), office_code="europe", now=LATER
        ),
    ),
    "update_details": Step(
        "received",
        lambda a: services.application_update_details(
            application=a, actor=coordinator(a), changes={"phone": "+91 98100 11111"}, now=LATER
        ),
    ),
    "accept_quote": Step("quoted", lambda a: services.quote_accept(application=a, actor=coordinator(a), now=LATER)),
    "schedule_admission": Step(
        "quoted",
        lambda a: services.admission_schedule(
            application=a, actor=coordinator(a), admission_date=LATER.date() + timedelta(days=3), now=LATER
        ),
        accepted=True,
    ),
    "record_paper_consent": Step(
        "quoted",
        lambda a: services.consent_record_paper(
            application=a,
            actor=coordinator(a),
            signer_name=a.full_name,
            signed_at=START,
            scan=_scan(),
            now=LATER,
        ),
    ),
    "sign_consent": Step(
        "quoted",
        lambda a: services.consent_sign_portal(
            application=a, signer_name=a.full_name, ip_address="203.0.113.9", user_agent="pytest", now=LATER
        ),
    ),
    "change_protocol": Step(
        "quoted",
        lambda a: services.application_change_protocol(
            application=a, actor=staff(a, "physician"), protocol=[{"day": 1, "activities": ["rest"]}], now=LATER
        ),
    ),
    "complete_treatment_day": Step(
        "admitted",
        lambda a: services.treatment_day_complete(application=a, actor=coordinator(a), day=1, notes="OK", now=LATER),
    ),
    "send_portal_link": Step(
        "received", lambda a: services.portal_link_send(application=a, actor=coordinator(a), now=LATER)
    ),
    "revoke_portal_links": Step(
        "received", lambda a: services.portal_links_revoke(application=a, actor=coordinator(a), now=LATER)
    ),
    "withdraw_consent": Step(
        "quoted",
        lambda a: services.consent_withdraw(
            application=a, actor=coordinator(a), signature_id=a.signatures.get().pk, now=LATER
        ),
        signed=True,
    ),
    "record_monitoring_outcome": Step(
        "discharged",
        lambda a: services.monitoring_outcome_record(
            application=a, actor=coordinator(a), hours_after=24, outcome="concern", note="Headache", now=LATER
        ),
    ),
    "record_phone_answer": Step(
        "in_follow_up",
        lambda a: services.review_answer_submit(
            review=a.reviews.get(months=1),
            actor=coordinator(a),
            answers=ANSWERS_GIVEN,
            channel="phone",
            now=MONTH_LATER,
        ),
    ),
    "answer_questionnaire": Step(
        "in_follow_up",
        lambda a: services.review_answer_submit(
            review=a.reviews.get(months=1),
            application=a,
            actor=Actor.patient(),
            answers=ANSWERS_GIVEN,
            channel="portal",
            now=MONTH_LATER,
        ),
    ),
    "correct_discharge_date": Step(
        "discharged",
        lambda a: services.discharge_date_correct(
            application=a,
            actor=staff(a, "physician"),
            discharge_date=START.date() + timedelta(days=1),
            reason="Left a day later",
            now=START + timedelta(days=2),
        ),
    ),
}


def test_every_transition_and_action_is_covered_here() -> None:
    assert set(STEPS) == set(TRANSITION_NAMES) | set(ACTION_NAMES)


ANSWERS = set(PATIENT_NOTICES.values())


def patient_answers(app: Application) -> int:
    """Patient emails that answer: not a receipt, a reminder or a fresh portal link (the consent form answers)."""
    return Notification.objects.filter(application=app, audience="patient", kind__in=ANSWERS).count()


@pytest.mark.parametrize("name", list(STEPS))
def test_an_obligation_is_satisfied_if_and_only_if_the_step_emails_the_patient_an_answer(name: str) -> None:
    step = STEPS[name]
    app = prepared(step.state, accepted=step.accepted, signed=step.signed)
    # The patient is waiting: a question just before the step (intake already opened one in `received`).
    services.message_receive(application=app, actor=Actor.patient(), body="Any news?", now=START)
    obligation = ReplyObligation.objects.get(application=app, satisfied_at__isnull=True, closed_at__isnull=True)
    emails_before = patient_answers(app)

    step.run(app)

    obligation.refresh_from_db()
    emailed = patient_answers(app) > emails_before
    satisfied = obligation.satisfied_at is not None
    assert satisfied == emailed
    assert emailed == (name in PATIENT_NOTICES or (name == "reply" and "message_reply" in PATIENT_NOTICES))
    if satisfied:
        assert obligation.satisfied_at == LATER
        written = Notification.objects.filter(application=app, kind__in=ANSWERS).latest("id")
        assert written.history is not None and written.history.at == LATER
        assert Application.objects.get(pk=app.pk).reply_due_at is None


def test_the_registry_names_a_patient_notification_kind_for_each_step() -> None:
    from notifications.catalogue import CATALOGUE, PATIENT

    assert set(PATIENT_NOTICES) <= set(TRANSITION_NAMES) | set(ACTION_NAMES) | {"message_reply"}
    assert all(CATALOGUE[kind].audience == PATIENT for kind in PATIENT_NOTICES.values())


def test_admission_confirmation_lists_the_dated_schedule() -> None:
    app = prepared("quoted", accepted=True, signed=True)
    services.application_admit(application=app, actor=staff(app, "coordinator"), now=LATER)

    email = Notification.objects.get(application=app, kind="admission_confirmed")

    assert email.subject == f"Your admission is confirmed: {app.reference}"
    assert f"Day 1 ({START.date():%Y-%m-%d}): admission" in email.body_text
    assert f"Day 7 ({START.date() + timedelta(days=6):%Y-%m-%d}): rest, discharge" in email.body_text
