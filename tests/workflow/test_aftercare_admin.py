"""The admin's aftercare: checks and reviews on the application page, and the three actions' forms,
each going through its service."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, MonitoringCheck, QuestionnaireAnswer, TransitionLog

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
ADMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
IN_WINDOW = datetime(2026, 12, 29, 11, 0, tzinfo=IST)


@pytest.fixture
def app() -> Application:
    application = advance(submit(now=ADMITTED), "admitted", now=ADMITTED)
    return services.application_discharge(
        application=application,
        actor=office_staff(application.office)["physician"],
        discharge_date=date(2026, 11, 28),
        summary="Tolerated well",
        now=datetime(2026, 11, 28, 20, 0, tzinfo=IST),
    )


def signed_in(user: User) -> Client:
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def coordinator(app: Application) -> User:
    user = office_staff(app.office)["coordinator"].user
    assert user is not None
    return user


def test_the_application_page_lists_the_checks_and_the_reviews(app: Application) -> None:
    response = signed_in(coordinator(app)).get(reverse("admin:workflow_application_change", args=[app.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "monitoring checks after discharge" in page.lower()
    assert "follow-up reviews" in page.lower()
    assert "2028-11-28" in page or "Nov. 28, 2028" in page


def test_outcome_phone_answer_and_date_correction_run_from_the_workflow_page(app: Application) -> None:
    url = reverse("admin:workflow_application_workflow", args=[app.pk])
    with time_machine.travel(IN_WINDOW, tick=False):
        # Signed in then: a session started today would have expired by late December.
        client = signed_in(coordinator(app))
        response = client.get(url)
        assert response.status_code == 200, response
        page = response.content.decode()
        client.post(
            url,
            {
                "action": "record_monitoring_outcome",
                "record_monitoring_outcome-hours_after": "24",
                "record_monitoring_outcome-outcome": "well",
                "record_monitoring_outcome-note": "",
            },
        )
        client.post(
            url,
            {
                "action": "record_phone_answer",
                "record_phone_answer-months": "1",
                "record_phone_answer-overall_change": "1",
                "record_phone_answer-fatigue": "4",
                "record_phone_answer-joint_pain": "2",
                "record_phone_answer-flares": "0",
            },
        )
        client.post(
            url,
            {
                "action": "correct_discharge_date",
                "correct_discharge_date-discharge_date": "2026-11-27",
                "correct_discharge_date-reason": "Typo",
            },
        )

    assert "record_phone_answer" in page
    assert MonitoringCheck.objects.get(application=app, hours_after=24).outcome == "well"
    answer = QuestionnaireAnswer.objects.get(review__application=app)
    assert (answer.review.months, answer.channel, answer.recorded_by) == (1, "phone", coordinator(app))
    assert list(
        TransitionLog.objects.filter(application=app, actor=coordinator(app), at__gte=IN_WINDOW).values_list(
            "action", flat=True
        )
    ) == ["record_monitoring_outcome", "record_phone_answer", "correct_discharge_date"]
    # The answered 1-month review stays; the others moved a day earlier.
    assert app.reviews.get(months=3).due_date == date(2027, 2, 27)
