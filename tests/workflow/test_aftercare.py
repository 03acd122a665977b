"""SPEC §5 aftercare through the services: the plan discharge makes, month ends, a corrected discharge
date, monitoring outcomes, questionnaire answers and their versions. Dates are written out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from icalendar import Calendar

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, FollowUpReview, MonitoringCheck, QuestionnaireAnswer, TransitionLog
from workflow.services.aftercare_plan import add_months
from workflow.services.aftercare_sweeps import aftercare_sweep

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
ANSWERS = services.Answers(overall_change=1, fatigue=4, joint_pain=3, flares=1, current_medications="HCQ")


def discharged(discharge_date: date, *, office: str = "delhi", language: str = "en", hour: int = 12) -> Application:
    """Admitted 6 days before `discharge_date` (the 7-day protocol), discharged on it at `hour` in the office's zone."""
    tz = IST if office == "delhi" else BERLIN
    admitted = datetime.combine(discharge_date - timedelta(days=6), datetime.min.time(), tzinfo=tz).replace(hour=10)
    patient = {"office": office, "preferred_language": language}
    if office == "europe":
        patient["country"] = "DE"
    app = advance(submit(now=admitted, **patient), "admitted", now=admitted)
    return services.application_discharge(
        application=app,
        actor=office_staff(app.office)["physician"],
        discharge_date=discharge_date,
        summary="Tolerated well",
        now=datetime.combine(discharge_date, datetime.min.time(), tzinfo=tz).replace(hour=hour),
    )


def due_dates(app: Application) -> list[date]:
    return [r.due_date for r in FollowUpReview.objects.filter(application=app).order_by("months")]


