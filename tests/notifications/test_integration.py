"""The whole pipe, for real (SPEC §6): services commit rows, the relay publishes them to Redis after
commit, a real Celery worker process claims and sends them to a real SMTP server. Every email of the
catalogue arrives exactly once, to the right person, from the office, in the reader's language."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
import redis
from django.conf import settings
from django.db.models import QuerySet

from notifications import events
from notifications.models import Notification
from tests.notifications.conftest import (
    Mailbox,
    Worker,
    deliveries_to,
    html_part,
    new_queue,
    opening_in_the_past,
    smtp_server,
    text_part,
    wait_until,
)
from tests.workflow.conftest import submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application
from workflow.services.sla import sla_sweep

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("leave_the_seed_data_behind", "seeded"),
]

GERMAN_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
GRACE_SECONDS = 0.5
ITEMS = [{"description": "Protocol", "amount": "4500.00"}]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def worker(mailbox: Mailbox, django_db_setup: None, worker_logs) -> Iterator[Worker]:
    """One worker for the module, on the shared Redis but reading a queue of its own."""
    queue = new_queue()
    with deliveries_to(queue):
        process = Worker(
            queue=queue, smtp_port=mailbox.port, broker_url=settings.CELERY_BROKER_URL, log_dir=worker_logs
        )
        try:
            yield process.start()
        finally:
            process.stop()
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
                queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
            )


@pytest.fixture
def box(worker: Worker, mailbox: Mailbox) -> Mailbox:
    mailbox.reset()
    return mailbox


def staff_url(application: Application) -> str:
    return f"{settings.SITE_URL}/admin/workflow/application/{application.pk}/change/"


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def all_sent(rows: QuerySet[Notification]) -> bool:
    return not rows.exclude(status="sent").exists()


def delivered_once(box: Mailbox, rows: QuerySet[Notification], worker: Worker) -> dict[str, EmailMessage]:
    """Wait for every row to arrive, then check each arrived once, as written. Kind -> its emails."""
    box.wait_for(rows.count(), timeout=30)
    wait_until(lambda: all_sent(rows), timeout=10, what=f"every row marked sent\n{worker.log()}")
    expected = list(rows)
    time.sleep(GRACE_SECONDS)  # a duplicate would come right behind its original
    received = box.received()
    counts = Counter(message["Message-ID"] for message in received)
    assert sorted(counts) == sorted(row.message_id for row in expected)
    assert set(counts.values()) == {1}, counts
    by_id = {message["Message-ID"]: message for message in received}
    for row in expected:
        message = by_id[row.message_id]
        assert (message["To"], message["From"], message["Reply-To"]) == (
            row.recipient_email,
            row.from_email,
            row.reply_to,
        )
        assert message["Subject"] == row.subject
        assert normalised(text_part(message)) == normalised(row.body_text)
        assert normalised(html_part(message)) == normalised(row.body_html)
        assert row.attempts == 1
    return {f"{row.kind}:{row.recipient_email}": by_id[row.message_id] for row in expected}


def subjects(messages: Iterable[EmailMessage]) -> list[str]:
    return [str(message["Subject"]) for message in messages]


def test_an_application_walked_from_intake_to_withdrawal_sends_each_email_once(
    box, worker, delhi_coordinator, delhi_physician, delhi_manager
):
    start = opening_in_the_past("delhi")
    application = submit(now=start)
    physician, coordinator = Actor.staff(delhi_physician), Actor.staff(delhi_coordinator)
    hour = timedelta(hours=1)
    services.application_approve_review(
        application=application, actor=physician, review_notes="Eligible", now=start + hour
    )
    services.application_send_quote(application=application, actor=coordinator, items=ITEMS, now=start + 2 * hour)
    services.application_revise_quote(
        application=application,
        actor=coordinator,
        items=[{"description": "Protocol, revised", "amount": "4200.00"}],
        now=start + 3 * hour,
    )
    body = "Bring your labs & scans <PDF is fine>."
    services.message_post(application=application, actor=coordinator, kind="reply", body=body, now=start + 4 * hour)
    services.application_withdraw(
        application=application, actor=coordinator, reason="Changed plans", now=start + 5 * hour
    )

    rows = Notification.objects.filter(application=application)
    emails = delivered_once(box, rows, worker)
    patient = "priya@example.org"
    assert set(emails) == {
        f"intake_acknowledgement:{patient}",
        f"new_application:{delhi_coordinator.email}",
        f"review_requested:{delhi_physician.email}",
        f"review_approved:{patient}",
        f"quote_sent:{patient}",
        f"quote_revised:{patient}",
        f"outbound_message:{patient}",
        f"withdrawn:{patient}",
    }
    assert delhi_manager.email not in {str(m["To"]) for m in box.received()}
    for message in box.received():
        assert message["From"] == "Delhi clinic office <delhi@clinic.example>"
        assert application.reference in message["Subject"]

    ack = emails[f"intake_acknowledgement:{patient}"]
    reply_by = events.local_time(application, application.obligations.order_by("pk").first().due_at, "en")
    assert reply_by.endswith("(Asia/Kolkata)")
    assert reply_by in text_part(ack)
    for kind in ("new_application", "review_requested"):
        staff_email = next(m for key, m in emails.items() if key.startswith(kind))
        assert staff_url(application) in text_part(staff_email)
        assert f'href="{staff_url(application)}"' in html_part(staff_email)
    assert "Protocol, revised: 4200.00 INR" in text_part(emails[f"quote_revised:{patient}"])
    reply = emails[f"outbound_message:{patient}"]
    assert body in text_part(reply)
    assert "Bring your labs &amp; scans &lt;PDF is fine&gt;." in html_part(reply)


def test_a_german_patient_declined_by_the_europe_office_gets_german_emails_once(
    box, worker, europe_coordinator, europe_physician
):
    start = opening_in_the_past("europe")
    application = submit(
        now=start,
        office="europe",
        country="DE",
        preferred_language="de",
        full_name="Hans Müller",
        email="hans@example.de",
    )
    services.application_decline(
        application=application,
        actor=Actor.staff(europe_physician),
        reason="Nicht geeignet",
        now=start + timedelta(hours=1),
    )
    emails = delivered_once(box, Notification.objects.filter(application=application), worker)
    ack, declined = emails["intake_acknowledgement:hans@example.de"], emails["declined:hans@example.de"]
    assert ack["Subject"] == f"Wir haben Ihren Antrag {application.reference} erhalten"
    assert declined["Subject"] == f"Zu Ihrem Antrag {application.reference}"
    assert "Guten Tag Hans Müller," in text_part(ack)
    assert "Nicht geeignet" in text_part(declined)
    assert any(day in text_part(ack) for day in GERMAN_DAYS)
    assert "(Europe/Berlin)" in text_part(ack)
    for message in emails.values():
        assert message["From"] == "Europe clinic office <europe@clinic.example>"
    staff = emails[f"new_application:{europe_coordinator.email}"]
    assert staff["Subject"] == f"New application {application.reference}"
    assert staff_url(application) in text_part(staff)
    assert f"review_requested:{europe_physician.email}" in emails


def test_sla_warning_and_breach_reach_the_coordinator_and_the_manager_once(
    box, worker, delhi_coordinator, delhi_manager
):
    application = submit(now=opening_in_the_past("delhi"))
    obligation = application.obligations.get()
    calendar = application.office.calendar()
    warn_at, breach_at = calendar.next_opening(obligation.warn_at), calendar.next_opening(obligation.due_at)
    assert calendar.is_open(warn_at) and warn_at < obligation.due_at and calendar.is_open(breach_at)

    assert sla_sweep(warn_at) == {"warned": 1, "breached": 0}
    assert sla_sweep(breach_at) == {"warned": 0, "breached": 1}
    # Raised inside office hours: nothing held.
    assert Notification.objects.get(kind="sla_warning").not_before == warn_at
    assert Notification.objects.get(kind="sla_breach").not_before == breach_at

    emails = delivered_once(box, Notification.objects.filter(application=application), worker)
    warning = emails[f"sla_warning:{delhi_coordinator.email}"]
    breach = emails[f"sla_breach:{delhi_manager.email}"]
    assert warning["Subject"] == f"Reply due soon: {application.reference}"
    assert breach["Subject"] == f"Reply promise breached: {application.reference}"
    for message in (warning, breach):
        assert staff_url(application) in text_part(message)
        assert "(Asia/Kolkata)" in text_part(message)
    assert set(emails) == {
        "intake_acknowledgement:priya@example.org",
        f"new_application:{delhi_coordinator.email}",
        f"sla_warning:{delhi_coordinator.email}",
        f"sla_breach:{delhi_manager.email}",
    }
