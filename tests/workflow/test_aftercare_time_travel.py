"""SPEC §5 end to end: one Delhi patient from discharge through 24 months, with `run_scheduled --at`.

Every instant is written out by hand. The patient is discharged on a Saturday evening (28 November
2026); the reviews fall due on 28 December 2026, 28 February 2027, 28 May 2027, 28 November 2027 and
28 November 2028. Each run is repeated, as an overlapping beat would: nothing goes twice.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, FollowUpReview, TransitionLog

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
ADMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
# Saturday evening, after office hours.
DISCHARGED = datetime(2026, 11, 28, 20, 0, tzinfo=IST)
LINK = re.compile(r"/portal/open/[A-Za-z0-9_-]+/\?next=questionnaire")
ANSWERS = services.Answers(overall_change=2, fatigue=3, joint_pain=2, flares=0, current_medications="HCQ 200 mg")


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)


def run(moment: datetime, capsys: pytest.CaptureFixture[str]) -> None:
    # Twice, as two overlapping runs would: each step still happens once.
    for _ in range(2):
        call_command("run_scheduled", "--at", moment.isoformat())
    out = capsys.readouterr().out
    assert "failed" not in out, out


def sent(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("id"))


def review(app: Application, months: int) -> FollowUpReview:
    return FollowUpReview.objects.get(application=app, months=months)


def test_one_patient_from_discharge_through_24_months(capsys: pytest.CaptureFixture[str]) -> None:
    app = advance(submit(now=ADMITTED), "admitted", now=ADMITTED)
    staff = office_staff(app.office)
    coordinators, physicians = [staff["coordinator"].user], [staff["physician"].user]
    app = services.application_discharge(
        application=app,
        actor=staff["physician"],
        discharge_date=date(2026, 11, 28),
        summary="Tolerated well",
        now=DISCHARGED,
    )

    # The discharge summary, at once, with the five dates in words and their calendar file.
    (summary,) = sent("discharge_summary")
    for line in (
        "1-month review: Monday, 28 December 2026",
        "3-month review: Sunday, 28 February 2027",
        "6-month review: Friday, 28 May 2027",
        "12-month review: Sunday, 28 November 2027",
        "24-month review: Tuesday, 28 November 2028",
    ):
        assert line in summary.body_text
    assert summary.attachments.get().filename == f"follow-up-{app.reference}.ics"

    # The 24 h check falls due on Sunday 20:00: the coordinators hear at Monday's opening.
    run(at(2026, 11, 29, 19, 59), capsys)
    assert sent("monitoring_due") == []
    run(at(2026, 11, 29, 20, 0), capsys)
    (first_check,) = sent("monitoring_due")
    assert first_check.recipient_user == coordinators[0]
    assert first_check.not_before == at(2026, 11, 30, 9, 30)
    assert "24 h after discharge" in first_check.subject

    # 48 h: the second check (after hours: Tuesday's opening), and the follow-up starts by itself.
    run(at(2026, 11, 30, 19, 59), capsys)
    assert Application.objects.get(pk=app.pk).state == "discharged"
    run(at(2026, 11, 30, 20, 0), capsys)
    assert [n.not_before for n in sent("monitoring_due")] == [at(2026, 11, 30, 9, 30), at(2026, 12, 1, 9, 30)]
    assert Application.objects.get(pk=app.pk).state == "in_follow_up"
    start = TransitionLog.objects.get(application=app, action="start_follow_up")
    assert (start.actor_kind, start.at) == ("system", at(2026, 11, 30, 20, 0))

    # The coordinator records both; the concern alerts the physicians.
    services.monitoring_outcome_record(
        application=app, actor=staff["coordinator"], hours_after=24, outcome="well", now=at(2026, 11, 30, 10, 0)
    )
    services.monitoring_outcome_record(
        application=app,
        actor=staff["coordinator"],
        hours_after=48,
        outcome="concern",
        note="Headache since the last LP",
        now=at(2026, 12, 1, 10, 0),
    )
    assert [n.recipient_user for n in sent("monitoring_concern")] == physicians

    # 1 month: the questionnaire link on the due date at 09:00; answered in the portal, no reminder.
    run(at(2026, 12, 28, 8, 59), capsys)
    assert sent("follow_up_due") == []
    run(at(2026, 12, 28, 9, 0), capsys)
    (invitation,) = sent("follow_up_due")
    assert LINK.search(invitation.body_text)
    services.review_answer_submit(
        review=review(app, 1),
        application=app,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=at(2026, 12, 29, 18, 0),
    )
    run(at(2027, 1, 4, 9, 0), capsys)
    run(at(2027, 1, 11, 9, 0), capsys)
    assert sent("follow_up_reminder") == []
    assert sent("follow_up_overdue") == []

    # 3 months, skipped: invited, reminded, the coordinators alerted (Sunday: Monday's opening), missed.
    run(at(2027, 2, 28, 9, 0), capsys)
    run(at(2027, 3, 7, 9, 0), capsys)
    (reminder,) = sent("follow_up_reminder")
    assert reminder.created_at == at(2027, 3, 7, 9, 0)
    run(at(2027, 3, 14, 9, 0), capsys)
    (overdue,) = sent("follow_up_overdue")
    assert (overdue.recipient_user, overdue.not_before) == (coordinators[0], at(2027, 3, 15, 9, 30))
    run(at(2027, 3, 30, 23, 59), capsys)
    assert review(app, 3).status == "pending"
    run(at(2027, 3, 31, 0, 0), capsys)
    assert review(app, 3).status == "missed"
    assert TransitionLog.objects.filter(application=app, action="review_missed", actor_kind="system").count() == 1

    # 6 months: invited and reminded, then answered by phone; no overdue alert.
    run(at(2027, 5, 28, 9, 0), capsys)
    run(at(2027, 6, 4, 9, 0), capsys)
    services.review_answer_submit(
        review=review(app, 6), actor=staff["coordinator"], answers=ANSWERS, channel="phone", now=at(2027, 6, 5, 11, 0)
    )
    run(at(2027, 6, 11, 9, 0), capsys)
    run(at(2027, 6, 28, 0, 0), capsys)

    # 12 months: answered early, in the week before the due date; no email needed.
    services.review_answer_submit(
        review=review(app, 12),
        application=app,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=at(2027, 11, 25, 12, 0),
    )
    run(at(2027, 11, 28, 9, 0), capsys)

    # 24 months: invited; the answer completes the follow-up as the system.
    run(at(2028, 11, 28, 9, 0), capsys)
    services.review_answer_submit(
        review=review(app, 24),
        application=app,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=at(2028, 11, 30, 8, 0),
    )
    run(at(2029, 1, 1, 0, 0), capsys)

    app.refresh_from_db()
    assert app.state == "completed"
    complete = TransitionLog.objects.get(application=app, action="complete")
    assert (complete.actor_kind, complete.at) == ("system", at(2028, 11, 30, 8, 0))
    # Every email and alert once, at its time.
    assert [n.created_at for n in sent("follow_up_due")] == [
        at(2026, 12, 28, 9, 0),
        at(2027, 2, 28, 9, 0),
        at(2027, 5, 28, 9, 0),
        at(2028, 11, 28, 9, 0),
    ]
    assert [n.created_at for n in sent("follow_up_reminder")] == [at(2027, 3, 7, 9, 0), at(2027, 6, 4, 9, 0)]
    assert len(sent("follow_up_overdue")) == 1
    assert len(sent("monitoring_due")) == 2
    assert len(sent("discharge_summary")) == 1
    assert [r.status for r in app.reviews.order_by("months")] == [
        "answered",
        "missed",
        "answered",
        "answered",
        "answered",
    ]


def test_a_missed_24_month_review_completes_the_follow_up(capsys: pytest.CaptureFixture[str]) -> None:
    app = advance(submit(now=ADMITTED), "admitted", now=ADMITTED)
    services.application_discharge(
        application=app,
        actor=office_staff(app.office)["physician"],
        discharge_date=date(2026, 11, 28),
        summary="Tolerated well",
        now=DISCHARGED,
    )
    run(at(2026, 12, 1, 0, 0), capsys)
    # The 24-month window closes at the end of 28 December 2028 (due 28 November + 30 days).
    run(at(2028, 12, 28, 23, 59), capsys)
    assert Application.objects.get(pk=app.pk).state == "in_follow_up"
    run(at(2028, 12, 29, 0, 0), capsys)

    app.refresh_from_db()
    assert app.state == "completed"
    assert [r.status for r in app.reviews.order_by("months")] == ["missed"] * 5
    complete = TransitionLog.objects.get(application=app, action="complete")
    assert (complete.actor_kind, complete.at) == ("system", at(2028, 12, 29, 0, 0))
