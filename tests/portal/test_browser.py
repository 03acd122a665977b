"""The patient's pages in a real browser: Debian's Chromium, driven by Playwright, against the live server.

A patient applies with a PDF, accepts a quote, signs the consent form, withdraws; every page is
checked with axe-core (no serious or critical violation), must fit a 375 px wide phone, and is
photographed at phone and desktop width into `.test-artifacts/portal/` for people to look at.
The Content-Security-Policy is in force throughout: any violation the browser reports fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from tests.workflow.conftest import TINY_PDF, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ConsentSignature, Document
from workflow.services.portal import portal_link_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(settings.BASE_DIR) / ".test-artifacts" / "portal"
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
AXE = Axe()


class Tab:
    """A browser tab that records what the Content-Security-Policy refused."""

    def __init__(self, context: BrowserContext) -> None:
        self.page = context.new_page()
        self.refused: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.refused.append(message.text)


@pytest.fixture
def tab(chromium: Browser, live_server: LiveServer) -> Iterator[Tab]:
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    try:
        tab = Tab(context)
        yield tab
        assert tab.refused == [], "the page broke its Content-Security-Policy"
    finally:
        context.close()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    path = tmp_path / "lab-results.pdf"
    path.write_bytes(TINY_PDF)
    return path


def open_link(page: Page, application: Application, landing: str = "status") -> None:
    token = portal_link_issue(application=application, now=timezone.now())
    page.goto(f"/portal/open/{token}/?next={landing}")
    assert token not in page.url


def quoted(**patient: Any) -> Application:
    app = submit(**patient)
    staff = office_staff(app.office)
    services.application_approve_review(application=app, actor=staff["physician"], review_notes="Eligible")
    return services.application_send_quote(
        application=app,
        actor=staff["coordinator"],
        items=[
            {"description": "Seven-day protocol", "amount": "4000.00"},
            {"description": "Room and board", "amount": "500.50"},
        ],
        notes="Airport pick-up included.",
    )


def fill_application(page: Page, record: Path | None) -> None:
    """By field id, so that it fills the German form too; the labels are checked in the English test."""
    for field, value in {
        "full_name": "Priya Sharma",
        "email": "priya@example.org",
        "phone": "+91 98100 00000",
        "date_of_birth_day": "12",
        "date_of_birth_month": "4",
        "date_of_birth_year": "1985",
        "condition": "Systemic lupus erythematosus",
        "current_medications": "Hydroxychloroquine 200 mg",
    }.items():
        page.locator(f"#id_{field}").fill(value)
    page.locator("#id_sex_0").check()
    page.locator("#id_country").select_option("IN")
    if record is not None:
        page.locator("#id_documents").set_input_files(str(record))
    page.locator("#id_privacy_consent").check()


def test_a_patient_applies_through_the_form_with_a_pdf_and_sees_the_confirmation(tab: Tab, record: Path) -> None:
    page = tab.page
    page.goto("/apply/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply for stem-cell treatment")
    # Every field is reachable by its label, as a screen reader announces it.
    for label in ("Full name", "Email address", "Phone number (optional)", "Country where you live", "Your condition"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    birth = page.get_by_role("group", name="Date of birth")
    for part in ("Day", "Month", "Year"):
        expect(birth.get_by_label(part)).to_be_visible()
    expect(page.get_by_label("Let us choose for you")).to_be_checked()

    # A first try without a name: the error summary takes the focus and links to the field.
    fill_application(page, record)
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Send my application").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There is a problem")
    expect(page.get_by_label("Email address")).to_have_value("priya@example.org")
    expect(page.locator(".hint--again")).to_contain_text("please choose them again")
    summary.get_by_role("link", name="Enter your full name").click()
    assert page.url.endswith("#id_full_name")

    page.get_by_label("Full name").fill("Priya Sharma")
    page.get_by_label("Medical records (optional)").set_input_files(str(record))
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send my application").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Application received")
    app = Application.objects.get()
    expect(page.locator(".panel__reference")).to_have_text(app.reference)
    expect(page.locator("main")).to_contain_text("India Standard Time (Asia/Kolkata)")
    expect(page.locator("main")).to_contain_text("a private link to your application")
    assert [d.original_name for d in Document.objects.filter(application=app)] == ["lab-results.pdf"]
    assert (app.office.code, app.full_name) == ("delhi", "Priya Sharma")


def test_a_patient_with_a_link_reads_the_quote_and_accepts_it(tab: Tab) -> None:
    app = quoted()
    page = tab.page

    open_link(page, app, "quote")

    assert page.url.endswith("/portal/quote/")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Seven-day protocol")
    expect(table).to_contain_text("₹4,500.50")
    page.get_by_role("button", name="Accept this quote").click()
    expect(page.locator(".banner").first).to_contain_text("you have accepted the quote")
    expect(page.get_by_role("button", name="Accept this quote")).to_have_count(0)
    assert app.quotes.get().accepted_at is not None


def test_a_patient_signs_the_consent_form(tab: Tab) -> None:
    app = quoted()
    services.quote_accept(application=app, actor=Actor.patient())
    page = tab.page

    open_link(page, app, "consent")

    expect(page.locator("article.document")).to_contain_text("Informed consent to stem-cell treatment")
    expect(page.locator("code.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.get_by_label("I have read and understood the consent form").check()
    page.get_by_label("Your full name").fill("Priya Sharma")
    page.get_by_role("button", name="Sign the consent form").click()
    expect(page.locator(".banner").first).to_contain_text("you have signed the consent form")
    signature = ConsentSignature.objects.get(application=app)
    assert (signature.signer_name, signature.method, signature.ip_address) == ("Priya Sharma", "portal", "127.0.0.1")
    assert "Chrome" in signature.user_agent


def test_a_second_patient_withdraws_after_a_confirmation(tab: Tab) -> None:
    quoted(full_name="Priya Sharma")
    app = submit(full_name="Anna Becker", email="anna@example.org", country="DE")
    page = tab.page

    open_link(page, app, "withdraw")
    page.get_by_label("Why do you want to withdraw?").fill("I found a treatment nearer home.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Are you sure you want to withdraw?")
    app.refresh_from_db()
    assert app.state == "received"
    page.get_by_role("button", name="Yes, withdraw my application").click()

    expect(page.locator(".banner").first).to_contain_text("You have withdrawn your application")
    expect(page.locator(".tag")).to_have_text("Withdrawn")
    app.refresh_from_db()
    assert app.state == "withdrawn"


# ---- every page: axe-core, 375 px, screenshots ----


def check(page: Page, name: str, language: str) -> None:
    """No serious or critical axe-core violation; no sideways scrolling at 375 px; a picture at both widths."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PHONE)
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert serious == [], f"{name} ({language})"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} ({language}) is {overflow} px wider than a 375 px phone"
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("main")).to_have_count(1)
    expect(page.locator("a.skip-link")).to_have_attribute("href", "#main")
    # In order from the h1 on; the error summary's own h2 sits above the h1, as in GOV.UK's pattern.
    headings = page.evaluate(
        "[...document.querySelectorAll('h1,h2,h3,h4')].filter(h => !h.closest('.error-summary'))"
        ".map(h => Number(h.tagName[1]))"
    )
    assert headings[:1] == [1], f"{name}: the first heading is not an h1"
    assert all(b - a <= 1 for a, b in zip(headings, headings[1:], strict=False)), f"{name}: headings skip a level"
    page.screenshot(path=str(ARTIFACTS / f"{name}-{language}-375.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{language}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_page_is_accessible_fits_a_phone_and_is_photographed(tab: Tab, record: Path, language: str) -> None:
    page = tab.page
    switch = "Deutsch" if language == "de" else "English"

    # The public pages.
    page.goto("/apply/")
    if language == "de":
        page.get_by_role("button", name=switch).click()
    check(page, "apply", language)
    page.locator("button.button").click()
    expect(page.locator(".error-summary")).to_be_focused()
    check(page, "apply-errors", language)
    page.goto("/portal/open/this-link-does-not-exist/")
    check(page, "link-invalid", language)
    page.locator("#id_email").fill("nobody@example.org")
    page.locator("main button.button").click()
    check(page, "link-sent", language)

    # The portal of a patient with a conversation and an open quote.
    app = quoted(preferred_language=language)
    coordinator = office_staff(app.office)["coordinator"]
    services.message_post(application=app, actor=coordinator, kind="reply", body="Your quote is ready.\n\nBest wishes")
    services.message_receive(application=app, actor=Actor.patient(), body="Thank you, I will read it tonight.")
    open_link(page, app)
    check(page, "status", language)
    page.goto("/portal/messages/")
    check(page, "messages", language)
    page.goto("/portal/quote/")
    check(page, "quote", language)
    page.goto("/portal/consent/")
    check(page, "consent", language)
    page.locator("main button.button").click()
    expect(page.locator(".error-summary")).to_be_focused()
    check(page, "consent-errors", language)
    page.goto("/portal/withdraw/")
    check(page, "withdraw", language)
    page.locator("#id_reason").fill("I found a treatment nearer home.")
    page.locator("main button.button").click()
    check(page, "withdraw-confirm", language)

    # The same patient once the quote has run out (set directly: the service refuses past dates).
    app.quotes.update(valid_until=timezone.localdate() - timedelta(days=1))
    page.goto("/portal/quote/")
    expect(page.locator(".warning")).to_be_visible()
    check(page, "quote-expired", language)

    # After the quote is accepted and the consent signed.
    app.quotes.update(valid_until=timezone.localdate() + timedelta(days=30))
    services.quote_accept(application=app, actor=coordinator)
    services.consent_sign_portal(application=app, signer_name="Priya Sharma", ip_address="127.0.0.1", user_agent="x")
    page.goto("/portal/consent/")
    check(page, "consent-signed", language)

    page.locator(".portal-nav__leave button").click()
    check(page, "left", language)
    page.goto("/portal/link/")
    check(page, "link-request", language)

    # The confirmation after applying.
    page.goto("/apply/")
    fill_application(page, record)
    page.locator("form button.button").click()
    expect(page.locator(".panel")).to_be_visible()
    check(page, "apply-received", language)


def test_the_admin_and_the_api_docs_work_under_the_policy_without_a_violation(tab: Tab) -> None:
    """The Content-Security-Policy covers the whole site; the staff's pages must not trip over it."""
    app = quoted()
    coordinator = office_staff(app.office)["coordinator"]
    assert coordinator.user is not None
    coordinator.user.set_password("pw-portal-test")
    coordinator.user.save()
    page = tab.page
    page.set_viewport_size(DESKTOP)

    page.goto("/admin/login/?next=/admin/workflow/application/")
    page.fill("#id_username", coordinator.user.username)
    page.fill("#id_password", "pw-portal-test")
    page.click("#login-form input[type=submit]")
    page.click(f"#result_list a:text-is('{app.reference}')")
    expect(page.locator("h2", has_text="Quotes").first).to_be_visible()
    page.click(".object-tools a:text-is('Run a transition')")
    expect(page.locator("h1")).to_have_text(f"Run a transition: {app.reference}")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Clinic application workflow API")
    page.locator(".opblock-summary-path", has_text="/api/v1/offices/").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
