"""What the staff pages' tests share: signing in (test client and browser), axe-core, screenshots.

Personas come from tests/conftest.py (asha: Delhi coordinator, dr_rao: Delhi physician, meera: Delhi
manager, jonas: Europe coordinator, an outsider with no office); their password is `pw-<username>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from tests.conftest import confirmed_totp, current_code

ARTIFACTS = Path(settings.BASE_DIR) / ".test-artifacts" / "staff"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
TABLET: ViewportSize = {"width": 768, "height": 1024}
AXE = Axe()


def password_of(user: User) -> str:
    return f"pw-{user.username}"


class Tab:
    """A browser tab that records what the Content-Security-Policy refused and any page error."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page = context.new_page()
        self.refused: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.refused.append(message.text)

    def sign_in(self, user: User) -> Page:
        """Through the staff login form, with the second factor's code when the user has a device."""
        page = self.page
        page.goto("/staff/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password_of(user))
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            page.get_by_label("Authentication code").fill(current_code(device))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page


@pytest.fixture
def open_tab(chromium: Browser, live_server: LiveServer) -> Iterator[object]:
    """A factory of tabs, each in its own browser context (its own cookies: its own person)."""
    contexts: list[Tab] = []

    def new_tab(viewport: ViewportSize = DESKTOP) -> Tab:
        context = chromium.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(10_000)
        tab = Tab(context)
        contexts.append(tab)
        return tab

    try:
        yield new_tab
        for tab in contexts:
            assert tab.refused == [], "a staff page broke its Content-Security-Policy"
    finally:
        for tab in contexts:
            tab.context.close()


@pytest.fixture
def tab(open_tab: object) -> Tab:
    return open_tab()  # type: ignore[operator]


def with_device(user: User) -> User:
    """Give a manager (for whom the second factor is mandatory) a confirmed device before signing in."""
    confirmed_totp(user)
    return user


def check_accessible(page: Page, name: str) -> None:
    """No serious or critical axe-core violation; one main, an h1 first, no skipped heading level."""
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert serious == [], name
    expect(page.locator("main")).to_have_count(1)
    headings = page.evaluate(
        "[...document.querySelectorAll('h1,h2,h3,h4')].filter(h => !h.closest('.error-summary'))"
        ".map(h => Number(h.tagName[1]))"
    )
    assert headings[:1] == [1], f"{name}: the first heading is not an h1"
    assert all(b - a <= 1 for a, b in zip(headings, headings[1:], strict=False)), f"{name}: headings skip a level"


def photograph(page: Page, name: str) -> list[Path]:
    """Full-page screenshots at desktop (1280 px) and tablet (768 px) width, kept as test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, viewport in (("1280", DESKTOP), ("768", TABLET)):
        page.set_viewport_size(viewport)
        path = ARTIFACTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(DESKTOP)
    return paths
