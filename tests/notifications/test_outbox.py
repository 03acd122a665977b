"""The outbox (SPEC §6): each event writes its notifications in its own transaction, once, in the
reader's language, from the office, and staff alerts wait for office hours. No worker here."""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.template import Engine
from django.utils import translation
from django.utils.translation.template import templatize

from notifications import delivery, events
from notifications.catalogue import CATALOGUE
from notifications.models import Notification
from notifications.services import _base_context, _render
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, TransitionLog
from workflow.services.actions import current_consent_document
from workflow.services.sla import sla_sweep

pytestmark = pytest.mark.django_db

KOLKATA, BERLIN = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")
# SPEC §2: received Monday 10:00 in Delhi, reply due Thursday 10:00 (Tuesday 24 Nov is a holiday).
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)
DELHI_FROM = "Delhi clinic office <delhi@clinic.example>"
EUROPE_FROM = "Europe clinic office <europe@clinic.example>"


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    """An hour after MONDAY_MORNING for whatever a test does without a time of its own, so that no
    test depends on the day the suite runs."""
    time_machine.move_to(MONDAY_MORNING + timedelta(hours=1), tick=False)


def staff_url(application: Application) -> str:
    return f"{settings.SITE_URL}/admin/workflow/application/{application.pk}/change/"


def submitted(at: datetime = MONDAY_MORNING, **overrides: Any) -> Application:
    with time_machine.travel(at, tick=False):
        return submit(**overrides)


def rows(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("recipient_email"))


def only(kind: str) -> Notification:
    (row,) = rows(kind)
    return row


@pytest.fixture
def delhi_team(delhi_coordinator, delhi_physician, delhi_manager):
    return {"coordinator": delhi_coordinator, "physician": delhi_physician, "manager": delhi_manager}


# ---- intake ----


def test_the_patient_is_acknowledged_with_the_reference_and_the_local_reply_by_time(delhi_team):
    application = submitted()
    ack = only("intake_acknowledgement")
    assert (ack.audience, ack.recipient_email, ack.recipient_user) == ("patient", "priya@example.org", None)
    assert (ack.from_email, ack.reply_to, ack.language) == (DELHI_FROM, "delhi@clinic.example", "en")
    assert ack.application == application
    assert ack.subject == f"We received your application {application.reference}"
    for body in (ack.body_text, ack.body_html):
        assert application.reference in body
        assert "Thursday, 26 November 2026, 10:00 (Asia/Kolkata)" in body
    assert ack.not_before == MONDAY_MORNING
    assert ack.message_id == f"<notification-{ack.pk}@127.0.0.1>"


def test_the_office_coordinators_and_physicians_are_alerted_with_a_link_to_the_application(delhi_team):
    application = submitted()
    new = only("new_application")
    review = only("review_requested")
    assert new.recipient_user == delhi_team["coordinator"]
    assert review.recipient_user == delhi_team["physician"]
    for row in (new, review):
        assert (row.audience, row.language, row.from_email, row.reply_to) == (
            "staff",
            "en",
            DELHI_FROM,
            "delhi@clinic.example",
        )
        assert row.recipient_email == row.recipient_user.email
        assert application.reference in row.subject
        assert staff_url(application) in row.body_text
        assert f'href="{staff_url(application)}"' in row.body_html
    assert "Thursday, 26 November 2026, 10:00 (Asia/Kolkata)" in new.body_text


def test_staff_of_other_roles_and_other_offices_are_not_alerted_of_a_new_application(
    delhi_team, europe_coordinator, europe_physician
):
    submitted()
    recipients = set(Notification.objects.filter(audience="staff").values_list("recipient_user", flat=True))
    assert recipients == {delhi_team["coordinator"].pk, delhi_team["physician"].pk}


