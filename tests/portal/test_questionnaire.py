"""The follow-up questionnaire in the portal (SPEC §5, §7): one question per page, checked, sent, corrected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from tests.portal.conftest import open_portal, patient_client
from tests.workflow.conftest import advance, office_staff, submit
from workflow.models import Application, QuestionnaireAnswer
from workflow.services.aftercare import Answers, review_answer_submit

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
# Discharged on Monday 23 November 2026: the 1-month review is due on 23 December, its window runs
# from 16 December to 22 January 2027.
DISCHARGED = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
ONE_MONTH = datetime(2026, 12, 23, 10, 0, tzinfo=IST)

ANSWERS = {
    "overall-change": {"overall_change": "2"},
    "fatigue": {"fatigue": "3"},
    "joint-pain": {"joint_pain": "4"},
    "flares": {"flares": "1"},
    "medications": {"current_medications": "Hydroxychloroquine 200 mg daily"},
    "comments": {"comments": "Walking much more than before."},
}


def in_follow_up(**patient: Any) -> Application:
    with time_machine.travel(DISCHARGED, tick=False):
        return advance(submit(**patient), "in_follow_up")


@pytest.fixture
def one_month() -> Iterator[None]:
    with time_machine.travel(ONE_MONTH, tick=True):
        yield


def answer_all(client: Client, answers: dict[str, dict[str, str]] = ANSWERS) -> None:
    for step, data in answers.items():
        response = client.post(f"/portal/questionnaire/{step}/", data)
        assert response.status_code == 302, (step, response.content.decode()[:2000])


def text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_with_no_review_open_the_page_says_when_we_will_ask_next() -> None:
    app = in_follow_up()
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=IST), tick=True):
        page = text(patient_client(app), "/portal/questionnaire/")
    assert "There is no questionnaire for you to answer now." in page
    assert (
        "We will next ask how you are 1 month after your treatment. On 23 December 2026 we will email you a link "
        "to the questionnaire; you can answer it from 16 December 2026."
    ) in page
    assert "Start the questionnaire" not in page


def test_an_application_without_reviews_has_no_questionnaire_and_no_step_to_answer() -> None:
    app = submit()
    client = patient_client(app)
    assert "There is no questionnaire for you to answer now." in text(client, "/portal/questionnaire/")
    assert "/portal/questionnaire/" not in text(client, "/portal/")  # not in the navigation
    response = client.post("/portal/questionnaire/overall-change/", {"overall_change": "2"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/questionnaire/"


def test_the_emails_link_lands_on_the_questionnaire(one_month: None) -> None:
    app = in_follow_up()
    response = open_portal(Client(), app, "questionnaire")
    assert response.status_code == 302
    assert response["Location"] == "/portal/questionnaire/"


def test_a_patient_answers_one_question_per_page_checks_and_sends(one_month: None) -> None:
    app = in_follow_up()
    client = patient_client(app)
    start = text(client, "/portal/questionnaire/")
    assert "Your questionnaire 1 month after treatment" in start
    assert "Please answer by 22 January 2027." in start
    assert 'href="/portal/questionnaire/overall-change/"' in start
    assert "Answer your follow-up questionnaire (1 month after treatment)" in text(client, "/portal/")

    first = text(client, "/portal/questionnaire/overall-change/")
    assert "Question 1 of 6" in first
    assert "Compared with before your treatment, how are you overall now?" in first
    assert all(word in first for word in ("Very much better", "A little better", "No change", "Very much worse"))
    scale = text(client, "/portal/questionnaire/fatigue/")
    assert "0 – none" in scale and "10 – worst imaginable" in scale
    # The first review asks about flares since the treatment, not since a last review.
    assert "How many flares have you had since your treatment?" in text(client, "/portal/questionnaire/flares/")

    answer_all(client)
    check = text(client, "/portal/questionnaire/check/")
    assert "Check your answers before sending them" in check
    assert "Much better" in check and "Walking much more than before." in check
    assert "/portal/questionnaire/fatigue/?change=1" in check
    assert QuestionnaireAnswer.objects.count() == 0  # nothing is sent before the last page

    response = client.post("/portal/questionnaire/check/")
    assert response["Location"] == "/portal/questionnaire/sent/"
    assert "Your answers have been sent" in text(client, "/portal/questionnaire/sent/")
    answer = QuestionnaireAnswer.objects.get()
    assert (answer.review.application_id, answer.review.months, answer.version, answer.channel) == (
        app.pk,
        1,
        1,
        "portal",
    )
    assert (answer.overall_change, answer.fatigue, answer.joint_pain, answer.flares) == (2, 3, 4, 1)
    assert answer.current_medications == "Hydroxychloroquine 200 mg daily"
    status = text(client, "/portal/")
    assert "Follow-up review at 1 month answered" in status
    assert "Answer your follow-up questionnaire" not in status


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        ("overall-change", {}, "Select how you are overall now"),
        ("overall-change", {"overall_change": "4"}, "Select how you are overall now"),
        ("fatigue", {"fatigue": "11"}, "Select a number from 0 to 10 for your fatigue"),
        ("joint-pain", {}, "Select a number from 0 to 10 for your joint pain"),
        ("flares", {"flares": ""}, "Enter the number of flares, or 0 if you had none"),
        ("flares", {"flares": "two"}, "Enter the number of flares as a whole number, like 2"),
        ("flares", {"flares": "-1"}, "The number of flares must be 0 or more"),
        ("medications", {"current_medications": "x" * 4001}, "Ensure this value has at most 4000 characters"),
    ],
)
def test_each_answer_is_checked_with_the_error_summary(one_month: None, step: str, data: dict, message: str) -> None:
    client = patient_client(in_follow_up())
    response = client.post(f"/portal/questionnaire/{step}/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert "<title>Error:" in page
    assert message in page
    assert page.count(message) >= 2  # in the summary and beside the field
    anchor = "id_overall_change_0" if step == "overall-change" else None
    if anchor:
        assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page


def test_the_check_page_sends_the_patient_back_to_the_first_question_not_answered(one_month: None) -> None:
    client = patient_client(in_follow_up())
    client.post("/portal/questionnaire/overall-change/", {"overall_change": "0"})
    response = client.get("/portal/questionnaire/check/")
    assert response["Location"] == "/portal/questionnaire/fatigue/"
    # An optional question may stay empty.
    answer_all(client, {step: data for step, data in ANSWERS.items() if step not in {"medications", "comments"}})
    assert client.get("/portal/questionnaire/check/").status_code == 200


def test_a_correction_is_a_new_version_and_the_first_answer_is_kept(one_month: None) -> None:
    app = in_follow_up()
    client = patient_client(app)
    answer_all(client)
    client.post("/portal/questionnaire/check/")

    start = text(client, "/portal/questionnaire/")
    assert "You answered this questionnaire on" in start
    assert "We keep your earlier answers on record" in start
    check = text(client, "/portal/questionnaire/check/")  # prefilled with the latest answer
    assert "Your earlier answers are kept on record" in check
    assert "Walking much more than before." in check
    response = client.post("/portal/questionnaire/fatigue/?change=1", {"fatigue": "6"})
    assert response["Location"] == "/portal/questionnaire/check/"
    client.post("/portal/questionnaire/check/")

    first, second = QuestionnaireAnswer.objects.order_by("version")
    assert (first.version, first.fatigue, second.version, second.fatigue) == (1, 3, 2, 6)
    assert second.comments == first.comments == "Walking much more than before."
    assert "Follow-up review at 1 month: answers corrected" in text(client, "/portal/")


def test_a_session_answers_only_its_own_applications_review(one_month: None) -> None:
    priya = in_follow_up()
    anna = in_follow_up(full_name="Anna Becker", email="anna@example.org")
    client = patient_client(anna)
    answer_all(client)
    # Names of another review or application in the form or the query are not read.
    priya_review = priya.reviews.get(months=1)
    client.post(
        f"/portal/questionnaire/check/?review={priya_review.pk}", {"review": priya_review.pk, "application": priya.pk}
    )

    assert list(QuestionnaireAnswer.objects.values_list("review__application_id", flat=True)) == [anna.pk]
    assert priya_review.answers.count() == 0
    # Opening Priya's link afterwards shows her own, unanswered review, not Anna's draft or answer.
    open_portal(client, priya)
    page = text(client, "/portal/questionnaire/")
    assert "Start the questionnaire" in page
    assert "You answered this questionnaire" not in page
    assert client.get("/portal/questionnaire/check/")["Location"] == "/portal/questionnaire/overall-change/"


def test_after_the_window_closes_the_questionnaire_cannot_be_answered() -> None:
    app = in_follow_up()
    with time_machine.travel(datetime(2027, 1, 23, 10, 0, tzinfo=IST), tick=True):
        client = patient_client(app)
        assert "There is no questionnaire for you to answer now." in text(client, "/portal/questionnaire/")
        response = client.post("/portal/questionnaire/overall-change/", {"overall_change": "2"})
        assert response["Location"] == "/portal/questionnaire/"
    assert QuestionnaireAnswer.objects.count() == 0


def test_the_questionnaire_speaks_german() -> None:
    app = in_follow_up(preferred_language="de")
    with time_machine.travel(ONE_MONTH, tick=True):
        client = patient_client(app)
        start = text(client, "/portal/questionnaire/")
        assert "Ihr Fragebogen 1 Monat nach der Behandlung" in start
        question = text(client, "/portal/questionnaire/overall-change/")
        assert "Frage 1 von 6" in question
        assert "Sehr viel besser" in question
        response = client.post("/portal/questionnaire/flares/", {"flares": "zwei"})
        assert "Geben Sie die Zahl der Schübe als ganze Zahl an, zum Beispiel 2" in response.content.decode()


def test_an_answer_taken_by_phone_shows_on_the_timeline_without_a_staff_name(one_month: None) -> None:
    app = in_follow_up()
    coordinator = office_staff(app.office)["coordinator"]
    review_answer_submit(
        review=app.reviews.get(months=1),
        actor=coordinator,
        answers=Answers(overall_change=1, fatigue=4, joint_pain=4, flares=0),
        channel="phone",
    )
    page = text(patient_client(app), "/portal/")
    assert "Follow-up review at 1 month answered by phone" in page
    assert coordinator.user is not None and coordinator.user.username not in page
    # Answered, so not offered again; the questionnaire offers a correction instead.
    assert "Answer your follow-up questionnaire" not in page
    assert "Correct your answers" in text(patient_client(app), "/portal/questionnaire/")
