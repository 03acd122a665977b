"""SPEC §2, §4: calendar changes are services that recompute open deadlines and log, whoever calls them."""

from __future__ import annotations

import threading
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection

from notifications.models import Notification
from offices.models import CalendarChange, CalendarOverride, Office
from offices.promise import reply_deadlines
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ReplyObligation, TransitionLog
from workflow.services import sla

IST = ZoneInfo("Asia/Kolkata")
CET = ZoneInfo("Europe/Berlin")


def ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


@pytest.mark.django_db
def test_changing_the_hours_from_the_shell_recomputes_and_logs(delhi: Office) -> None:
    app = submit(now=ist("2026-11-23 10:00"))
    assert app.reply_due_at == ist("2026-11-26 10:00")

    change = services.office_update(
        office=delhi, values={"opens_at": time(10, 0)}, user=None, now=ist("2026-11-23 11:00")
    )

    assert change is not None
    assert (change.description, change.obligations_recomputed, change.changed_by) == ("changed opens_at", 1, None)
    # 8.5 working hours a day from 10:00 to 18:30: the 17 hours run out on Thursday at 10:00 again,
    # but the warning (75 %) moves, since the day starts later.
    obligation = app.obligations.get()
    expected = reply_deadlines(Office.objects.get(pk=delhi.pk), ist("2026-11-23 10:00"))
    assert (obligation.warn_at, obligation.due_at) == (expected.warn_at, expected.due_at)
    assert fresh(app).reply_warn_at == expected.warn_at


@pytest.mark.django_db
def test_a_change_of_name_or_email_recomputes_nothing_and_logs_nothing(delhi: Office) -> None:
    submit(now=ist("2026-11-23 10:00"))

    change = services.office_update(office=delhi, values={"email": "delhi-new@clinic.example"}, user=None)

    assert change is None
    assert Office.objects.get(pk=delhi.pk).email == "delhi-new@clinic.example"
    assert not CalendarChange.objects.exists()


@pytest.mark.django_db
def test_an_invalid_calendar_is_refused_and_nothing_changes(delhi: Office) -> None:
    from django.core.exceptions import ValidationError

    submit(now=ist("2026-11-23 10:00"))

    with pytest.raises(ValidationError):
        services.office_update(office=delhi, values={"closes_at": time(8, 0)}, user=None)

    assert Office.objects.get(pk=delhi.pk).closes_at == time(18, 30)
    assert not CalendarChange.objects.exists()


@pytest.mark.django_db
def test_an_override_added_and_removed_moves_the_deadline_and_back(delhi: Office) -> None:
    app = submit(now=ist("2026-11-23 10:00"))

    services.calendar_override_set(office=delhi, day=date(2026, 11, 25), kind="closed", user=None)
    moved = fresh(app).reply_due_at
    override = CalendarOverride.objects.get(office=delhi, date=date(2026, 11, 25))
    services.calendar_override_remove(override=override, user=None)

    assert moved == ist("2026-11-27 10:00")
    assert fresh(app).reply_due_at == ist("2026-11-26 10:00")
    assert list(CalendarChange.objects.order_by("id").values_list("description", "obligations_recomputed")) == [
        ("override 2026-11-25 closed", 1),
        ("removed override 2026-11-25 closed", 1),
    ]


@pytest.mark.django_db
def test_a_transferred_obligation_keeps_running_on_the_calendar_it_started_on(
    delhi: Office, europe: Office, delhi_manager: User
) -> None:
    app = submit(now=ist("2026-11-23 10:00"))
    services.application_transfer(
        application=app, actor=Actor.staff(delhi_manager), office_code="europe", now=ist("2026-11-23 11:00")
    )
    obligation = app.obligations.get()
    assert obligation.calendar_office == delhi

    # Europe's calendar is not the one the promise runs on: its change moves nothing.
    europe_change = services.calendar_override_set(office=europe, day=date(2026, 11, 25), kind="closed", user=None)
    assert fresh(app).reply_due_at == ist("2026-11-26 10:00")
    # Delhi's is: a Delhi closure still moves the transferred case's deadline (SPEC §4: transfer keeps it).
    services.calendar_override_set(office=delhi, day=date(2026, 11, 25), kind="closed", user=None)

    assert europe_change.office == europe
    assert CalendarChange.objects.get(office=europe).obligations_recomputed == 0
    assert fresh(app).reply_due_at == ist("2026-11-27 10:00")