def test_a_german_patient_gets_german_subject_and_body_with_german_day_names(delhi_coordinator):
    application = submitted(preferred_language="de", full_name="Hans Müller", email="hans@example.de")
    ack = only("intake_acknowledgement")
    assert ack.language == "de"
    assert ack.subject == f"Wir haben Ihren Antrag {application.reference} erhalten"
    assert "Wir antworten Ihnen bis Donnerstag, 26. November 2026, 10:00 (Asia/Kolkata)." in ack.body_text
    assert "Thursday" not in ack.body_text
    assert "Donnerstag" in ack.body_html
    assert '<html lang="de">' in ack.body_html
    # Staff read English whatever the patient's language.
    staff = only("new_application")
    assert staff.language == "en"
    assert "Thursday, 26 November 2026" in staff.body_text


def test_a_europe_application_is_sent_from_the_europe_office_in_its_time_zone(europe_coordinator):
    received = datetime(2026, 12, 18, 16, 0, tzinfo=BERLIN)
    submitted(received, country="DE", office="europe", preferred_language="de", email="lena@example.de")
    ack = only("intake_acknowledgement")
    assert (ack.from_email, ack.reply_to) == (EUROPE_FROM, "europe@clinic.example")
    assert "Dienstag, 22. Dezember 2026, 16:00 (Europe/Berlin)" in ack.body_text
    assert only("new_application").recipient_user == europe_coordinator


# ---- transitions and messages ----


@pytest.mark.parametrize(
    ("state", "kind", "subject", "in_body"),
    [
        ("medically_reviewed", "review_approved", "Your medical review is complete", "recommend the treatment"),
        ("declined", "declined", "About your application", "Not eligible"),
        ("quoted", "quote_sent", "Your quote for application", "Protocol: 4500.00 INR"),
        ("withdrawn", "withdrawn", "is withdrawn", "has been withdrawn"),
    ],
)
def test_each_transition_that_writes_to_the_patient_notifies_them_once(state, kind, subject, in_body):
    application = submitted()
    later = MONDAY_MORNING + timedelta(hours=2)
    advance(application, state, now=later)
    row = only(kind)
    assert (row.audience, row.recipient_email, row.from_email, row.reply_to, row.language) == (
        "patient",
        "priya@example.org",
        DELHI_FROM,
        "delhi@clinic.example",
        "en",
    )
    assert subject in row.subject
    assert application.reference in row.subject
    assert in_body in row.body_text
    assert row.not_before == later
    assert row.dedup_key.startswith(f"{kind}:history-")


def test_a_revised_quote_is_sent_with_its_new_terms():
    application = advance(submitted(), "quoted", now=MONDAY_MORNING)
    services.application_revise_quote(
        application=application,
        actor=office_staff(application.office)["coordinator"],
        items=[{"description": "Protocol, revised", "amount": "4200.00"}],
        now=MONDAY_MORNING + timedelta(hours=1),
    )
    row = only("quote_revised")
    assert row.subject == f"Your revised quote for application {application.reference}"
    assert "Protocol, revised: 4200.00 INR" in row.body_text
    assert "Total: 4200.00 INR" in row.body_text
    assert len(rows("quote_sent")) == 1


def test_a_reply_is_emailed_to_the_patient_and_a_note_is_not():
    application = submitted()
    staff = office_staff(application.office)["coordinator"]
    services.message_post(application=application, actor=staff, kind="note", body="Check the labs", now=MONDAY_MORNING)
    assert rows("outbound_message") == []
    message = services.message_post(
        application=application, actor=staff, kind="reply", body="Please send your labs.", now=MONDAY_MORNING
    )
    row = only("outbound_message")
    history = TransitionLog.objects.get(application=application, action="message_reply")
    assert history.params == {"message": message.pk}
    assert (row.history, row.event_key) == (history, f"history-{history.pk}")
    assert row.dedup_key == f"outbound_message:history-{history.pk}:priya@example.org"
    assert "Please send your labs." in row.body_text


