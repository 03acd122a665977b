"""The dashboard in a real browser: its chart images load under the page's Content-Security-Policy
(and their own), the page passes axe-core, and it is photographed at desktop and tablet width."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from offices.models import Office
from tests.staff.conftest import ARTIFACTS, Tab, check_accessible, photograph, with_device
from tests.staff.test_dashboard import NOW, build_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def weeks_since_the_dataset() -> int:
    """Whole weeks from the dataset's Monday to this week's in Delhi: the dataset is moved to today."""
    today = timezone.localdate(timezone.now(), Office.objects.get(code="delhi").tz)

    def monday(day: date) -> date:
        return day - timedelta(days=day.weekday())

    return (monday(today) - monday(NOW.astimezone(Office.objects.get(code="delhi").tz).date())).days // 7


def images_loaded(tab: Tab) -> list[dict[str, Any]]:
    return tab.page.evaluate(
        "[...document.querySelectorAll('main img')].map(i => ({src: i.getAttribute('src'), alt: i.alt,"
        " ok: i.complete && i.naturalWidth > 0}))"
    )


def test_a_manager_reads_the_dashboard_with_its_charts_loaded_and_no_policy_refused(
    open_tab: Any, delhi_manager: User
) -> None:
    build_dataset(weeks_later=weeks_since_the_dataset())
    tab: Tab = open_tab()
    page = tab.sign_in(with_device(delhi_manager))
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("heading", name="Delhi")).to_be_visible()
    expect(page.get_by_role("heading", name="Open work per person (managers only)")).to_be_visible()
    # Lazy images load once scrolled to: scroll each into view, then wait for all of them.
    for element in page.locator("main img").all():
        element.scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('main img')].every(i => i.complete && i.naturalWidth > 0)")
    images = images_loaded(tab)
    assert len(images) == 3
    assert all(image["ok"] and image["alt"] for image in images), images
    expect(page.locator("table[data-figures='sla'] caption")).to_contain_text("Asia/Kolkata (IST)")
    check_accessible(page, "dashboard")
    photograph(page, "dashboard")
    # Each chart opened on its own is a document under its own policy: its stylesheet applies (the
    # font comes only from there), and the policy refuses nothing (the tab records any refusal).
    chart = tab.context.new_page()
    chart.on("console", tab._console)
    for image in images:
        chart.goto(image["src"])
        font = chart.evaluate("getComputedStyle(document.querySelector('.title')).fontFamily")
        assert "system-ui" in font, image["src"]
    chart.goto(images[0]["src"])
    chart.screenshot(path=str(ARTIFACTS / "dashboard-sla-chart.png"))
    assert tab.refused == []


def test_a_coordinator_picks_a_period_and_sees_the_charts_read_only(open_tab: Any, delhi_coordinator: User) -> None:
    build_dataset(weeks_later=weeks_since_the_dataset())
    tab: Tab = open_tab()
    page = tab.sign_in(delhi_coordinator)
    page.goto("/staff/dashboard/")
    page.get_by_label("Period", exact=True).select_option(label="Last 4 weeks")
    page.get_by_role("button", name="Show figures").click()
    expect(page).to_have_url(re.compile(r"/staff/dashboard/\?.*weeks=4"))
    expect(page.locator("table[data-figures='sla'] tbody tr")).to_have_count(4)
    expect(page.locator("[data-manager-only]")).to_have_count(0)
    expect(page.locator("main form[method='post']")).to_have_count(0)
    check_accessible(page, "dashboard (coordinator)")
    assert tab.refused == []
