"""SPEC §5: scheduling the admission emails the consent form, in the patient's language, with its link."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ConsentDocument, ReplyObligation, TransitionLog

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday in Berlin, inside opening hours.
START = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
LATER = START + timedelta(hours=1)
ADMISSION = date(2026, 12, 10)
LINK = re.compile(r"/portal/open/([A-Za-z0-9_-]+)/\?next=consent")


def accepted(**patient: str) -> Application:
    """A Europe application whose patient accepted the quote: the admission can be scheduled."""
    app = advance(submit(now=START, office="europe", country="DE", **patient), "quoted", now=START)
    services.quote_accept(application=app, actor=office_staff(app.office)["coordinator"], now=START)
    return app


def schedule(app: Application, day: date, now: datetime = LATER) -> Application:
    return services.admission_schedule(
        application=app, actor=office_staff(app.office)["coordinator"], admission_date=day, now=now
    )


def test_a_german_patient_gets_the_current_german_consent_form_with_the_date_and_a_link_to_sign_it() -> None:
    app = accepted(preferred_language="de", full_name="Hans Müller", email="hans@example.de")
    document = ConsentDocument.objects.get(version=1, language="de")

    schedule(app, ADMISSION)

    email = Notification.objects.get(application=app, kind="consent_form")
    assert email.subject == f"Ihre Einwilligungserklärung vor der Aufnahme: {app.reference}"
    assert (email.audience, email.recipient_email, email.language) == ("patient", "hans@example.de", "de")
    for body in (email.body_text, email.body_html):
        assert "Ihre Aufnahme ist für Donnerstag, 10. Dezember 2026 geplant" in body
        assert document.title in body
        assert "Version 1" in body
        assert "Einwilligungserklärung zur Behandlung mit mesenchymalen Stammzellen" in body
        assert "Den vollständigen Text finden Sie in Ihrem privaten Portal" in body
        assert "Die Einwilligungserklärung in Ihrem privaten Portal lesen und unterschreiben" in body
    # Only the opening: the last sentence of the document is left for the portal.
    assert "meine Fragen beantwortet wurden" not in email.body_text
    (token,) = LINK.findall(email.body_text)
    assert services.portal_link_resolve(token=token, now=LATER) == app


def test_the_form_sent_is_the_latest_version_and_english_when_the_language_has_none() -> None:
    ConsentDocument.objects.create(version=2, language="en", title="Informed consent, revised", text="Revised text.")
    app = accepted(preferred_language="de")

    schedule(app, ADMISSION)

    email = Notification.objects.get(application=app, kind="consent_form")
    assert "Informed consent, revised" in email.body_text
    assert "Version 2" in email.body_text and "Revised text." in email.body_text


def test_the_consent_form_answers_the_waiting_patient_and_names_its_step() -> None:
    app = accepted()
    services.message_receive(application=app, actor=Actor.patient(), body="When can I come?", now=START)

    schedule(app, ADMISSION)

    obligation = ReplyObligation.objects.get(application=app, opened_by__isnull=False)
    email = Notification.objects.get(application=app, kind="consent_form")
    assert (obligation.satisfied_at, obligation.satisfied_by_action) == (LATER, "schedule_admission")
    assert email.history == TransitionLog.objects.get(application=app, action="schedule_admission")
    assert Application.objects.get(pk=app.pk).reply_due_at is None


def test_rescheduling_sends_the_consent_form_again_with_the_new_date() -> None:
    app = accepted(preferred_language="en")

    schedule(app, ADMISSION)
    schedule(app, ADMISSION + timedelta(days=7), now=LATER + timedelta(hours=1))

    first, second = Notification.objects.filter(application=app, kind="consent_form").order_by("id")
    assert "Thursday, 10 December 2026" in first.body_text
    assert "Thursday, 17 December 2026" in second.body_text
    assert first.event_key != second.event_key


def test_a_refused_schedule_emails_nothing() -> None:
    app = accepted()

    with pytest.raises(Exception, match="cannot be in the past"):
        schedule(app, START.date() - timedelta(days=1))

    assert not Notification.objects.filter(application=app, kind="consent_form").exists()
