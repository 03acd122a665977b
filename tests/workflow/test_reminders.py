"""SPEC §5, §11: the quote-expiry and consent reminders are rows with a due time, swept by beat, each sent once.

Time travels with `run_scheduled --at`, as an operator would run it; the PostgreSQL tests run two
sweeps at once and check what the sweep reads.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.urls import reverse

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import selectors, services
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, Quote, Reminder, ReplyObligation
from workflow.services.reminders import PENDING, reminder_sweep

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
# A Monday in Delhi, inside opening hours. A quote sent now is valid until 23 December (30 days).
START = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
VALID_UNTIL = date(2026, 12, 23)
# 09:00 in Delhi three days before: 03:30 UTC.
QUOTE_DUE = datetime(2026, 12, 20, 9, 0, tzinfo=IST)
ADMISSION = date(2026, 12, 10)
CONSENT_DUE = datetime(2026, 12, 7, 9, 0, tzinfo=IST)
SECOND = timedelta(seconds=1)
LINK = re.compile(r"/portal/open/([A-Za-z0-9_-]+)/\?next=(\w+)")


def quoted(*, valid_until: date | None = None, **patient: str) -> Application:
    if valid_until is None:
        return advance(submit(now=START, **patient), "quoted", now=START)
    app = advance(submit(now=START, **patient), "medically_reviewed", now=START)
    return services.application_send_quote(
        application=app,
        actor=coordinator(app),
        items=[{"description": "Protocol", "amount": "4500.00"}],
        valid_until=valid_until,
        now=START,
    )


def coordinator(app: Application) -> Actor:
    return office_staff(app.office)["coordinator"]


def scheduled(day: date = ADMISSION) -> Application:
    """Quote accepted, admission scheduled for `day`, consent not signed yet."""
    app = quoted()
    services.quote_accept(application=app, actor=coordinator(app), now=START)
    services.admission_schedule(application=app, actor=coordinator(app), admission_date=day, now=START)
    return app


def run_scheduled(moment: datetime, capsys: pytest.CaptureFixture[str]) -> str:
    call_command("run_scheduled", "--at", moment.isoformat())
    return capsys.readouterr().out


def reminders_sent(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("id"))


def sign(app: Application, now: datetime) -> None:
    services.consent_sign_portal(
        application=app, signer_name=app.full_name, ip_address="203.0.113.9", user_agent="pytest", now=now
    )


# ---- the quote about to expire ----


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("office", "country", "received", "due"),
    [
        pytest.param("delhi", "IN", START, QUOTE_DUE, id="delhi"),
        # Europe: 09:00 in Berlin, 08:00 UTC in winter.
        pytest.param(
            "europe",
            "DE",
            datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN),
            datetime(2026, 12, 20, 9, 0, tzinfo=BERLIN),
            id="europe",
        ),
    ],
)
def test_a_quote_reminder_is_due_at_nine_in_the_office_three_days_before_the_last_valid_day(
    office: str, country: str, received: datetime, due: datetime
) -> None:
    app = advance(submit(now=received, office=office, country=country), "quoted", now=received)

    reminder = Reminder.objects.get(application=app)

    assert (reminder.kind, reminder.quote, reminder.admission_date) == ("quote_expiring", app.quotes.get(), None)
    assert reminder.due_at == due
    assert reminder.is_pending


@pytest.mark.django_db
def test_run_scheduled_sends_the_quote_reminder_once_when_it_is_due_with_a_link_to_the_quote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = quoted()

    before = run_scheduled(QUOTE_DUE - SECOND, capsys)
    at_due = run_scheduled(QUOTE_DUE, capsys)
    later = run_scheduled(QUOTE_DUE + timedelta(hours=1), capsys)

    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in before
    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in at_due
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in later
    (email,) = reminders_sent("quote_expiring")
    reminder = Reminder.objects.get(application=app)
    assert (email.audience, email.recipient_email, email.event_key) == ("patient", app.email, reminder.event_key)
    assert email.subject == f"Your quote for application {app.reference} expires soon"
    assert "4500.00 INR" in email.body_text
    assert "valid until Wednesday, 23 December 2026" in email.body_text
    (token, landing) = LINK.findall(email.body_text)[0]
    assert landing == "quote"
    assert services.portal_link_resolve(token=token, now=QUOTE_DUE) == app
    assert reminder.sent_at == QUOTE_DUE


@pytest.mark.django_db
def test_a_german_patient_is_reminded_in_german(capsys: pytest.CaptureFixture[str]) -> None:
    quoted(preferred_language="de")

    run_scheduled(QUOTE_DUE, capsys)

    (email,) = reminders_sent("quote_expiring")
    assert "läuft bald ab" in email.subject
    assert "gilt bis Mittwoch, 23. Dezember 2026" in email.body_text


@pytest.mark.django_db
def test_no_quote_reminder_goes_once_the_quote_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    app = quoted()
    services.quote_accept(application=app, actor=coordinator(app), now=START + timedelta(days=2))

    out = run_scheduled(QUOTE_DUE, capsys)

    reminder = Reminder.objects.get(application=app, kind="quote_expiring")
    assert (reminder.cancelled_at, reminder.cancel_reason) == (START + timedelta(days=2), "quote accepted")
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in out
    assert reminders_sent("quote_expiring") == []


@pytest.mark.django_db
def test_a_revised_quote_cancels_the_superseded_reminder_and_plans_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    app = quoted()
    revised_at = START + timedelta(days=5)
    services.application_revise_quote(
        application=app,
        actor=coordinator(app),
        items=[{"description": "Protocol", "amount": "4000.00"}],
        valid_until=date(2027, 1, 15),
        now=revised_at,
    )
    old, new = Reminder.objects.filter(application=app).order_by("id")

    at_old_due = run_scheduled(QUOTE_DUE, capsys)
    at_new_due = run_scheduled(datetime(2027, 1, 12, 9, 0, tzinfo=IST), capsys)

    assert (old.cancelled_at, old.cancel_reason) == (revised_at, "quote superseded")
    assert new.quote == app.quotes.get(superseded_at__isnull=True)
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in at_old_due
    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in at_new_due
    (email,) = reminders_sent("quote_expiring")
    assert "4000.00 INR" in email.body_text and "4500.00" not in email.body_text


@pytest.mark.django_db
def test_a_withdrawn_application_is_never_reminded(capsys: pytest.CaptureFixture[str]) -> None:
    app = quoted()
    services.application_withdraw(application=app, actor=coordinator(app), reason="Changed plans", now=START)

    out = run_scheduled(QUOTE_DUE, capsys)

    assert Reminder.objects.get(application=app).cancel_reason == "withdraw"
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in out
    assert reminders_sent("quote_expiring") == []


@pytest.mark.django_db
def test_the_sweep_rechecks_each_reminder_and_cancels_one_that_no_longer_applies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Rows changed behind the services' back: only the sweep's own re-check can stop these.
    accepted, superseded, expired = quoted(), quoted(), quoted()
    Quote.objects.filter(application=accepted).update(accepted_at=START)
    Quote.objects.filter(application=superseded).update(superseded_at=START)
    Quote.objects.filter(application=expired).update(valid_until=QUOTE_DUE.date() - timedelta(days=1))

    out = run_scheduled(QUOTE_DUE, capsys)

    assert "reminder_sweep: {'sent': 0, 'cancelled': 3}" in out
    reasons = {r.application_id: r.cancel_reason for r in Reminder.objects.all()}
    assert reasons == {
        accepted.pk: "quote accepted",
        superseded.pk: "quote superseded",
        expired.pk: "quote expired",
    }
    assert reminders_sent("quote_expiring") == []


@pytest.mark.django_db
@pytest.mark.parametrize(("days", "planned"), [(3, False), (4, False), (5, True)])
def test_a_quote_valid_only_a_few_days_is_not_reminded_a_day_after_it_was_sent(days: int, planned: bool) -> None:
    app = advance(submit(now=START), "medically_reviewed", now=START)

    services.application_send_quote(
        application=app,
        actor=coordinator(app),
        items=[{"description": "Protocol", "amount": "10"}],
        valid_until=START.date() + timedelta(days=days),
        now=START,
    )

    assert Reminder.objects.filter(application=app).exists() == planned


@pytest.mark.django_db
def test_a_reminder_answers_nothing_the_patient_is_still_owed_a_reply(capsys: pytest.CaptureFixture[str]) -> None:
    app = quoted()
    services.message_receive(
        application=app, actor=Actor.patient(), body="Is the price final?", now=QUOTE_DUE - timedelta(hours=2)
    )

    run_scheduled(QUOTE_DUE, capsys)

    assert len(reminders_sent("quote_expiring")) == 1
    obligation = ReplyObligation.objects.get(application=app, opened_by__isnull=False)
    assert obligation.is_open
    assert Application.objects.get(pk=app.pk).reply_due_at == obligation.due_at


# ---- the consent still unsigned before admission ----


@pytest.mark.django_db
def test_an_unsigned_consent_is_reminded_once_three_days_before_admission_with_a_link_to_sign(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = scheduled()
    reminder = Reminder.objects.get(application=app, kind="consent_reminder")

    before = run_scheduled(CONSENT_DUE - SECOND, capsys)
    at_due = run_scheduled(CONSENT_DUE, capsys)
    again = run_scheduled(CONSENT_DUE + timedelta(days=1), capsys)

    assert (reminder.admission_date, reminder.due_at) == (ADMISSION, CONSENT_DUE)
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in before
    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in at_due
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in again
    (email,) = reminders_sent("consent_reminder")
    assert email.subject == f"Reminder: please sign your consent form ({app.reference})"
    assert "your admission is on Thursday, 10 December 2026" in email.body_text
    (token, landing) = LINK.findall(email.body_text)[0]
    assert landing == "consent"
    assert services.portal_link_resolve(token=token, now=CONSENT_DUE) == app


@pytest.mark.django_db
def test_no_consent_reminder_goes_when_the_consent_is_signed_by_then(capsys: pytest.CaptureFixture[str]) -> None:
    app = scheduled()
    sign(app, START + timedelta(days=1))

    out = run_scheduled(CONSENT_DUE, capsys)

    assert "reminder_sweep: {'sent': 0, 'cancelled': 1}" in out
    assert Reminder.objects.get(application=app, kind="consent_reminder").cancel_reason == "consent signed"
    assert reminders_sent("consent_reminder") == []


@pytest.mark.django_db
def test_a_withdrawn_signature_does_not_count_and_the_reminder_goes(capsys: pytest.CaptureFixture[str]) -> None:
    app = scheduled()
    sign(app, START + timedelta(days=1))
    signature = app.signatures.get()
    services.consent_withdraw(
        application=app, actor=Actor.patient(), signature_id=signature.pk, now=START + timedelta(days=2)
    )

    out = run_scheduled(CONSENT_DUE, capsys)

    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in out
    assert len(reminders_sent("consent_reminder")) == 1


@pytest.mark.django_db
def test_rescheduling_moves_the_consent_reminder_to_the_new_date(capsys: pytest.CaptureFixture[str]) -> None:
    app = scheduled()
    moved_at = START + timedelta(days=1)
    services.admission_schedule(
        application=app, actor=coordinator(app), admission_date=ADMISSION + timedelta(days=7), now=moved_at
    )
    old, new = Reminder.objects.filter(application=app, kind="consent_reminder").order_by("id")

    at_old_due = run_scheduled(CONSENT_DUE, capsys)
    at_new_due = run_scheduled(CONSENT_DUE + timedelta(days=7), capsys)

    assert (old.cancelled_at, old.cancel_reason) == (moved_at, "admission rescheduled")
    assert (new.admission_date, new.due_at) == (ADMISSION + timedelta(days=7), CONSENT_DUE + timedelta(days=7))
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in at_old_due
    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in at_new_due
    (email,) = reminders_sent("consent_reminder")
    assert "Thursday, 17 December 2026" in email.body_text


@pytest.mark.django_db
def test_back_to_a_date_planned_before_its_own_reminder_is_pending_again_and_goes_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = scheduled()
    for day, hours in ((ADMISSION + timedelta(days=7), 1), (ADMISSION, 2), (ADMISSION, 3)):
        services.admission_schedule(
            application=app, actor=coordinator(app), admission_date=day, now=START + timedelta(hours=hours)
        )

    rows = list(
        Reminder.objects.filter(application=app, kind="consent_reminder")
        .order_by("id")
        .values_list("admission_date", "cancel_reason")
    )
    out = run_scheduled(CONSENT_DUE, capsys)

    assert rows == [(ADMISSION, ""), (ADMISSION + timedelta(days=7), "admission rescheduled")]
    assert "reminder_sweep: {'sent': 1, 'cancelled': 0}" in out
    assert len(reminders_sent("consent_reminder")) == 1


@pytest.mark.django_db
def test_an_admission_scheduled_within_four_days_gets_the_consent_form_but_no_reminder() -> None:
    app = scheduled(START.date() + timedelta(days=4))

    assert not Reminder.objects.filter(application=app, kind="consent_reminder").exists()
    assert Notification.objects.filter(application=app, kind="consent_form").count() == 1


@pytest.mark.django_db
def test_admitting_cancels_a_reminder_the_sweep_has_not_reached(capsys: pytest.CaptureFixture[str]) -> None:
    app = scheduled()
    admitted_at = datetime.combine(ADMISSION, datetime.min.time(), tzinfo=IST) + timedelta(hours=10)
    sign(app, admitted_at)
    services.application_admit(application=app, actor=coordinator(app), now=admitted_at)

    out = run_scheduled(admitted_at + timedelta(hours=1), capsys)

    assert Reminder.objects.get(application=app, kind="consent_reminder").cancel_reason == "admit"
    assert "reminder_sweep: {'sent': 0, 'cancelled': 0}" in out


@pytest.mark.django_db
def test_staff_see_an_applications_reminders_on_its_admin_page(client: Any, delhi_coordinator: User) -> None:
    app = scheduled()
    client.force_login(delhi_coordinator)

    page = client.get(reverse("admin:workflow_application_change", args=[app.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert "Patient reminders (quote expiring, consent unsigned)" in content
    assert "quote accepted" in content  # the expiry reminder, cancelled by the acceptance
    assert "Consent form still unsigned" in content  # the consent reminder, pending


# ---- quote status for the patient's pages ----


@pytest.mark.django_db
def test_an_expired_quote_is_shown_as_expired_and_accepting_it_is_neither_offered_nor_allowed() -> None:
    app = quoted()
    last_day = datetime(2026, 12, 23, 23, 59, tzinfo=IST)
    next_day = datetime(2026, 12, 24, 0, 0, tzinfo=IST)

    status = {moment: selectors.quote_status(app, now=moment) for moment in (last_day, next_day)}
    offered = {
        moment: "accept_quote" in services.available_actions(app, Actor.patient(), now=moment)
        for moment in (last_day, next_day)
    }

    assert status == {last_day: "live", next_day: "expired"}
    assert offered == {last_day: True, next_day: False}
    with pytest.raises(Conflict, match="expired on 2026-12-23"):
        services.quote_accept(application=app, actor=Actor.patient(), now=next_day)


@pytest.mark.django_db
def test_the_quote_status_follows_the_quote() -> None:
    none_yet = advance(submit(now=START), "medically_reviewed", now=START)
    accepted = scheduled()
    quote_open = quoted()
    withdrawn = services.application_withdraw(
        application=quote_open, actor=coordinator(quote_open), reason="No", now=START
    )

    assert selectors.quote_status(none_yet, now=START) is None
    assert selectors.quote_status(accepted, now=START) == "accepted"
    # Accepted stays accepted after its last valid day.
    assert selectors.quote_status(accepted, now=START + timedelta(days=60)) == "accepted"
    assert selectors.quote_status(withdrawn, now=START) == "closed"


# ---- two sweeps at once, and what a sweep reads (PostgreSQL) ----


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_started_together_send_each_reminder_exactly_once() -> None:
    # Quotes valid until the admission date: both kinds fall due at the same instant.
    applications = [quoted(valid_until=ADMISSION) for _ in range(12)] + [scheduled() for _ in range(12)]
    now = CONSENT_DUE
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def sweep() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(reminder_sweep(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2
    assert sum(r["sent"] for r in results) == len(applications)
    assert Notification.objects.filter(kind__in=["quote_expiring", "consent_reminder"]).count() == len(applications)
    assert not Reminder.objects.filter(PENDING).exists()
    assert Reminder.objects.filter(sent_at=now).count() == len(applications)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_never_waits_for_an_application_being_changed_and_takes_its_reminder_next_time() -> None:
    app = quoted()
    locked, release = threading.Event(), threading.Event()

    def hold_the_application() -> None:
        try:
            with transaction.atomic():
                Application.objects.select_for_update().get(pk=app.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections["default"].close()

    holder = threading.Thread(target=hold_the_application)
    holder.start()
    assert locked.wait(timeout=10)
    started = time.monotonic()
    try:
        during = reminder_sweep(QUOTE_DUE)
        took = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=10)
    after = reminder_sweep(QUOTE_DUE + timedelta(minutes=1))

    assert during == {"sent": 0, "cancelled": 0}
    assert took < 2
    assert after == {"sent": 1, "cancelled": 0}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sweep_reads_pending_reminders_through_their_partial_index() -> None:
    app = scheduled()
    done = START
    # Many reminders already sent or cancelled, which the sweep must never read.
    Reminder.objects.bulk_create(
        Reminder(
            application=app,
            kind="consent_reminder",
            admission_date=ADMISSION + timedelta(days=i + 1),
            due_at=CONSENT_DUE - timedelta(minutes=i),
            created_at=done,
            sent_at=done if i % 2 else None,
            cancelled_at=None if i % 2 else done,
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_reminder")

    plan = Reminder.objects.filter(PENDING, due_at__lte=CONSENT_DUE).order_by("due_at")[:200].explain()

    assert "pending_reminders_by_due" in plan
