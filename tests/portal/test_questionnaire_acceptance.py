"""Issue 10's acceptance for the questionnaire: the link comes from the email a real SMTP server received.

The follow-up sweep (`run_scheduled`'s jobs) writes the `follow_up_due` email on the review's due
date; the relay, Redis and a real worker process deliver it; the patient follows its link in
Chromium and answers the questionnaire page by page.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from config.scheduling import run_all
from offices.models import Office
from tests.notifications.conftest import Mailbox
from tests.portal.test_acceptance import box, email_to, lands_on, link_in, mailbox, page, worker  # noqa: F401
from tests.workflow.conftest import advance, submit
from workflow.models import QuestionnaireAnswer
from workflow.services.aftercare_plan import add_months

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_the_patient_answers_the_questionnaire_from_the_follow_up_email(box: Mailbox, page: Page) -> None:  # noqa: F811
    # Discharged one month before yesterday: the 1-month review fell due yesterday, its window is open.
    delhi = Office.objects.get(code="delhi")
    yesterday = timezone.localdate(timezone.now(), delhi.tz) - timedelta(days=1)
    discharged = datetime.combine(add_months(yesterday, -1), time(12, 0), tzinfo=delhi.tz)
    with time_machine.travel(discharged, tick=False):
        app = advance(submit(email="priya@example.org"), "in_follow_up")
    review = app.reviews.get(months=1)
    assert review.due_date <= yesterday

    run_all(timezone.now())
    message = email_to(box, "priya@example.org", "the follow-up questionnaire", lands_on("questionnaire"))
    assert "1-month follow-up questionnaire" in str(message["Subject"])

    page.goto(link_in(message))
    assert page.url == f"{settings.SITE_URL}/portal/questionnaire/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Your questionnaire 1 month after treatment")
    page.get_by_role("link", name="Start the questionnaire").click()
    page.get_by_label("A little better", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("2", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("0 – none", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("How many flares have you had since your treatment?").fill("0")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Which medicines do you take now? (optional)").fill("Hydroxychloroquine 200 mg daily")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()  # nothing else to say
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending them")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your answers have been sent")

    answer = QuestionnaireAnswer.objects.get(review=review)
    assert (answer.overall_change, answer.fatigue, answer.joint_pain, answer.flares, answer.channel) == (
        1,
        2,
        0,
        0,
        "portal",
    )
    review.refresh_from_db()
    assert review.status == "answered"
    # The sweep run again sends nothing more: the review is answered.
    run_all(timezone.now())
    assert len([m for m in box.received("priya@example.org") if lands_on("questionnaire")(m)]) == 1
