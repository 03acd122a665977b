"""The queue and the sign-in page in a real browser: accessible, photographed, refreshing with its filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.staff.conftest import Tab, check_accessible, photograph
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sign_in_page_is_accessible_and_shows_its_errors_by_field(tab: Tab, delhi_coordinator) -> None:
    page = tab.page
    page.goto("/staff/login/")
    check_accessible(page, "sign-in")
    page.get_by_label("Username").fill("asha")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page).to_have_title("Error: Sign in – Clinic staff")
    check_accessible(page, "sign-in with errors")
    photograph(page, "sign-in-error")


def test_the_queue_is_accessible_photographed_and_filters_by_its_form(tab: Tab, delhi_coordinator) -> None:
    now = timezone.now()
    overdue = submit(full_name="Rajesh Thapa", now=now - timedelta(days=6))
    submit(full_name="Ananya Iyer", now=now)
    quoted = advance(submit(full_name="Omar Khan", now=now - timedelta(days=1)), "quoted")
    services.application_assign(application=quoted, actor=Actor.staff(delhi_coordinator), user_id=delhi_coordinator.pk)
    submit(full_name="Katharina Vogel", country="DE", office="europe")

    page = tab.sign_in(delhi_coordinator)
    expect(page).to_have_url("/staff/".join([page.url.split("/staff/")[0], ""]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Application queue")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)  # never Europe's
    expect(rows.first).to_contain_text(overdue.reference)
    expect(rows.first).to_contain_text("Overdue")
    check_accessible(page, "queue")
    photograph(page, "queue")

    page.get_by_label("Reply promise").select_option("breached")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    assert "sla=breached" in page.url
    expect(page.get_by_label("Reply promise")).to_have_value("breached")

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Search").fill("omar")
    page.get_by_label("Search").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Quoted")
    expect(rows.first).to_contain_text("No reply owed")


def test_the_queue_refreshes_itself_and_keeps_its_filters(tab: Tab, delhi_coordinator) -> None:
    submit(full_name="Rajesh Thapa")
    page = tab.sign_in(delhi_coordinator)
    # A minute is long for a test: the request the minute trigger makes, made now.
    page.goto("/staff/?q=thapa")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    submit(full_name="Sunita Thapa")
    page.evaluate("htmx.ajax('GET', window.location.href, {target: '#queue-results', swap: 'outerHTML'})")
    expect(rows).to_have_count(2)
    assert page.url.endswith("/staff/?q=thapa")
    expect(page.get_by_label("Search")).to_have_value("thapa")
    expect(page.locator("#queue-results")).to_have_attribute("hx-trigger", "every 60s")


def test_the_page_for_a_user_without_an_office_is_accessible(tab: Tab, outsider) -> None:
    page = tab.page  # signed in by hand: the helper expects the queue
    page.goto("/staff/login/")
    page.get_by_label("Username").fill("outsider")
    page.get_by_label("Password").fill("pw-outsider")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are not a member of any office")
    check_accessible(page, "no office")
