"""The reply promise enforced: warnings at 75 %, breaches after the deadline, each exactly once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from notifications.models import Notification
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import ReplyObligation
from workflow.services.sla import breach_candidates, sla_sweep, warn_candidates

SECOND = timedelta(seconds=1)

# SPEC §2 worked examples, with the instant 75 % of the two working days is used.
EXAMPLES = [
    pytest.param("delhi", "IN", "2026-11-23 10:00", "2026-11-25 14:30", "2026-11-26 10:00", id="delhi-holiday"),
    pytest.param("delhi", "IN", "2026-11-28 20:00", "2026-12-01 14:00", "2026-12-01 18:30", id="delhi-after-hours"),
    pytest.param("europe", "DE", "2026-12-18 16:00", "2026-12-22 12:00", "2026-12-22 16:00", id="europe-weekend"),
    pytest.param("europe", "DE", "2026-11-20 09:00", "2026-11-23 13:00", "2026-11-23 17:00", id="europe-closing"),
]
ZONES = {"delhi": ZoneInfo("Asia/Kolkata"), "europe": ZoneInfo("Europe/Berlin")}


def local(office: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONES[office])


def sweep_at(moment: datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return sla_sweep(timezone.now())


@pytest.fixture
def delhi_team(delhi_coordinator, delhi_manager):
    return {"coordinator": delhi_coordinator, "manager": delhi_manager}


@pytest.fixture
def europe_team(europe_coordinator, europe_manager):
    return {"coordinator": europe_coordinator, "manager": europe_manager}


@pytest.fixture
def teams(delhi_team, europe_team):
    return {"delhi": delhi_team, "europe": europe_team}


@pytest.mark.django_db
@pytest.mark.parametrize(("office", "country", "received", "warn", "due"), EXAMPLES)
def test_it_warns_once_after_75_percent_and_breaches_once_after_the_deadline(
    teams, office, country, received, warn, due
):
    received_at, warn_at, due_at = local(office, received), local(office, warn), local(office, due)
    with time_machine.travel(received_at, tick=False):
        application = submit(country=country, office=office)
    obligation = application.obligations.get()
    assert (obligation.warn_at, obligation.due_at) == (warn_at, due_at)

    assert sweep_at(warn_at - SECOND) == {"warned": 0, "breached": 0}
    assert sweep_at(warn_at) == {"warned": 1, "breached": 0}
    assert sweep_at(warn_at + SECOND) == {"warned": 0, "breached": 0}
    warnings = Notification.objects.filter(kind="sla_warning")
    assert [n.recipient_user for n in warnings] == [teams[office]["coordinator"]]

    assert sweep_at(due_at - SECOND) == {"warned": 0, "breached": 0}
    assert sweep_at(due_at) == {"warned": 0, "breached": 1}
    assert sweep_at(due_at + timedelta(hours=5)) == {"warned": 0, "breached": 0}
    breaches = Notification.objects.filter(kind="sla_breach")
    assert [n.recipient_user for n in breaches] == [teams[office]["manager"]]
    obligation.refresh_from_db()
    assert (obligation.warned_at, obligation.breached_at) == (warn_at, due_at)


@pytest.mark.django_db
@pytest.mark.parametrize(("office", "country", "received", "warn", "due"), EXAMPLES)
def test_a_reply_between_warning_and_deadline_stops_the_breach(teams, office, country, received, warn, due):
    received_at, warn_at, due_at = local(office, received), local(office, warn), local(office, due)
    with time_machine.travel(received_at, tick=False):
        application = submit(country=country, office=office)
    sweep_at(warn_at)
    coordinator = Actor.staff(teams[office]["coordinator"])
    services.message_post(application=application, actor=coordinator, kind="reply", body="We are on it.", now=warn_at)
    assert sweep_at(due_at + timedelta(days=3)) == {"warned": 0, "breached": 0}
    assert not Notification.objects.filter(kind="sla_breach").exists()


@pytest.mark.django_db
def test_a_reply_before_75_percent_means_no_warning_at_all(delhi_team):
    received_at = local("delhi", "2026-11-23 10:00")
    with time_machine.travel(received_at, tick=False):
        application = submit()
        services.message_post(
            application=application, actor=Actor.staff(delhi_team["coordinator"]), kind="reply", body="Hello"
        )
    assert sweep_at(received_at + timedelta(days=10)) == {"warned": 0, "breached": 0}
    assert not Notification.objects.filter(kind__in=["sla_warning", "sla_breach"]).exists()


@pytest.mark.django_db
def test_a_warning_goes_to_the_assignee_when_there_is_one(delhi_team, delhi_manager):
    # Assigned to the manager, not a coordinator: the coordinators are whom an unassigned case warns.
    received_at = local("delhi", "2026-11-23 10:00")
    with time_machine.travel(received_at, tick=False):
        application = submit()
        services.application_assign(application=application, actor=Actor.staff(delhi_manager), user_id=delhi_manager.pk)
    sweep_at(local("delhi", "2026-11-25 14:30"))
    assert [n.recipient_user for n in Notification.objects.filter(kind="sla_warning")] == [delhi_manager]


@pytest.mark.django_db
def test_a_staff_alert_raised_at_night_waits_for_the_next_opening(delhi_team):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    application.obligations.update(due_at=local("delhi", "2026-11-26 22:00"))
    sweep_at(local("delhi", "2026-11-26 22:00"))
    breach = Notification.objects.get(kind="sla_breach")
    assert breach.not_before == local("delhi", "2026-11-27 09:30")


@pytest.mark.django_db
def test_a_reply_after_a_breach_leaves_the_breach_recorded(delhi_team):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    sweep_at(local("delhi", "2026-11-26 10:00"))
    later = local("delhi", "2026-11-27 11:00")
    services.message_post(
        application=application, actor=Actor.staff(delhi_team["coordinator"]), kind="reply", body="Sorry", now=later
    )
    obligation = application.obligations.get()
    assert obligation.breached_at == local("delhi", "2026-11-26 10:00")
    assert obligation.satisfied_at == later


@pytest.mark.django_db
def test_a_new_inbound_message_after_a_reply_opens_a_new_obligation_with_its_own_deadline(delhi_team):
    coordinator = Actor.staff(delhi_team["coordinator"])
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    services.message_post(
        application=application, actor=coordinator, kind="reply", body="Hi", now=local("delhi", "2026-11-23 11:00")
    )
    services.message_receive(
        application=application,
        actor=Actor.patient(),
        body="A question",
        now=local("delhi", "2026-11-28 20:00"),
    )
    first, second = application.obligations.order_by("opened_at")
    assert first.satisfied_at is not None
    assert second.due_at == local("delhi", "2026-12-01 18:30")
    application.refresh_from_db()
    assert application.reply_due_at == second.due_at


@pytest.mark.django_db
def test_a_transfer_keeps_the_deadline(delhi_team, delhi_manager, europe_manager):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    due = application.reply_due_at
    services.application_transfer(
        application=application,
        actor=Actor.staff(delhi_manager),
        office_code="europe",
        now=local("delhi", "2026-11-23 12:00"),
    )
    application.refresh_from_db()
    assert application.reply_due_at == due
    sweep_at(due)
    # The breach is escalated to the managers of the office that has the case now.
    assert [n.recipient_user for n in Notification.objects.filter(kind="sla_breach")] == [europe_manager]


@pytest.mark.django_db
def test_a_withdrawal_answers_the_obligation_and_nothing_is_swept(delhi_team):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    with time_machine.travel(local("delhi", "2026-11-23 11:00"), tick=False):
        advance(application, "withdrawn")
    obligation = application.obligations.get()
    assert (obligation.satisfied_by_action, obligation.closed_at) == ("withdraw", None)
    assert sweep_at(local("delhi", "2026-12-31 12:00")) == {"warned": 0, "breached": 0}


@pytest.mark.django_db
def test_run_scheduled_runs_the_sweep_as_of_the_given_instant(delhi_team, capsys):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        submit()
    call_command("run_scheduled", "--at", "2026-11-26T04:30:00Z")
    out = capsys.readouterr().out
    assert "sla_sweep: {'warned': 0, 'breached': 1}" in out
    assert ReplyObligation.objects.get().breached_at == datetime.fromisoformat("2026-11-26T04:30:00+00:00")


@pytest.mark.django_db
def test_run_scheduled_rejects_an_instant_without_an_offset():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="needs a UTC offset"):
        call_command("run_scheduled", "--at", "2026-11-26T04:30:00")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("run_scheduled", "--at", "tomorrow")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_started_together_escalate_once(delhi_team):
    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        applications = [submit() for _ in range(30)]
    now = local("delhi", "2026-11-26 10:00")
    barrier = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(sla_sweep(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["breached"] for r in results) == len(applications)
    assert Notification.objects.filter(kind="sla_breach").count() == len(applications)
    assert ReplyObligation.objects.filter(breached_at=now).count() == len(applications)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sweep_reads_open_obligations_through_the_partial_indexes(delhi_team):
    from workflow.models import Application

    with time_machine.travel(local("delhi", "2026-11-23 10:00"), tick=False):
        application = submit()
    # Many closed obligations that the sweep must never read.
    base = application.obligations.get()
    now = timezone.now()
    ReplyObligation.objects.filter(pk=base.pk).update(satisfied_at=now)
    others = [Application.objects.get(pk=application.pk)]
    ReplyObligation.objects.bulk_create(
        ReplyObligation(
            application=others[0],
            calendar_office=others[0].office,
            opened_at=base.opened_at,
            warn_at=base.warn_at,
            due_at=base.due_at - timedelta(minutes=i),
            satisfied_at=now,
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_replyobligation")
    breach_plan = breach_candidates(now).order_by("due_at")[:200].explain()
    warn_plan = warn_candidates(now).order_by("warn_at")[:200].explain()
    assert "open_obligations_by_due" in breach_plan
    assert "open_obligations_by_warn" in warn_plan