# ---- calendar months ----


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 24, date(2030, 2, 28)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_calendar_months_clamp_to_the_end_of_a_shorter_month(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_a_discharge_on_31_january_has_its_first_review_on_the_last_day_of_february() -> None:
    app = discharged(date(2027, 1, 31))

    assert due_dates(app) == [
        date(2027, 2, 28),
        date(2027, 4, 30),
        date(2027, 7, 31),
        date(2028, 1, 31),
        date(2029, 1, 31),
    ]


def test_a_discharge_on_29_february_has_its_yearly_reviews_on_28_february() -> None:
    app = discharged(date(2028, 2, 29))

    assert due_dates(app) == [
        date(2028, 3, 29),
        date(2028, 5, 29),
        date(2028, 8, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
    ]


def test_a_discharge_on_31_august_clamps_to_30_september_and_28_february() -> None:
    app = discharged(date(2026, 8, 31))

    assert due_dates(app) == [
        date(2026, 9, 30),
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 8, 31),
        date(2028, 8, 31),
    ]


def test_each_review_has_its_window_and_swept_instants_in_the_office_zone() -> None:
    app = discharged(date(2026, 8, 31), office="europe")
    first = app.reviews.get(months=1)

    assert (first.window_opens, first.window_closes) == (date(2026, 9, 23), date(2026, 10, 30))
    # 09:00 in Berlin (summer time until 25 October, then winter time), stored in UTC.
    assert first.invite_at == datetime(2026, 9, 30, 9, 0, tzinfo=BERLIN)
    assert first.remind_at == datetime(2026, 10, 7, 9, 0, tzinfo=BERLIN)
    assert first.overdue_at == datetime(2026, 10, 14, 9, 0, tzinfo=BERLIN)
    assert first.closes_at == datetime(2026, 10, 31, 0, 0, tzinfo=BERLIN)
    assert first.closes_at.utcoffset() is not None
    assert first.closes_at == datetime(2026, 10, 30, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert first.status == "pending"


# ---- what discharge creates and sends ----


def test_discharge_creates_two_checks_and_the_automatic_start_counted_from_its_recording() -> None:
    app = discharged(date(2026, 11, 28), hour=20)
    checks = list(app.monitoring_checks.order_by("hours_after"))

    assert [(c.hours_after, c.due_at) for c in checks] == [
        (24, datetime(2026, 11, 29, 20, 0, tzinfo=IST)),
        (48, datetime(2026, 11, 30, 20, 0, tzinfo=IST)),
    ]
    assert app.follow_up_due_at == datetime(2026, 11, 30, 20, 0, tzinfo=IST)
    assert all(c.status == "scheduled" for c in checks)


def test_a_german_patient_gets_the_discharge_summary_in_german_with_the_review_dates_as_a_calendar() -> None:
    app = discharged(date(2026, 11, 30), office="europe", language="de")
    email = Notification.objects.get(application=app, kind="discharge_summary")

    assert email.language == "de"
    assert email.subject == f"Ihr Entlassungsbericht und Ihre Nachsorgetermine ({app.reference})"
    assert "Nachsorge Monat 1: Mittwoch, 30. Dezember 2026" in email.body_text
    assert "Nachsorge Monat 3: Sonntag, 28. Februar 2027" in email.body_text
    assert "Nachsorge Monat 24: Donnerstag, 30. November 2028" in email.body_html
    assert "Tolerated well" in email.body_text
    attachment = email.attachments.get()
    assert attachment.content_type == "text/calendar"
    events = Calendar.from_ical(bytes(attachment.content)).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [
        date(2026, 12, 30),
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 11, 30),
        date(2028, 11, 30),
    ]
    assert str(events[0]["summary"]) == "Nachsorgetermin Monat 1"


def test_the_discharge_summary_answers_the_patient_and_is_in_the_history() -> None:
    app = discharged(date(2026, 11, 28))
    log = TransitionLog.objects.get(application=app, action="discharge")

    assert Notification.objects.get(application=app, kind="discharge_summary").history == log


# ---- monitoring checks ----


def test_a_concern_alerts_the_offices_physicians_without_health_data() -> None:
    app = discharged(date(2026, 11, 23), hour=11)
    staff = office_staff(app.office)
    check = services.monitoring_outcome_record(
        application=app,
        actor=staff["coordinator"],
        hours_after=24,
        outcome="concern",
        note="Fever 38.5 since the morning",
        now=datetime(2026, 11, 24, 12, 0, tzinfo=IST),
    )

    assert (check.outcome, check.recorded_by, check.status) == ("concern", staff["coordinator"].user, "recorded")
    alert = Notification.objects.get(application=app, kind="monitoring_concern")
    assert alert.recipient_user == staff["physician"].user
    assert "Fever" not in alert.body_text and "Fever" not in alert.body_html
    assert app.full_name not in alert.body_text
    assert app.reference in alert.subject
    log = TransitionLog.objects.get(application=app, action="record_monitoring_outcome")
    assert log.params == {"hours_after": 24, "outcome": "concern", "note": "Fever 38.5 since the morning"}


def test_a_well_check_alerts_nobody_and_a_check_is_recorded_once() -> None:
    app = discharged(date(2026, 11, 23), hour=11)
    physician = office_staff(app.office)["physician"]
    services.monitoring_outcome_record(application=app, actor=physician, hours_after=48, outcome="well")

    assert not Notification.objects.filter(kind="monitoring_concern").exists()
    with pytest.raises(Conflict):
        services.monitoring_outcome_record(
            application=app, actor=physician, hours_after=48, outcome="concern", note="x"
        )
    assert MonitoringCheck.objects.get(application=app, hours_after=48).outcome == "well"


def test_a_concern_needs_a_note_and_an_outcome_is_well_or_concern() -> None:
    app = discharged(date(2026, 11, 23))
    coordinator = office_staff(app.office)["coordinator"]
    with pytest.raises(ValidationError) as concern:
        services.monitoring_outcome_record(application=app, actor=coordinator, hours_after=24, outcome="concern")
    with pytest.raises(ValidationError) as other:
        services.monitoring_outcome_record(application=app, actor=coordinator, hours_after=24, outcome="fine")

    assert "note" in concern.value.message_dict
    assert "outcome" in other.value.message_dict


def test_staff_of_another_office_cannot_see_the_checks(europe_coordinator: User) -> None:
    app = discharged(date(2026, 11, 23))
    with pytest.raises(Application.DoesNotExist):
        services.monitoring_outcome_record(
            application=app, actor=Actor.staff(europe_coordinator), hours_after=24, outcome="well"
        )


def test_monitoring_is_recorded_only_after_discharge() -> None:
    app = advance(submit(), "admitted")
    app.monitoring_checks.create(hours_after=24, due_at=app.received_at)
    with pytest.raises(Conflict):
        services.monitoring_outcome_record(
            application=app, actor=office_staff(app.office)["coordinator"], hours_after=24, outcome="well"
        )


# ---- answers ----


def opened(app: Application, months: int = 1) -> datetime:
    """An instant inside the review's window."""
    review = app.reviews.get(months=months)
    return datetime.combine(review.due_date, datetime.min.time(), tzinfo=IST).replace(hour=15)


def test_a_phone_answer_is_recorded_by_staff_and_a_correction_is_a_new_version_keeping_the_old() -> None:
    app = discharged(date(2026, 11, 23))
    coordinator = office_staff(app.office)["coordinator"]
    review = app.reviews.get(months=1)
    first = services.review_answer_submit(
        review=review, actor=coordinator, answers=ANSWERS, channel="phone", now=opened(app)
    )
    corrected = services.Answers(overall_change=2, fatigue=4, joint_pain=3, flares=1)
    second = services.review_answer_submit(
        review=review.pk, actor=coordinator, answers=corrected, channel="phone", now=opened(app) + timedelta(hours=1)
    )

    review.refresh_from_db()
    assert [(a.version, a.overall_change, a.channel) for a in review.answers.all()] == [
        (1, 1, "phone"),
        (2, 2, "phone"),
    ]
    assert first.recorded_by == coordinator.user
    assert review.answered_at == opened(app)
    assert second.submitted_at == opened(app) + timedelta(hours=1)
    logs = TransitionLog.objects.filter(application=app, action="record_phone_answer")
    assert [log.params for log in logs] == [
        {"months": 1, "version": 1, "channel": "phone"},
        {"months": 1, "version": 2, "channel": "phone"},
    ]


def test_an_answer_is_never_overwritten_or_deleted() -> None:
    app = discharged(date(2026, 11, 23))
    answer = services.review_answer_submit(
        review=app.reviews.get(months=1),
        application=app,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=opened(app),
    )
    answer.fatigue = 9
    with pytest.raises(TypeError):
        answer.save()
    with pytest.raises(TypeError):
        QuestionnaireAnswer.objects.filter(pk=answer.pk).update(fatigue=9)
    with pytest.raises(TypeError):
        answer.delete()
    assert QuestionnaireAnswer.objects.get(pk=answer.pk).fatigue == 4


def test_the_patient_answers_only_inside_the_window_and_only_their_own_review() -> None:
    app = discharged(date(2026, 11, 23))
    other = discharged(date(2026, 11, 23))
    review = app.reviews.get(months=1)
    before = datetime(2026, 12, 15, 23, 0, tzinfo=IST)  # window opens 16 December
    after = datetime(2027, 1, 23, 0, 0, tzinfo=IST)  # window closed at the end of 22 January

    with pytest.raises(Conflict):
        services.review_answer_submit(
            review=review, application=app, actor=Actor.patient(), answers=ANSWERS, channel="portal", now=before
        )
    with pytest.raises(Conflict):
        services.review_answer_submit(
            review=review, application=app, actor=Actor.patient(), answers=ANSWERS, channel="portal", now=after
        )
    with pytest.raises(FollowUpReview.DoesNotExist):
        services.review_answer_submit(
            review=review,
            application=other,
            actor=Actor.patient(),
            answers=ANSWERS,
            channel="portal",
            now=opened(app),
        )
    services.review_answer_submit(
        review=review,
        application=app,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=datetime(2026, 12, 16, 0, 0, tzinfo=IST),
    )
    assert review.answers.get().recorded_by is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("overall_change", 4), ("overall_change", -4), ("fatigue", 11), ("joint_pain", -1), ("flares", -1)],
)
def test_answers_off_their_scale_are_refused(field: str, value: int) -> None:
    app = discharged(date(2026, 11, 23))
    answers = services.Answers(**{**ANSWERS.__dict__, field: value})
    with pytest.raises(ValidationError) as error:
        services.review_answer_submit(
            review=app.reviews.get(months=1),
            application=app,
            actor=Actor.patient(),
            answers=answers,
            channel="portal",
            now=opened(app),
        )
    assert field in error.value.message_dict


