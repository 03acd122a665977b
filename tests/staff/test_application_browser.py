"""The application page and the review list in a real browser (Debian's Chromium, Playwright, live server).

The issue's acceptance: a coordinator finds an overdue application, replies and sees the promise kept;
a physician approves from the review list; a quote is sent; a coordinator is never offered the medical
review and is refused if the form is posted anyway; two people run the same step at once and the
second is told who acted first; another office's application is a 404 page; the reply form works
with the keyboard alone. Every page is checked with axe-core and photographed at 1280 and 768 px.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from offices.models import Membership
from tests.conftest import make_staff
from tests.staff.conftest import Tab, check_accessible, photograph
from tests.workflow.conftest import advance, submit
from workflow.models import Application, State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def application_page(page: Page, application: Application) -> None:
    page.goto(f"/staff/applications/{application.reference}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(application.reference)


def reply_promise(page: Page) -> Any:
    return page.locator("#reply-promise")


def test_a_coordinator_filters_to_overdue_opens_the_application_replies_and_the_badge_goes(
    tab: Tab, delhi_coordinator: User
) -> None:
    overdue = submit(full_name="Anita Overdue", now=timezone.now() - timedelta(days=8))
    on_track = submit(full_name="Ravi Ontrack")
    page = tab.sign_in(delhi_coordinator)

    page.get_by_label("Reply promise", exact=True).select_option("breached")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"sla=breached"))
    expect(page.get_by_role("link", name=on_track.reference)).to_have_count(0)
    page.get_by_role("link", name=overdue.reference).click()

    expect(reply_promise(page)).to_contain_text("Overdue")
    expect(reply_promise(page)).to_contain_text("IST")
    check_accessible(page, "application page")
    photograph(page, "application")
    page.get_by_label("Your reply").fill("We have your records and will call you on Monday.")
    page.get_by_role("button", name="Send the reply").click()

    expect(page.get_by_role("status").first).to_contain_text("Reply sent to the patient.")
    expect(reply_promise(page)).to_contain_text("No reply owed")
    expect(page.locator(".timeline")).to_contain_text("We have your records and will call you on Monday.")
    overdue.refresh_from_db()
    assert overdue.reply_due_at is None


def test_a_physician_approves_from_the_review_list(tab: Tab, delhi_physician: User) -> None:
    waiting = submit(full_name="Meena Waiting", now=timezone.now() - timedelta(days=1))
    submit(full_name="Second Patient")
    page = tab.sign_in(delhi_physician)

    page.get_by_role("link", name="Medical reviews").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Medical reviews")
    check_accessible(page, "review list")
    photograph(page, "reviews")
    entry = page.locator("article", has=page.get_by_role("heading", name=re.compile(waiting.reference)))
    entry.get_by_text("Approve the medical review").click()
    entry.get_by_label("Review notes").fill("Eligible: stable on hydroxychloroquine.")
    entry.get_by_role("button", name="Approve").click()

    expect(page).to_have_url(re.compile(r"/staff/reviews/$"))
    expect(page.get_by_role("status").first).to_contain_text("The medical review is approved.")
    expect(page.get_by_role("link", name=waiting.reference)).to_have_count(0)
    waiting.refresh_from_db()
    assert waiting.state == State.MEDICALLY_REVIEWED
    assert waiting.review_notes == "Eligible: stable on hydroxychloroquine."


def test_the_coordinator_sends_a_quote(tab: Tab, delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")
    page = tab.sign_in(delhi_coordinator)
    application_page(page, application)

    page.get_by_text("Send a quote", exact=True).click()
    page.get_by_label("Items").fill("Seven-day protocol | 4500.00\nHospital stay | 2100.00")
    page.get_by_role("button", name="Send the quote").click()

    expect(page.get_by_role("status").first).to_contain_text("The quote was sent to the patient.")
    expect(page.locator("#current-state")).to_have_text("Quoted")
    expect(page.locator("table.quote")).to_contain_text("6600.00 INR")
    check_accessible(page, "application page, quoted")


def test_a_form_error_is_summarised_and_keeps_what_was_typed(tab: Tab, delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")
    page = tab.sign_in(delhi_coordinator)
    application_page(page, application)

    page.get_by_text("Send a quote", exact=True).click()
    page.get_by_label("Items").fill("Seven-day protocol without an amount")
    page.get_by_role("button", name="Send the quote").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(page.get_by_label("Items")).to_have_value("Seven-day protocol without an amount")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Items")).to_be_focused()
    check_accessible(page, "application page with a form error")
    photograph(page, "application-form-error")


def test_a_coordinator_is_never_offered_the_medical_review_and_is_refused_when_posting_it(
    tab: Tab, delhi_coordinator: User
) -> None:
    application = submit()
    page = tab.sign_in(delhi_coordinator)
    application_page(page, application)
    expect(page.locator('[data-step="approve_review"]')).to_have_count(0)
    expect(page.get_by_text("Approve the medical review")).to_have_count(0)

    # Post the physician's form anyway: the reply form, pointed at approve_review, with its fields.
    page.evaluate(
        """(reference) => {
            const form = document.querySelector('[data-step="reply"] form');
            form.action = `/staff/applications/${reference}/do/approve_review/`;
            const notes = document.createElement('input');
            notes.type = 'hidden';
            notes.name = 'approve_review-review_notes';
            notes.value = 'Looks fine to me';
            form.appendChild(notes);
        }""",
        application.reference,
    )
    page.get_by_label("Your reply").fill("ignored")
    page.get_by_role("button", name="Send the reply").click()

    expect(page.get_by_role("status").first).to_contain_text("You cannot do this")
    expect(page.get_by_role("status").first).to_contain_text("Nothing was changed")
    expect(page.locator("#current-state")).to_have_text("Received")
    application.refresh_from_db()
    assert application.state == State.RECEIVED


def test_two_people_run_the_same_step_at_once_and_the_second_is_told_who_acted_first(
    open_tab: Any, delhi_physician: User
) -> None:
    application = submit()
    colleague = make_staff("dr_iyer", {"delhi": Membership.Role.PHYSICIAN})
    first, second = open_tab(), open_tab()
    pages = [first.sign_in(delhi_physician), second.sign_in(colleague)]
    for page, notes in zip(pages, ("Eligible (Rao)", "Eligible (Iyer)"), strict=True):
        application_page(page, application)
        page.get_by_text("Approve the medical review").click()
        page.get_by_label("Review notes").fill(notes)

    pages[0].get_by_role("button", name="Approve").click()
    expect(pages[0].get_by_role("status").first).to_contain_text("The medical review is approved.")
    pages[1].get_by_role("button", name="Approve").click()

    conflict = pages[1].get_by_role("status").first
    expect(conflict).to_contain_text("Someone acted first")
    expect(conflict).to_contain_text(re.compile(r"dr_rao approved the medical review at .+ IST while you were on"))
    expect(pages[1].locator("#current-state")).to_have_text("Medically reviewed")
    expect(pages[1].locator('[data-step="approve_review"]')).to_have_count(0)
    check_accessible(pages[1], "application page after a conflict")
    application.refresh_from_db()
    assert application.review_notes == "Eligible (Rao)"


def test_another_offices_application_is_a_404_page(tab: Tab, europe_coordinator: User) -> None:
    application = submit(full_name="Delhi Only")
    page = tab.sign_in(europe_coordinator)

    response = page.goto(f"/staff/applications/{application.reference}/")

    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Application not found")
    expect(page.get_by_text("Delhi Only")).to_have_count(0)
    check_accessible(page, "not found")


def test_the_reply_form_works_with_the_keyboard_alone(tab: Tab, delhi_coordinator: User) -> None:
    application = submit()
    page = tab.sign_in(delhi_coordinator)
    application_page(page, application)
    reply_box = page.locator("#id_reply-body")

    for _ in range(120):
        page.keyboard.press("Tab")
        if reply_box.evaluate("element => element === document.activeElement"):
            break
    expect(reply_box).to_be_focused()
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send the reply")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").first).to_contain_text("Reply sent to the patient.")
    expect(reply_promise(page)).to_contain_text("No reply owed")


def test_a_coordinator_is_not_shown_the_review_list_and_opening_it_says_whom_it_is_for(
    tab: Tab, delhi_coordinator: User
) -> None:
    submit()
    page = tab.sign_in(delhi_coordinator)
    expect(page.get_by_role("link", name="Medical reviews")).to_have_count(0)

    page.goto("/staff/reviews/")

    expect(page.get_by_text("This list is for physicians")).to_be_visible()
    check_accessible(page, "review list, not a physician")


def test_a_discharged_application_shows_its_schedule_quote_consent_and_aftercare(
    tab: Tab, delhi_coordinator: User
) -> None:
    application = advance(submit(), "discharged")
    page = tab.sign_in(delhi_coordinator)
    application_page(page, application)

    expect(page.get_by_role("heading", name="Treatment schedule")).to_be_visible()
    expect(page.get_by_role("heading", name="Aftercare")).to_be_visible()
    expect(page.get_by_role("link", name="Download the signed PDF")).to_be_visible()
    expect(page.locator('[data-step="record_monitoring_outcome"]')).to_have_count(1)
    check_accessible(page, "application page, discharged")
    photograph(page, "application-discharged")
