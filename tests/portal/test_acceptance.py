"""Issue 9's acceptance, end to end: a real browser, a real Celery worker, a real SMTP server.

The patient applies through the public form with a PDF and gets the acknowledgement; opens the link
taken from the email the SMTP server received; reads and accepts the quote; staff schedule the
admission; the patient follows the consent email's link, signs, and receives the signed PDF; the
application can then be admitted. A second patient withdraws from their email's link. Every email
goes through the outbox, the relay, Redis and a worker process (tests/notifications/conftest.py).
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from pypdf import PdfReader
from pytest_django.live_server_helper import LiveServer

from tests.notifications.conftest import (
    Mailbox,
    Worker,
    deliveries_to,
    new_queue,
    smtp_server,
    text_part,
    wait_until,
)
from tests.workflow.conftest import TINY_PDF, office_staff
from workflow import services
from workflow.models import Application, ConsentDocument

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

LINK = re.compile(r"(https?://\S+?/portal/open/[A-Za-z0-9_-]+/(?:\?next=\w+)?)")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def worker(mailbox: Mailbox, django_db_setup: None) -> Iterator[Worker]:
    """A worker process reading a queue of its own, sending to the test's SMTP server."""
    queue = new_queue()
    with tempfile.TemporaryDirectory(prefix="portal-worker-") as logs, deliveries_to(queue):
        process = Worker(queue=queue, smtp_port=mailbox.port, broker_url=settings.CELERY_BROKER_URL, log_dir=Path(logs))
        try:
            yield process.start()
        finally:
            process.stop()
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
                queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
            )


@pytest.fixture
def box(worker: Worker, mailbox: Mailbox, live_server: LiveServer, settings: Any) -> Mailbox:
    # The links in the emails lead to the live server the browser talks to.
    settings.SITE_URL = live_server.url
    mailbox.reset()
    return mailbox


@pytest.fixture
def page(chromium: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 375, "height": 812})
    context.set_default_timeout(15_000)
    refused: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    try:
        tab = context.new_page()
        tab.on("console", console)
        yield tab
        assert refused == []
    finally:
        context.close()


def email_to(box: Mailbox, to: str, what: str, wanted: Callable[[EmailMessage], bool]) -> EmailMessage:
    """The one email to `to` that `wanted` picks, once the worker has delivered it."""
    found = wait_until(lambda: [m for m in box.received(to) if wanted(m)], what=f"{what} to {to}")
    assert len(found) == 1, [str(m["Subject"]) for m in found]
    return found[0]


def has_pdf(message: EmailMessage) -> bool:
    return any(part.get_content_type() == "application/pdf" for part in message.iter_attachments())


def lands_on(landing: str) -> Callable[[EmailMessage], bool]:
    return lambda message: f"?next={landing}" in text_part(message)


def acknowledgement(message: EmailMessage) -> bool:
    return "We received your application" in str(message["Subject"])


def link_in(message: EmailMessage) -> str:
    match = LINK.search(text_part(message))
    assert match is not None, text_part(message)
    return match[1]


def apply(page: Page, *, name: str, email: str, country: str, record: Path) -> None:
    page.goto("/apply/")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    birth = page.get_by_role("group", name="Date of birth")
    birth.get_by_label("Day").fill("12")
    birth.get_by_label("Month").fill("4")
    birth.get_by_label("Year").fill("1985")
    page.get_by_label("Female").check()
    page.get_by_label("Country where you live").select_option(country)
    page.get_by_label("Your condition").fill("Systemic lupus erythematosus")
    page.get_by_label("Medical records (optional)").set_input_files(str(record))
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send my application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Application received")


