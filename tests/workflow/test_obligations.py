"""The reply promise (SPEC §4): who opens, satisfies and closes reply obligations, and their deadlines."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from notifications.models import Notification
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ReplyObligation
from workflow.services import PATIENT_NOTICES

pytestmark = pytest.mark.django_db

ZONES = {"delhi": ZoneInfo("Asia/Kolkata"), "europe": ZoneInfo("Europe/Berlin")}
COUNTRY = {"delhi": "IN", "europe": "DE"}


def local(office: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONES[office])


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


# SPEC §2 worked examples: two working days from the time received.
EXAMPLES = [
    pytest.param("delhi", "2026-11-23 10:00", "2026-11-26 10:00", id="delhi-public-holiday-skipped"),
    pytest.param("delhi", "2026-11-28 20:00", "2026-12-01 18:30", id="delhi-after-hours-and-sunday"),
    pytest.param("europe", "2026-12-18 16:00", "2026-12-22 16:00", id="europe-weekend-skipped"),
    pytest.param("europe", "2026-11-20 09:00", "2026-11-23 17:00", id="europe-runs-out-at-closing"),
]


@pytest.mark.parametrize(("office", "received", "due"), EXAMPLES)
def test_an_application_opens_an_obligation_due_two_working_days_later(
    office: str, received: str, due: str, time_machine: Any
) -> None:
    time_machine.move_to(local(office, received), tick=False)

    app = submit(country=COUNTRY[office])

    obligation = app.obligations.get()
    assert app.office.code == office
    assert obligation.opened_at == local(office, received)
    assert obligation.due_at == local(office, due)
    assert obligation.is_open
    assert obligation.opened_by is None  # the application itself, not a message
    assert fresh(app).reply_due_at == obligation.due_at
    assert fresh(app).reply_warn_at == obligation.warn_at
    assert obligation.opened_at < obligation.warn_at < obligation.due_at


@pytest.mark.parametrize(("office", "received", "due"), EXAMPLES)
def test_staff_entering_a_request_late_start_the_clock_when_it_was_received(
    office: str, received: str, due: str, time_machine: Any, request: pytest.FixtureRequest
) -> None:
    coordinator = request.getfixturevalue(f"{office}_coordinator")
    time_machine.move_to(local(office, received) + timedelta(hours=30), tick=False)

    app = services.application_submit(
        actor=Actor.staff(coordinator),
        full_name="Hans Becker",
        email="hans@example.org",
        date_of_birth=date(1970, 1, 1),
        sex="male",
        country=COUNTRY[office],
        condition="SLE",
        privacy_consent=True,
        received_at=local(office, received),
    )

    obligation = app.obligations.get()
    assert (obligation.opened_at, obligation.due_at) == (local(office, received), local(office, due))
    assert app.received_at == local(office, received)


def test_a_reply_satisfies_the_obligation_and_clears_reply_due_at(delhi_coordinator: User, time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()
    time_machine.move_to(local("delhi", "2026-11-25 12:00"), tick=False)

    message = services.message_post(
        application=app, actor=Actor.staff(delhi_coordinator), kind="reply", body="We have your application."
    )

    obligation = app.obligations.get()
    assert (obligation.satisfied_at, obligation.satisfied_by, obligation.satisfied_by_action) == (
        local("delhi", "2026-11-25 12:00"),
        message,
        "message_reply",
    )
    assert obligation.closed_at is None
    assert not obligation.is_open
    assert fresh(app).reply_due_at is None
    assert fresh(app).reply_warn_at is None


def test_a_quote_is_a_reply_it_satisfies_the_open_obligation(delhi_coordinator: User, time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = advance(submit(), "medically_reviewed")
    # The patient asks a question after the review; the quote answers it.
    time_machine.move_to(local("delhi", "2026-11-25 10:00"), tick=False)
    question = services.message_receive(application=app, actor=Actor.patient(), body="How much will it cost?")
    assert fresh(app).reply_due_at is not None
    time_machine.move_to(local("delhi", "2026-11-25 15:00"), tick=False)

    services.application_send_quote(
        application=app, actor=Actor.staff(delhi_coordinator), items=[{"description": "Protocol", "amount": "4500"}]
    )

    obligation = app.obligations.get(opened_by=question)
    assert (obligation.satisfied_at, obligation.satisfied_by, obligation.satisfied_by_action) == (
        local("delhi", "2026-11-25 15:00"),
        None,
        "send_quote",
    )
    assert fresh(app).reply_due_at is None


def test_the_review_decision_answers_the_application(delhi_physician: User, time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()

    services.application_approve_review(application=app, actor=Actor.staff(delhi_physician), review_notes="Eligible")

    assert app.obligations.get().satisfied_by_action == "approve_review"
    assert fresh(app).reply_due_at is None


def test_a_new_message_after_a_reply_opens_a_new_obligation_with_its_own_deadline(
    delhi_coordinator: User, time_machine: Any
) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()
    services.message_post(application=app, actor=Actor.staff(delhi_coordinator), kind="reply", body="Hello")
    time_machine.move_to(local("delhi", "2026-11-28 20:00"), tick=False)

    message = services.message_receive(application=app, actor=Actor.patient(), body="One more question")

    first, second = app.obligations.all()
    assert first.satisfied_at is not None
    assert (second.opened_at, second.opened_by, second.due_at) == (
        local("delhi", "2026-11-28 20:00"),
        message,
        local("delhi", "2026-12-01 18:30"),
    )
    assert second.is_open
    assert fresh(app).reply_due_at == second.due_at


def test_a_second_message_while_waiting_does_not_move_the_deadline(time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()
    time_machine.move_to(local("delhi", "2026-11-25 10:00"), tick=False)

    services.message_receive(application=app, actor=Actor.patient(), body="Did you get my application?")

    assert app.obligations.count() == 1
    assert fresh(app).reply_due_at == local("delhi", "2026-11-26 10:00")


@pytest.mark.parametrize(("state", "step"), [("declined", "decline"), ("withdrawn", "withdraw")])
def test_a_decline_or_withdrawal_answers_the_patient_and_so_satisfies_the_obligation(
    state: str, step: str, time_machine: Any
) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()
    time_machine.move_to(local("delhi", "2026-11-24 11:00"), tick=False)

    advance(app, state)

    obligation = app.obligations.get()
    # The patient is emailed the decision: that is the reply (SPEC §4), on time here.
    assert (obligation.satisfied_at, obligation.satisfied_by_action) == (local("delhi", "2026-11-24 11:00"), step)
    assert obligation.closed_at is None
    assert Notification.objects.filter(application=app, kind=PATIENT_NOTICES[step], audience="patient").exists()
    assert not obligation.is_open
    assert fresh(app).reply_due_at is None
    assert fresh(app).reply_warn_at is None


def test_completion_closes_an_obligation_opened_during_follow_up(delhi_manager: User, time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = advance(submit(), "in_follow_up")
    services.message_receive(application=app, actor=Actor.patient(), body="Feeling better")
    assert fresh(app).reply_due_at is not None

    services.application_complete(application=app, actor=Actor.staff(delhi_manager))

    assert app.obligations.filter(closed_at__isnull=False).count() == 1
    assert fresh(app).reply_due_at is None


def test_a_message_on_a_closed_case_opens_no_obligation(time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = advance(submit(), "withdrawn")

    services.message_receive(application=app, actor=Actor.patient(), body="Thanks for everything")

    assert app.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True).count() == 0
    assert fresh(app).reply_due_at is None


def test_every_obligation_is_kept_as_history(delhi_coordinator: User, time_machine: Any) -> None:
    coordinator = Actor.staff(delhi_coordinator)
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()
    for day in ("2026-11-24", "2026-11-25", "2026-11-26"):
        time_machine.move_to(local("delhi", f"{day} 11:00"), tick=False)
        services.message_post(application=app, actor=coordinator, kind="reply", body="Answer")
        time_machine.move_to(local("delhi", f"{day} 12:00"), tick=False)
        services.message_receive(application=app, actor=Actor.patient(), body="Question")
    time_machine.move_to(local("delhi", "2026-11-27 10:00"), tick=False)
    advance(app, "withdrawn")

    rows = list(app.obligations.values_list("opened_at", "satisfied_at", "closed_at"))

    assert [opened for opened, _, _ in rows] == [
        local("delhi", "2026-11-23 10:00"),
        local("delhi", "2026-11-24 12:00"),
        local("delhi", "2026-11-25 12:00"),
        local("delhi", "2026-11-26 12:00"),
    ]
    # Each question was answered: three replies, and the withdrawal's email for the last one.
    assert [satisfied for _, satisfied, _ in rows] == [
        local("delhi", "2026-11-24 11:00"),
        local("delhi", "2026-11-25 11:00"),
        local("delhi", "2026-11-26 11:00"),
        local("delhi", "2026-11-27 10:00"),
    ]
    assert [closed for _, _, closed in rows] == [None] * 4
    assert ReplyObligation.objects.filter(application=app).count() == 4


def test_a_transfer_keeps_the_deadline_set_by_the_first_office(delhi_coordinator: User, time_machine: Any) -> None:
    time_machine.move_to(local("delhi", "2026-11-23 10:00"), tick=False)
    app = submit()

    services.application_transfer(application=app, actor=Actor.staff(delhi_coordinator), office_code="europe")

    assert app.obligations.get().due_at == local("delhi", "2026-11-26 10:00")
    assert fresh(app).reply_due_at == local("delhi", "2026-11-26 10:00")
