"""The web pages in a real browser: Debian's Chromium, driven by Playwright, against the live server.

The live server runs the app in its own thread; `transaction=True` lets that thread see the rows a
test creates, and the browser logs in through the real forms, CSRF token and session cookie included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from offices.models import Membership
from tests.workflow.conftest import submit
from workflow.models import Application, TransitionLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUEUE = "/admin/workflow/application/"


@pytest.fixture
def page(chromium: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh context per test: no cookie or session carries over from another test."""
    context = chromium.new_context(base_url=live_server.url)
    # A missing element fails within seconds, not after Playwright's default 30.
    context.set_default_timeout(5_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def log_in(page: Page, user: User) -> None:
    """Through the admin's login form, with the persona's password (see make_staff)."""
    page.goto(f"/admin/login/?next={QUEUE}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", f"pw-{user.username}")
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(f"{QUEUE}$"))


def open_workflow_page(page: Page, app: Application) -> None:
    """From the queue, as a person clicks: the application, then its "Run a transition" button."""
    page.click(f"#result_list a:text-is('{app.reference}')")
    page.click(".object-tools a:text-is('Run a transition')")
    expect(page.locator("h1")).to_have_text(f"Run a transition: {app.reference}")


def state_shown(page: Page) -> Locator:
    return page.locator(".form-row", has=page.locator("label:text-is('State')")).locator("strong")


def test_the_api_docs_render_with_every_request_to_the_servers_own_origin(page: Page, live_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Clinic application workflow API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/applications/").first).to_be_visible()
    assert any("/api/schema/" in url for url in requested)
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in requested)
    assert [url for url in requested if origin(url) != origin(live_server.url)] == []


def test_a_coordinator_sees_only_their_offices_queue_and_is_not_offered_the_physicians_transitions(
    page: Page, delhi_coordinator: User
) -> None:
    delhi_app = submit(country="IN", full_name="Priya Sharma")
    europe_app = submit(country="DE", full_name="Anna Becker")
    assert (delhi_app.office.code, europe_app.office.code) == ("delhi", "europe")

    log_in(page, delhi_coordinator)
    expect(page.locator("#result_list th.field-reference")).to_have_text([delhi_app.reference])
    open_workflow_page(page, delhi_app)

    expect(state_shown(page)).to_have_text("Received")
    expect(page.locator("input[name=transition][value=withdraw]")).to_have_count(1)
    expect(page.locator("input[name=transition][value=approve_review]")).to_have_count(0)
    expect(page.locator("input[name=transition][value=decline]")).to_have_count(0)
    expect(page.locator("p.help", has_text="not open to you now")).to_contain_text("approve review, decline")


def test_a_physician_approves_the_review_through_the_form_and_the_history_names_them(
    page: Page, delhi_physician: User
) -> None:
    app = submit(country="IN")

    log_in(page, delhi_physician)
    open_workflow_page(page, app)
    page.fill("textarea[name=approve_review-review_notes]", "Eligible for the standard protocol.")
    page.click("input[type=submit][value='Approve review']")

    expect(page.locator(".messagelist .success")).to_have_text("Approve review: done.")
    expect(state_shown(page)).to_have_text("Medically reviewed")
    log = TransitionLog.objects.get(application=app, action="approve_review")
    assert (log.to_state, log.actor) == ("medically_reviewed", delhi_physician)


def test_a_forbidden_transition_shows_an_error_on_the_page_and_changes_nothing(
    page: Page, delhi_physician: User
) -> None:
    app = submit(country="IN")
    log_in(page, delhi_physician)
    open_workflow_page(page, app)
    history = TransitionLog.objects.filter(application=app).count()
    # Made a coordinator while the page with the physician's form is open: the form is now forbidden.
    Membership.objects.filter(user=delhi_physician).update(role=Membership.Role.COORDINATOR)

    page.fill("textarea[name=approve_review-review_notes]", "Eligible for the standard protocol.")
    page.click("input[type=submit][value='Approve review']")

    expect(page.locator(".messagelist .error")).to_have_text("Your role does not allow approve review in this office.")
    expect(state_shown(page)).to_have_text("Received")
    app.refresh_from_db()
    assert app.state == "received"
    assert TransitionLog.objects.filter(application=app).count() == history