def test_staff_record_by_phone_and_the_patient_in_the_portal() -> None:
    app = discharged(date(2026, 11, 23))
    review = app.reviews.get(months=1)
    with pytest.raises(ValidationError):
        services.review_answer_submit(
            review=review,
            actor=office_staff(app.office)["coordinator"],
            answers=ANSWERS,
            channel="portal",
            now=opened(app),
        )
    with pytest.raises(ValidationError):
        services.review_answer_submit(
            review=review, application=app, actor=Actor.patient(), answers=ANSWERS, channel="phone", now=opened(app)
        )


def test_a_physician_may_not_record_a_phone_answer() -> None:
    app = discharged(date(2026, 11, 23))
    with pytest.raises(NotAllowed):
        services.review_answer_submit(
            review=app.reviews.get(months=1),
            actor=office_staff(app.office)["physician"],
            answers=ANSWERS,
            channel="phone",
            now=opened(app),
        )


def test_a_missed_review_takes_no_answer() -> None:
    app = discharged(date(2026, 11, 23))
    aftercare_sweep(datetime(2027, 1, 23, 0, 0, tzinfo=IST))
    review = app.reviews.get(months=1)
    assert review.status == "missed"
    with pytest.raises(Conflict):
        services.review_answer_submit(
            review=review,
            actor=office_staff(app.office)["coordinator"],
            answers=ANSWERS,
            channel="phone",
            now=datetime(2027, 1, 23, 10, 0, tzinfo=IST),
        )


# ---- a corrected discharge date ----


