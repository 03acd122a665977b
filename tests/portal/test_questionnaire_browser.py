"""The follow-up questionnaire in Chromium: answered page by page, checked with axe-core, photographed at 375 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.portal.test_browser import Tab, check, open_link, tab  # noqa: F401 - `tab` is a fixture
from tests.workflow.conftest import advance, submit
from workflow.models import Application, QuestionnaireAnswer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def one_month_after_discharge(language: str) -> Application:
    """Discharged 30 days ago, so that the 1-month review's window is open now (in real time: the browser's clock)."""
    with time_machine.travel(timezone.now() - timedelta(days=30), tick=False):
        return advance(submit(preferred_language=language), "in_follow_up")


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_patient_answers_the_questionnaire_page_by_page(tab: Tab, language: str) -> None:  # noqa: F811
    app = one_month_after_discharge(language)
    page = tab.page

    open_link(page, app, "questionnaire")
    assert page.url.endswith("/portal/questionnaire/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    check(page, "questionnaire-start", language)
    page.locator("main a.button").click()

    # A question left unanswered: the error summary takes the focus and links to the first radio.
    page.locator("main button.button").click()
    expect(page.locator(".error-summary")).to_be_focused()
    check(page, "questionnaire-error", language)
    page.locator(".error-summary a").click()
    assert page.url.endswith("#id_overall_change_0")
    if language == "en":
        expect(
            page.get_by_role("group", name="Compared with before your treatment, how are you overall now?")
        ).to_be_visible()
        page.get_by_label("Much better", exact=True).check()
    else:
        page.locator("#id_overall_change_1").check()
    page.locator("main button.button").click()

    check(page, "questionnaire-scale", language)
    page.locator("#id_fatigue_3").check()
    page.locator("main button.button").click()
    page.locator("#id_joint_pain_4").check()
    page.locator("main button.button").click()
    page.locator("#id_flares").fill("1")
    check(page, "questionnaire-number", language)
    page.locator("main button.button").click()
    page.locator("#id_current_medications").fill("Hydroxychloroquine 200 mg daily")
    page.locator("main button.button").click()
    page.locator("#id_comments").fill("Walking much more than before.")
    check(page, "questionnaire-text", language)
    page.locator("main button.button").click()

    check(page, "questionnaire-check", language)
    expect(page.locator(".summary")).to_contain_text("Hydroxychloroquine 200 mg daily")
    page.locator("main button.button").click()
    expect(page.locator(".panel")).to_be_visible()
    check(page, "questionnaire-sent", language)

    answer = QuestionnaireAnswer.objects.get()
    assert (answer.overall_change, answer.fatigue, answer.joint_pain, answer.flares, answer.version) == (2, 3, 4, 1, 1)

    # The answered review: a correction is offered, and the timeline shows the answer.
    page.goto("/portal/questionnaire/")
    check(page, "questionnaire-answered", language)
    page.goto("/portal/")
    if language == "en":
        expect(page.locator(".timeline")).to_contain_text("Follow-up review at 1 month answered")
    check(page, "status-follow-up", language)