def test_text_bodies_are_not_html_escaped_and_html_bodies_are():
    application = submitted(full_name="Anna & Ben O'Neil")
    body = 'Fees & "dates" <to be confirmed>'
    services.message_post(
        application=application, actor=office_staff(application.office)["coordinator"], kind="reply", body=body
    )
    row = only("outbound_message")
    assert body in row.body_text
    assert "Dear Anna & Ben O'Neil," in row.body_text
    assert "Fees &amp; &quot;dates&quot; &lt;to be confirmed&gt;" in row.body_html
    assert "Anna &amp; Ben O&#x27;Neil" in row.body_html
    assert "<to be" not in row.body_html

    assert delivery.deliver(row.pk) == (delivery.SENT, None)
    (sent,) = mail.outbox
    assert body in sent.body
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html"
    assert "Fees &amp; &quot;dates&quot; &lt;to be confirmed&gt;" in html


# ---- SLA alerts ----


def test_sla_warning_and_breach_alert_the_coordinators_then_the_managers_with_a_link(delhi_team):
    application = submitted()
    obligation = application.obligations.get()
    sla_sweep(obligation.warn_at)
    sla_sweep(obligation.due_at)
    warning, breach = only("sla_warning"), only("sla_breach")
    assert warning.recipient_user == delhi_team["coordinator"]
    assert breach.recipient_user == delhi_team["manager"]
    for row in (warning, breach):
        assert row.audience == "staff"
        assert row.from_email == DELHI_FROM
        assert application.reference in row.subject
        assert staff_url(application) in row.body_text
        assert "Thu 26 Nov 2026 10:00 (Asia/Kolkata)" in row.body_text


# ---- once, and only with the event ----


def test_the_same_event_twice_writes_one_row_per_recipient(delhi_team):
    application = submitted()
    before = Notification.objects.count()
    assert before == 3
    submitted_log = TransitionLog.objects.get(application=application, action="submit")
    events.application_received(application, history=submitted_log, now=MONDAY_MORNING + timedelta(minutes=5))
    assert Notification.objects.count() == before

    application = advance(application, "withdrawn", now=MONDAY_MORNING)
    log = TransitionLog.objects.get(application=application, action="withdraw")
    events.patient_notice(application, kind="withdrawn", history=log, now=MONDAY_MORNING)
    assert len(rows("withdrawn")) == 1

    obligation = application.obligations.get()
    for _ in range(2):
        events.notify_staff(
            kind="sla_warning",
            application=application,
            users=[delhi_team["coordinator"]],
            event_key=f"obligation-{obligation.pk}",
            context={"due_local": "soon"},
            now=MONDAY_MORNING,
        )
    assert len(rows("sla_warning")) == 1


def test_an_intake_that_rolls_back_writes_no_application_and_no_notification(
    monkeypatch, delhi_team, published, django_capture_on_commit_callbacks
):
    real_notify_staff = events.notify_staff

    def fail_on_the_physicians_row(**kwargs):
        if kwargs["kind"] == "review_requested":
            raise RuntimeError("the template engine fell over")
        return real_notify_staff(**kwargs)

    monkeypatch.setattr(events, "notify_staff", fail_on_the_physicians_row)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        submit()
    assert not Application.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == []
    assert published == []