@pytest.mark.django_db
def test_a_warning_and_breach_moved_into_the_future_again_are_cleared_and_alerted_anew(delhi: Office) -> None:
    office_staff(delhi)  # a coordinator to warn and a manager to alert
    app = submit(now=ist("2026-11-23 10:00"))
    assert sla.sla_sweep(ist("2026-11-25 15:00")) == {"warned": 1, "breached": 0}
    assert sla.sla_sweep(ist("2026-11-26 10:30")) == {"warned": 0, "breached": 1}

    # The office declares Wednesday closed after the fact: warning Thursday 14:30, deadline Friday 10:00.
    services.calendar_override_set(
        office=delhi, day=date(2026, 11, 25), kind="closed", user=None, now=ist("2026-11-26 11:00")
    )

    obligation = app.obligations.get()
    assert (obligation.warn_at, obligation.due_at) == (ist("2026-11-26 14:30"), ist("2026-11-27 10:00"))
    assert (obligation.warned_at, obligation.breached_at) == (None, None)
    # The queue, the sweep and the report agree: on track now; warned and breached again when due.
    assert fresh(app).reply_due_at == ist("2026-11-27 10:00")
    assert sla.breach_candidates(ist("2026-11-26 12:00")).count() == 0
    assert sla.sla_sweep(ist("2026-11-26 15:00")) == {"warned": 1, "breached": 0}
    assert sla.sla_sweep(ist("2026-11-27 10:01")) == {"warned": 0, "breached": 1}
    assert Notification.objects.filter(application=app, kind="sla_warning").count() == 2
    assert Notification.objects.filter(application=app, kind="sla_breach").count() == 2


@pytest.mark.django_db
def test_the_office_admin_saves_through_the_calendar_service(client: Any, delhi: Office) -> None:
    root = User.objects.create_superuser("root", "root@clinic.example", "pw")
    client.force_login(root)
    app = submit(now=ist("2026-11-23 10:00"))
    page = client.get(f"/admin/offices/office/{delhi.pk}/change/")
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data["working_weekdays"] = "[0, 1, 2, 3, 4, 5]"
    data["opens_at"], data["closes_at"] = "09:30", "18:30"
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{key}": value for key, value in management.initial.items()})
    prefix = next(
        i.formset.prefix for i in page.context["inline_admin_formsets"] if i.formset.model is CalendarOverride
    )
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-date": "2026-11-25", f"{prefix}-0-kind": "closed"})

    response = client.post(f"/admin/offices/office/{delhi.pk}/change/", data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert fresh(app).reply_due_at == ist("2026-11-27 10:00")
    change = CalendarChange.objects.get()
    assert (change.description, change.changed_by) == ("override 2026-11-25 closed", root)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_calendar_change_and_a_transition_at_once_both_finish_with_consistent_deadlines(
    delhi: Office,
) -> None:
    """Recompute locks applications, then obligations, in id order, like a transition: no deadlock."""
    apps = [submit(now=ist("2026-11-23 10:00")) for _ in range(6)]
    reviewed = apps[2]
    # Answered already, so the question below opens a new obligation while the calendar changes.
    asked = advance(apps[5], "medically_reviewed")
    physician = office_staff(delhi)["physician"]
    outcomes: dict[str, Any] = {}
    barrier = threading.Barrier(3)

    def run(name: str, call: Any) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[name] = call()
        except Exception as exc:  # the test inspects it
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                "calendar",
                lambda: services.calendar_override_set(office=delhi, day=date(2026, 11, 25), kind="closed", user=None),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "review",
                lambda: services.application_approve_review(
                    application=reviewed.pk, actor=physician, review_notes="Eligible"
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "question",
                lambda: services.message_receive(application=asked.pk, actor=Actor.patient(), body="When?"),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    assert not any(isinstance(outcome, Exception) for outcome in outcomes.values()), outcomes
    office = Office.objects.prefetch_related("overrides").get(pk=delhi.pk)
    calendar = office.calendar()
    # Every open obligation, whenever it was opened, runs on the calendar as it is now.
    for obligation in ReplyObligation.objects.filter(satisfied_at__isnull=True, closed_at__isnull=True):
        expected = reply_deadlines(office, obligation.opened_at, calendar)
        assert (obligation.warn_at, obligation.due_at) == (expected.warn_at, expected.due_at)
        assert Application.objects.get(pk=obligation.application_id).reply_due_at == expected.due_at
    assert fresh(reviewed).state == "medically_reviewed"
    assert fresh(reviewed).reply_due_at is None
    assert TransitionLog.objects.filter(application=reviewed, action="approve_review").count() == 1
    assert CalendarChange.objects.count() == 1
