"""The portal's pages (SPEC §7): status and timeline, messages, quote, consent form, withdrawal, languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from tests.portal.conftest import patient_client
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, ConsentDocument, ConsentSignature, Message, ReplyObligation, TransitionLog

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=IST)


@pytest.fixture(autouse=True)
def monday() -> Any:
    with time_machine.travel(MONDAY, tick=True):
        yield


def quoted(*, valid_until: date | None = None, **patient: Any) -> Application:
    """A Delhi application with a two-item quote sent today."""
    app = submit(**patient)
    staff = office_staff(app.office)
    services.application_approve_review(application=app, actor=staff["physician"], review_notes="SECRET-REVIEW-NOTE")
    return services.application_send_quote(
        application=app,
        actor=staff["coordinator"],
        items=[
            {"description": "Seven-day protocol", "amount": "4000.00"},
            {"description": "Room and board", "amount": "500.50"},
        ],
        valid_until=valid_until,
        notes="Airport pick-up included.",
    )


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.content.decode())


# ---- status and timeline ----


def test_the_status_page_says_where_the_application_is_and_when_we_reply_in_the_offices_time() -> None:
    app = submit()
    text = page(patient_client(app), "/portal/")

    assert app.reference in text
    assert "Delhi office" in text
    assert "We have your application. Our doctors will review it." in text
    assert "We will reply by Thursday 26 November 2026, 10:00 India Standard Time (Asia/Kolkata)." in text
    assert "You sent your application" in text


def test_the_timeline_shows_what_the_patient_may_see_and_nothing_internal() -> None:
    app = submit()
    staff = office_staff(app.office)
    coordinator = staff["coordinator"]
    services.message_post(application=app, actor=coordinator, kind="note", body="INTERNAL-NOTE: anxious on the phone")
    services.message_post(application=app, actor=coordinator, kind="reply", body="Hello from Delhi")
    assert coordinator.user is not None
    services.application_assign(application=app, actor=coordinator, user_id=coordinator.user.pk)
    services.application_approve_review(application=app, actor=staff["physician"], review_notes="SECRET-REVIEW-NOTE")

    text = page(patient_client(app), "/portal/")

    assert "Our Delhi office wrote to you" in text
    assert "Our doctors reviewed your application and recommend the treatment" in text
    for secret in ("INTERNAL-NOTE", "SECRET-REVIEW-NOTE", coordinator.user.username, "builder", "assign"):
        assert secret not in text, secret
    timeline = text.split('class="timeline"', 1)[1]
    assert timeline.count('class="timeline__item') == 3  # submit, reply, review; not the note or the assignment


# ---- messages ----


def test_the_conversation_shows_messages_to_and_from_the_patient_but_never_internal_notes() -> None:
    app = submit()
    coordinator = office_staff(app.office)["coordinator"]
    services.message_post(application=app, actor=coordinator, kind="reply", body="Please send your latest blood test.")
    services.message_post(application=app, actor=coordinator, kind="note", body="INTERNAL-NOTE: call the lab")
    services.message_receive(application=app, actor=coordinator, body="Patient called: will email it.", channel="phone")

    text = page(patient_client(app), "/portal/messages/")

    assert "Please send your latest blood test." in text
    assert "Patient called: will email it." in text
    assert "INTERNAL-NOTE" not in text
    assert "Our Delhi office wrote" in text
    assert "builder" not in text


def test_a_message_written_in_the_portal_opens_a_reply_obligation() -> None:
    app = submit()
    services.message_post(application=app, actor=office_staff(app.office)["coordinator"], kind="reply", body="Hello")
    assert not ReplyObligation.objects.filter(application=app, satisfied_at__isnull=True).exists()
    client = patient_client(app)

    response = client.post("/portal/messages/", {"body": "When will I hear about the review?"})

    assert (response.status_code, response["Location"]) == (302, "/portal/messages/")
    message = Message.objects.get(application=app, direction="inbound")
    assert (message.channel, message.body, message.author) == ("portal", "When will I hear about the review?", None)
    obligation = ReplyObligation.objects.get(application=app, satisfied_at__isnull=True)
    assert obligation.opened_by == message
    app.refresh_from_db()
    assert app.reply_due_at == obligation.due_at
    shown = page(client, "/portal/messages/")
    assert "Your message has been sent. We will reply by" in shown
    assert "India Standard Time (Asia/Kolkata)" in shown
    assert "When will I hear about the review?" in shown


def test_an_empty_message_is_a_field_error_and_sends_nothing() -> None:
    app = submit()

    response = patient_client(app).post("/portal/messages/", {"body": "   "})

    assert response.status_code == 200
    assert '<a href="#id_body">Enter your message</a>' in response.content.decode()
    assert not Message.objects.filter(application=app).exists()


# ---- quote ----


def test_the_quote_page_shows_the_items_total_currency_and_validity_and_the_patient_accepts() -> None:
    app = quoted()
    client = patient_client(app)
    text = page(client, "/portal/quote/")

    assert "Seven-day protocol" in text and "₹4,000.00" in text
    assert "Room and board" in text and "₹500.50" in text
    assert "₹4,500.50" in text
    assert "Indian Rupee (INR)" in text
    assert "23 December 2026" in text  # 30 days from the quote
    assert "Airport pick-up included." in text
    assert "Accept this quote" in text

    response = client.post("/portal/quote/")

    assert (response.status_code, response["Location"]) == (302, "/portal/quote/")
    quote = app.quotes.get()
    assert quote.accepted_at is not None
    log = TransitionLog.objects.get(application=app, action="accept_quote")
    assert (log.actor_kind, log.actor) == ("patient", None)
    after = page(client, "/portal/quote/")
    assert "Thank you: you have accepted the quote." in after
    assert "You accepted this quote on" in after
    assert "Accept this quote" not in after


def test_an_expired_quote_cannot_be_accepted_and_the_page_offers_to_ask_for_a_revised_one() -> None:
    app = quoted(valid_until=date(2026, 11, 30))

    with time_machine.travel(datetime(2026, 12, 1, 10, 0, tzinfo=IST), tick=False):
        client = patient_client(app)
        text = page(client, "/portal/quote/")
        refused = client.post("/portal/quote/")
        asked = client.post("/portal/messages/", {"body": "Please send me a revised quote."})

    assert "This quote expired on 30 November 2026 and can no longer be accepted." in text
    assert "Accept this quote" not in text
    assert (
        "Please send me a revised quote. My quote of 23 November 2026 expired on 30 November 2026.</textarea>" in text
    )
    assert 'action="/portal/messages/"' in text
    assert refused.status_code == 409
    assert "This quote can no longer be accepted." in refused.content.decode()
    assert app.quotes.get().accepted_at is None
    assert asked.status_code == 302
    assert Message.objects.filter(application=app, direction="inbound", channel="portal").exists()


def test_without_a_quote_the_page_says_one_comes_after_the_review() -> None:
    text = page(patient_client(submit()), "/portal/quote/")

    assert "We have not sent you a quote yet." in text


# ---- consent ----


def test_the_consent_page_shows_the_current_version_in_the_patients_language_with_its_hash() -> None:
    app = quoted(preferred_language="de")
    document = ConsentDocument.objects.get(version=1, language="de")

    text = page(patient_client(app), "/portal/consent/")

    assert '<html lang="de">' in text
    assert document.title in text
    assert "Zweck. Mir wurde erklärt" in text
    assert document.sha256 in text
    assert 'lang="de"' in text
    assert "Einwilligungserklärung unterschreiben" in text


def test_signing_records_the_typed_name_the_address_and_the_browser() -> None:
    app = quoted()
    client = patient_client(app)
    client.defaults.update(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 (Phone)")
    document = ConsentDocument.objects.get(version=1, language="en")

    response = client.post(
        "/portal/consent/", {"signer_name": "Priya Sharma", "understood": "on", "sha256": document.sha256}
    )

    assert (response.status_code, response["Location"]) == (302, "/portal/consent/")
    signature = ConsentSignature.objects.get(application=app)
    assert (signature.signer_name, signature.method, signature.ip_address) == ("Priya Sharma", "portal", "203.0.113.7")
    assert (signature.user_agent, signature.document_version, signature.document_sha256) == (
        "Mozilla/5.0 (Phone)",
        1,
        document.sha256,
    )
    text = page(client, "/portal/consent/")
    assert "Thank you: you have signed the consent form." in text
    assert "You signed this consent form on" in text and "as Priya Sharma." in text
    assert 'name="signer_name"' not in text


def test_signing_needs_the_tick_and_a_name() -> None:
    app = quoted()
    document = ConsentDocument.objects.get(version=1, language="en")

    response = patient_client(app).post("/portal/consent/", {"signer_name": "", "sha256": document.sha256})

    text = response.content.decode()
    assert response.status_code == 400
    assert '<a href="#id_understood">Confirm that you have read and understood the consent form</a>' in text
    assert '<a href="#id_signer_name">Type your full name to sign</a>' in text
    assert not ConsentSignature.objects.filter(application=app).exists()


def test_a_consent_form_that_changed_while_the_patient_read_it_is_not_signed() -> None:
    app = quoted()

    response = patient_client(app).post(
        "/portal/consent/", {"signer_name": "Priya Sharma", "understood": "on", "sha256": "0" * 64}
    )

    assert response.status_code == 400
    assert "The consent form has changed since you opened this page." in response.content.decode()
    assert not ConsentSignature.objects.filter(application=app).exists()


def test_the_consent_form_cannot_be_signed_before_a_quote() -> None:
    app = submit()
    document = ConsentDocument.objects.get(version=1, language="en")
    client = patient_client(app)

    text = page(client, "/portal/consent/")
    response = client.post(
        "/portal/consent/", {"signer_name": "Priya Sharma", "understood": "on", "sha256": document.sha256}
    )

    assert "You can sign the consent form once we have sent you your quote" in text
    assert 'name="signer_name"' not in text
    assert response.status_code == 400
    assert not ConsentSignature.objects.filter(application=app).exists()


# ---- withdrawal ----


def test_withdrawing_takes_a_reason_then_a_confirmation_then_withdraws() -> None:
    app = quoted()
    client = patient_client(app)
    assert "Why do you want to withdraw?" in page(client, "/portal/withdraw/")

    missing = client.post("/portal/withdraw/", {"reason": ""})
    assert '<a href="#id_reason">Tell us why you want to withdraw</a>' in missing.content.decode()

    confirm = client.post("/portal/withdraw/", {"reason": "I found treatment nearer home."})
    text = confirm.content.decode()
    assert "Are you sure you want to withdraw?" in text
    assert f"This ends your application {app.reference}." in text
    assert 'name="confirm" value="yes"' in text
    app.refresh_from_db()
    assert app.state == "quoted"

    done = client.post("/portal/withdraw/", {"reason": "I found treatment nearer home.", "confirm": "yes"})

    assert (done.status_code, done["Location"]) == (302, "/portal/")
    app.refresh_from_db()
    assert (app.state, app.withdraw_reason) == ("withdrawn", "I found treatment nearer home.")
    log = TransitionLog.objects.get(application=app, action="withdraw")
    assert (log.actor_kind, log.actor) == ("patient", None)
    status = page(client, "/portal/")
    assert "You have withdrawn your application." in status
    assert "You withdrew your application" in status
    assert 'href="/portal/withdraw/"' not in status
    assert "Your application has been withdrawn." in page(client, "/portal/withdraw/")


def test_an_admitted_patient_is_not_offered_withdrawal_and_a_forced_post_changes_nothing() -> None:
    app = advance(submit(), "admitted")
    client = patient_client(app)

    text = page(client, "/portal/withdraw/")
    response = client.post("/portal/withdraw/", {"reason": "Changed my mind", "confirm": "yes"})

    assert "Your application can no longer be withdrawn here." in text
    assert response.status_code == 200
    app.refresh_from_db()
    assert app.state == "admitted"
    assert 'href="/portal/withdraw/"' not in page(client, "/portal/")


# ---- languages ----


def test_the_pages_speak_the_applications_language_until_the_patient_switches() -> None:
    app = submit(preferred_language="de")
    client = patient_client(app)

    german = page(client, "/portal/")
    assert '<html lang="de">' in german
    assert "Ihr Antrag" in german
    assert "Wir antworten bis Donnerstag, 26. November 2026, 10:00 Indische Normalzeit (Asia/Kolkata)." in german

    switched = client.post("/portal/language/", {"language": "en", "next": "/portal/messages/"})

    assert (switched.status_code, switched["Location"]) == (302, "/portal/messages/")
    assert '<html lang="en">' in page(client, "/portal/messages/")
    assert "Your application" in page(client, "/portal/")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/portal/", "javascript:alert(1)", ""])
def test_the_language_switch_returns_only_to_our_own_pages(target: str) -> None:
    response = Client().post("/portal/language/", {"language": "de", "next": target})

    assert (response.status_code, response["Location"]) == (302, "/portal/")


def test_every_german_page_is_german() -> None:
    app = quoted(preferred_language="de")
    client = patient_client(app)
    expected = {
        "/portal/": "Was Sie jetzt tun können",
        "/portal/messages/": "Schreiben Sie uns",
        "/portal/quote/": "Dieses Angebot annehmen",
        "/portal/consent/": "Einwilligungserklärung",
        "/portal/withdraw/": "Warum möchten Sie zurückziehen?",
    }
    for url, words in expected.items():
        text = page(client, url)
        assert words in text, url
        assert "Skip to main content" not in text, url
        assert "Zum Hauptinhalt springen" in text, url


def test_times_are_shown_in_the_european_offices_zone_for_its_patients() -> None:
    app = submit(country="DE", preferred_language="en", now=MONDAY + timedelta(hours=0))

    text = page(patient_client(app), "/portal/")

    assert "Central European Standard Time (Europe/Berlin)" in text