def test_a_transition_that_rolls_back_writes_no_notification(
    monkeypatch, published, django_capture_on_commit_callbacks
):
    application = submitted()
    real_patient_notice = events.patient_notice

    def then_fail(*args, **kwargs):
        real_patient_notice(*args, **kwargs)
        assert Notification.objects.filter(kind="withdrawn").exists()  # written, inside the transaction
        raise RuntimeError("the database went away before the commit")

    monkeypatch.setattr(events, "patient_notice", then_fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        advance(application, "withdrawn")
    application.refresh_from_db()
    assert application.state == "received"
    assert rows("withdrawn") == []
    assert published == []


# ---- when they go out ----


def test_rows_are_handed_to_celery_only_after_the_transaction_commits(
    delhi_team, published, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with django_capture_on_commit_callbacks() as callbacks:
            submit()
            assert published == []
        assert published == []
        for callback in callbacks:
            callback()
    # The acknowledgement and one alert each for the coordinator and the physician.
    assert len(published) == 3
    assert sorted(published) == sorted(Notification.objects.values_list("pk", flat=True))


def test_staff_alerts_raised_out_of_hours_wait_for_the_next_opening_and_patient_emails_do_not(
    delhi_team, published, django_capture_on_commit_callbacks
):
    saturday_night = datetime(2026, 11, 28, 20, 0, tzinfo=KOLKATA)
    with time_machine.travel(saturday_night, tick=False), django_capture_on_commit_callbacks(execute=True):
        submit()
    ack = only("intake_acknowledgement")
    assert ack.not_before == saturday_night
    monday_opening = datetime(2026, 11, 30, 9, 30, tzinfo=KOLKATA)
    for kind in ("new_application", "review_requested"):
        assert only(kind).not_before == monday_opening
    # Only the patient's email is handed over now; the relay sweep publishes the others on Monday.
    assert published == [ack.pk]


def test_staff_alerts_raised_in_office_hours_go_out_at_once(delhi_team):
    submitted()
    assert {row.not_before for row in Notification.objects.all()} == {MONDAY_MORNING}


# ---- every kind in German ----

# Words of each kind's own German text, in its subject and in its body. A kind added to the
# catalogue without an entry here is still checked for translated strings and a German rendering.
GERMAN = {
    "intake_acknowledgement": ("Wir haben Ihren Antrag", "vielen Dank für Ihren Antrag"),
    "new_application": ("Neuer Antrag", "liegt in der Warteschlange"),
    "review_requested": ("Ärztliche Prüfung erbeten", "wartet auf Ihre ärztliche Prüfung"),
    "outbound_message": ("Eine Nachricht zu Ihrem Antrag", "Ihr Team des Büros"),
    "review_approved": ("Ihre ärztliche Prüfung ist abgeschlossen", "empfehlen die Behandlung"),
    "declined": ("Zu Ihrem Antrag", "nach sorgfältiger Prüfung"),
    "quote_sent": ("Ihr Angebot zu Antrag", "hier ist das Angebot für Ihre Behandlung"),
    "quote_revised": ("Ihr überarbeitetes Angebot", "in Ihrem privaten Portal lesen und annehmen"),
    "quote_expiring": ("läuft bald ab", "nehmen Sie es bitte bis dahin in Ihrem privaten Portal an"),
    "consent_form": ("Ihre Einwilligungserklärung vor der Aufnahme", "Den vollständigen Text finden Sie"),
    "consent_reminder": ("Erinnerung: Bitte unterschreiben Sie", "liegt uns noch nicht vor"),
    "consent_signed": ("Ihre unterschriebene Einwilligungserklärung", "Im Anhang finden Sie ein PDF"),
    "admission_confirmed": ("Ihre Aufnahme ist bestätigt", "Ihr Behandlungsplan"),
    "withdrawn": ("wurde zurückgezogen", "erneut einen Antrag stellen"),
    "portal_link": ("Ihr privater Link", "Bitte leiten Sie ihn nicht weiter"),
    "sla_warning": ("Antwort bald fällig", "wartet auf eine Antwort"),
    "sla_breach": ("Antwortversprechen gebrochen", "Bitte sorgen Sie dafür"),
    "discharge_summary": ("Ihr Entlassungsbericht", "Zu diesen Nachsorgeterminen fragen wir Sie"),
    "follow_up_due": ("Ihr Nachsorgefragebogen für Monat", "Bitte sagen Sie uns, wie es Ihnen geht"),
    "follow_up_reminder": ("Erinnerung: Ihr Nachsorgefragebogen", "liegt uns noch nicht vor"),
    "monitoring_due": ("Kontrolle fällig", "erfassen Sie das Ergebnis"),
    "monitoring_concern": ("Bedenken bei der Kontrolle", "Bitte lesen Sie die Notiz"),
    "follow_up_overdue": ("Nachsorge überfällig", "erfassen Sie die Antworten telefonisch"),
    "follow_up_dates_changed": ("Ihre Nachsorgetermine haben sich geändert", "das Datum Ihrer Entlassung auf"),
}
# A `{% translate %}` or `{% blocktranslate %}` as templatize() writes it for makemessages.
GETTEXT_CALL = re.compile(r""" gettext\(u('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\) """)


def translatable_strings(kind: str) -> list[str]:
    strings = []
    for name in ("subject.txt", "body.txt", "body.html"):
        code = templatize(Engine.get_default().get_template(f"notifications/{kind}/{name}").source)
        assert not re.search(r" (?:n|p|np)gettext\(", code), f"{kind}/{name}: check plural and context forms too"
        strings += [ast.literal_eval(literal) for literal in GETTEXT_CALL.findall(code)]
    return strings


@pytest.fixture
def hans() -> dict[str, Any]:
    """A German-speaking patient of the Europe office, answered and admitted: what the events put in a context."""
    received = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    application = submitted(
        received,
        country="DE",
        office="europe",
        preferred_language="de",
        full_name="Hans Müller",
        email="hans@example.de",
    )
    obligation = application.obligations.get()
    later = received + timedelta(hours=1)
    message = services.message_post(
        application=application,
        actor=office_staff(application.office)["coordinator"],
        kind="reply",
        body="Bitte senden Sie uns Ihre letzten Laborwerte.",
        now=later,
    )
    return {"application": advance(application, "admitted", now=later), "obligation": obligation, "message": message}


def rendered(kind: str, language: str, hans: dict[str, Any]) -> tuple[str, str, str]:
    """A kind rendered as `notifications.services` does, with every key the events and the SLA sweep pass."""
    application, obligation = hans["application"], hans["obligation"]
    due = events.local_time(application, obligation.due_at, language)
    context = {
        **_base_context(application),
        "reply_by": due,
        "message": hans["message"],
        "quote": application.quotes.get(superseded_at__isnull=True),
        "days": list(application.treatment_days.order_by("day")),
        "signature": application.signatures.get(),
        "signed_at": events.local_time(application, application.signatures.get().signed_at, language),
        "document": current_consent_document(application.preferred_language),
        "admission_day": events.local_day(application.admission_date, language),
        "valid_until_day": events.local_day(application.quotes.get(superseded_at__isnull=True).valid_until, language),
        "obligation": obligation,
        "due_local": due,
        "assignee": "europe-coordinator",
        "portal_url": "https://clinic.example/portal/open/token/?next=quote",
        "portal_landing": "quote" if kind.startswith("quote") else "status",
    }
    return _render(kind, language, context)


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_every_kind_reads_in_german_for_a_german_reader(kind: str, hans: dict[str, Any]) -> None:
    strings = translatable_strings(kind)
    with translation.override("de"):
        untranslated = [msgid for msgid in strings if translation.gettext(msgid) == msgid]
    subject_en, text_en, html_en = rendered(kind, "en", hans)
    subject_de, text_de, html_de = rendered(kind, "de", hans)

    assert strings, f"{kind}: its templates have nothing to translate"
    assert untranslated == [], f"{kind}: add German to locale/de/LC_MESSAGES/django.po"
    assert hans["application"].reference in subject_de
    assert subject_de != subject_en
    assert text_de != text_en
    assert html_de != html_en
    if kind in GERMAN:
        in_subject, in_body = GERMAN[kind]
        assert in_subject in subject_de
        assert in_subject not in subject_en
        assert in_body in text_de
        assert in_body in html_de
        assert in_body not in text_en


def test_an_unknown_language_falls_back_to_english(delhi_team):
    application = submitted()
    Application.objects.filter(pk=application.pk).update(preferred_language="xx")
    application.refresh_from_db()
    actor = Actor.staff(delhi_team["physician"])
    services.application_decline(application=application, actor=actor, reason="Not eligible")
    assert only("declined").subject.startswith("About your application")