def test_a_patient_applies_accepts_signs_and_is_admitted_and_another_withdraws_all_from_their_emails(
    box: Mailbox, page: Page, tmp_path: Path
) -> None:
    record = tmp_path / "lab-results.pdf"
    record.write_bytes(TINY_PDF)

    # 1. The public form, with a PDF record; the acknowledgement arrives with a private link.
    apply(page, name="Priya Sharma", email="priya@example.org", country="IN", record=record)
    app = Application.objects.get(email="priya@example.org")
    expect(page.locator(".panel__reference")).to_have_text(app.reference)
    assert app.documents.count() == 1
    first_link = link_in(email_to(box, "priya@example.org", "the acknowledgement", acknowledgement))
    assert first_link.startswith(f"{settings.SITE_URL}/portal/open/")

    # A tampered link opens nothing.
    page.goto(first_link[:-3] + ("AAA/" if not first_link.endswith("AAA/") else "BBB/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")

    # 2. Review and quote by staff; the quote email's link lands on the quote, which the patient accepts.
    staff = office_staff(app.office)
    services.application_approve_review(application=app, actor=staff["physician"], review_notes="Eligible")
    services.application_send_quote(
        application=app, actor=staff["coordinator"], items=[{"description": "Seven-day protocol", "amount": "4500"}]
    )
    quote_link = link_in(email_to(box, "priya@example.org", "the quote", lands_on("quote")))
    assert quote_link.endswith("?next=quote")
    page.goto(quote_link)
    assert page.url == f"{settings.SITE_URL}/portal/quote/"
    expect(page.get_by_role("table")).to_contain_text("₹4,500.00")
    page.get_by_role("button", name="Accept this quote").click()
    expect(page.locator(".banner").first).to_contain_text("you have accepted the quote")

    # 3. Staff schedule the admission for today: the consent form's email, with its link.
    today = timezone.localdate(timezone.now(), app.office.tz)
    services.admission_schedule(application=app, actor=staff["coordinator"], admission_date=today)
    page.goto(link_in(email_to(box, "priya@example.org", "the consent form", lands_on("consent"))))
    assert page.url == f"{settings.SITE_URL}/portal/consent/"
    document = ConsentDocument.objects.get(version=1, language="en")
    expect(page.locator("code.hash")).to_have_text(document.sha256)
    page.get_by_label("I have read and understood the consent form").check()
    page.get_by_label("Your full name").fill("Priya Sharma")
    page.get_by_role("button", name="Sign the consent form").click()
    expect(page.locator(".banner").first).to_contain_text("you have signed the consent form")

    # 4. The signed PDF arrives: what was signed, its version and hash, and who signed.
    signed = email_to(box, "priya@example.org", "the signed consent", has_pdf)
    pdf = next(part for part in signed.iter_attachments() if part.get_content_type() == "application/pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_content())).pages).split())
    assert "Priya Sharma" in text
    assert document.sha256 in text.replace(" ", "")
    assert "Purpose. I have been told that the treatment" in text

    # 5. The application can now be admitted.
    admitted = services.application_admit(application=app, actor=staff["coordinator"])
    assert admitted.state == "admitted"

    # 6. A second patient withdraws from the link in their acknowledgement.
    page.context.clear_cookies()
    apply(page, name="Anna Becker", email="anna@example.org", country="DE", record=record)
    other = Application.objects.get(email="anna@example.org")
    page.goto(link_in(email_to(box, "anna@example.org", "the acknowledgement", acknowledgement)))
    page.goto("/portal/withdraw/")
    page.get_by_label("Why do you want to withdraw?").fill("I found a treatment nearer home.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Yes, withdraw my application").click()
    expect(page.locator(".tag")).to_have_text("Withdrawn")
    other.refresh_from_db()
    assert other.state == "withdrawn"
    # Anna's session reads Anna's application only, whatever Priya's reference or id is put in a URL.
    for url in (f"/portal/?reference={app.reference}", f"/portal/{app.pk}/", f"/portal/quote/?id={app.pk}"):
        page.goto(url)
        expect(page.locator("body")).not_to_contain_text(app.reference)
        expect(page.locator("body")).not_to_contain_text("Priya Sharma")
    app.refresh_from_db()
    assert app.state == "admitted"