def test_correcting_the_discharge_date_recomputes_the_unanswered_reviews_and_is_in_the_history() -> None:
    # Recorded as discharged on Monday 30 November; the patient really left on Saturday 28 November.
    app = discharged(date(2026, 11, 30), hour=10)
    coordinator = office_staff(app.office)["coordinator"]
    # The first review is answered early (window opens 23 December); it keeps its dates.
    services.review_answer_submit(
        review=app.reviews.get(months=1),
        actor=coordinator,
        answers=ANSWERS,
        channel="phone",
        now=datetime(2026, 12, 24, 10, 0, tzinfo=IST),
    )
    services.discharge_date_correct(
        application=app,
        actor=coordinator,
        discharge_date=date(2026, 11, 28),
        reason="The patient left on Saturday",
        now=datetime(2026, 12, 24, 11, 0, tzinfo=IST),
    )

    app.refresh_from_db()
    assert app.discharge_date == date(2026, 11, 28)
    assert due_dates(app) == [
        date(2026, 12, 30),
        date(2027, 2, 28),
        date(2027, 5, 28),
        date(2027, 11, 28),
        date(2028, 11, 28),
    ]
    three = app.reviews.get(months=3)
    assert (three.window_opens, three.window_closes) == (date(2027, 2, 21), date(2027, 3, 30))
    assert three.invite_at == datetime(2027, 2, 28, 9, 0, tzinfo=IST)
    assert three.closes_at == datetime(2027, 3, 31, 0, 0, tzinfo=IST)
    log = TransitionLog.objects.get(application=app, action="correct_discharge_date")
    assert log.params == {
        "discharge_date": "2026-11-28",
        "previous": "2026-11-30",
        "reason": "The patient left on Saturday",
        "reviews_recomputed": [3, 6, 12, 24],
    }
    assert log.actor == coordinator.user
    # The patient gets the new dates, and the calendar file again (same UIDs: the calendar moves them).
    email = Notification.objects.get(application=app, kind="follow_up_dates_changed")
    assert email.history == log
    assert "we have corrected the date of your discharge to Saturday, 28 November 2026" in email.body_text
    assert "3-month review: Sunday, 28 February 2027" in email.body_text
    assert "1-month review: Wednesday, 30 December 2026" in email.body_text
    events = Calendar.from_ical(bytes(email.attachments.get().content)).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events][1] == date(2027, 2, 28)


def test_a_correction_moving_a_step_into_the_future_does_it_again_and_one_in_the_past_stays_done() -> None:
    # Discharged 1 December; the 1-month invitation went on 1 January.
    app = discharged(date(2026, 12, 1), hour=10)
    aftercare_sweep(datetime(2027, 1, 1, 9, 0, tzinfo=IST))
    first = app.reviews.get(months=1)
    assert first.invited_at is not None
    # On 2 January the date is corrected to 10 December: the invitation is due again on 10 January.
    services.discharge_date_correct(
        application=app,
        actor=office_staff(app.office)["manager"],
        discharge_date=date(2026, 12, 10),
        reason="Typo",
        now=datetime(2027, 1, 2, 10, 0, tzinfo=IST),
    )
    first.refresh_from_db()
    assert (first.due_date, first.invited_at) == (date(2027, 1, 10), None)

    aftercare_sweep(datetime(2027, 1, 10, 9, 0, tzinfo=IST))

    invitations = Notification.objects.filter(application=app, kind="follow_up_due").order_by("id")
    assert [n.created_at for n in invitations] == [
        datetime(2027, 1, 1, 9, 0, tzinfo=IST),
        datetime(2027, 1, 10, 9, 0, tzinfo=IST),
    ]
    assert "Tuesday, 9 February 2027" in invitations[1].body_text


def test_a_correction_needs_a_reason_and_a_date_not_in_the_future() -> None:
    app = discharged(date(2026, 11, 30), hour=10)
    physician = office_staff(app.office)["physician"]
    now = datetime(2026, 12, 1, 10, 0, tzinfo=IST)
    with pytest.raises(ValidationError):
        services.discharge_date_correct(
            application=app, actor=physician, discharge_date=date(2026, 11, 29), reason=" ", now=now
        )
    with pytest.raises(ValidationError):
        services.discharge_date_correct(
            application=app, actor=physician, discharge_date=date(2026, 12, 2), reason="x", now=now
        )
    assert not TransitionLog.objects.filter(application=app, action="correct_discharge_date").exists()


def test_the_aftercare_actions_are_offered_to_the_roles_that_may_run_them() -> None:
    app = discharged(date(2026, 11, 23))
    staff = office_staff(app.office)
    in_window = opened(app)

    assert {"record_monitoring_outcome", "correct_discharge_date"} <= set(
        services.available_actions(app, staff["physician"], now=in_window)
    )
    assert "record_phone_answer" in services.available_actions(app, staff["coordinator"], now=in_window)
    assert "record_phone_answer" not in services.available_actions(app, staff["coordinator"], now=app.received_at)
    assert "answer_questionnaire" in services.available_actions(app, Actor.patient(), now=in_window)
    assert "answer_questionnaire" not in services.available_actions(app, Actor.patient(), now=app.received_at)
