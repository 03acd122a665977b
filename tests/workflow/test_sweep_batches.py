"""The sweeps handle their due rows in batches (SPEC §4, §5, §11): a batch of 50 costs the same
queries as a batch of 5, alerts already written are left alone, and the rows go out in one publish."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import relay
from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, FollowUpReview, ReplyObligation
from workflow.services import aftercare_sweeps as sweeps
from workflow.services.reminders import reminder_sweep
from workflow.services.sla import breach_overdue, sla_sweep

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

KOLKATA = ZoneInfo("Asia/Kolkata")
RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)
# After every deadline of an application received at RECEIVED (due Thursday 10:00).
LATER = datetime(2026, 11, 26, 10, 0, tzinfo=KOLKATA)


def received(count: int) -> None:
    with time_machine.travel(RECEIVED, tick=False):
        for i in range(count):
            submit(email=f"patient{i}-{count}@example.org")


def queries(sweep: Callable[[datetime], Any], now: datetime) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        done = sweep(now)
    return len(captured), done


def test_a_breach_sweep_of_fifty_runs_as_many_queries_as_one_of_five(delhi_manager, delhi_coordinator):
    received(5)
    small, done = queries(breach_overdue, LATER)
    assert done == 5
    received(50)
    large, done = queries(breach_overdue, LATER + timedelta(minutes=1))
    assert done == 50
    assert small == large
    assert Notification.objects.filter(kind="sla_breach").count() == 55


def test_a_batch_of_breaches_is_handed_to_celery_in_one_publish(
    delhi_manager, monkeypatch, django_capture_on_commit_callbacks
):
    publishes: list[list[int]] = []
    monkeypatch.setattr(relay, "publish", lambda ids: publishes.append(list(ids)) or len(publishes[-1]))
    with django_capture_on_commit_callbacks(execute=True):
        received(12)  # committed, its own emails handed over
    publishes.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sla_sweep(LATER)["breached"] == 12
    assert len(callbacks) == 1
    (published,) = publishes
    assert sorted(published) == sorted(Notification.objects.filter(kind="sla_breach").values_list("pk", flat=True))


def test_an_alert_already_written_for_the_event_is_not_written_again(delhi_manager):
    received(3)
    assert sla_sweep(LATER)["breached"] == 3
    first = {n.dedup_key: n.pk for n in Notification.objects.filter(kind="sla_breach")}
    # A second run after its flag was lost (a restored backup, say) writes no second alert.
    ReplyObligation.objects.update(breached_at=None)
    assert sla_sweep(LATER + timedelta(minutes=5))["breached"] == 3
    assert {n.dedup_key: n.pk for n in Notification.objects.filter(kind="sla_breach")} == first


def test_batches_follow_the_sweep_batch_size_setting(settings, delhi_manager):
    settings.SWEEP_BATCH_SIZE = 4
    received(10)
    with CaptureQueriesContext(connection) as captured:
        assert breach_overdue(LATER) == 10
    claims = [q for q in captured if "FOR UPDATE" in q["sql"]]
    assert len(claims) == 4  # 4 + 4 + 2, and the empty claim that ends the sweep


# ---- reminders ----

QUOTED = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)
# 09:00 in Delhi three days before the quote's last valid day (23 December) and the admission.
QUOTE_DUE = datetime(2026, 12, 20, 9, 0, tzinfo=KOLKATA)
ADMISSION = date(2026, 12, 10)
CONSENT_DUE = datetime(2026, 12, 7, 9, 0, tzinfo=KOLKATA)


def quoted(count: int, *, scheduled: int = 0) -> None:
    """`count` quoted applications; the first `scheduled` accepted with an admission (a consent reminder)."""
    for i in range(count):
        app = advance(submit(now=QUOTED, email=f"quoted{i}-{count}@example.org"), "quoted", now=QUOTED)
        if i < scheduled:
            coordinator = office_staff(app.office)["coordinator"]
            services.quote_accept(application=app, actor=coordinator, now=QUOTED)
            services.admission_schedule(application=app, actor=coordinator, admission_date=ADMISSION, now=QUOTED)


def test_a_reminder_sweep_of_many_runs_as_many_queries_as_one_of_few():
    quoted(3, scheduled=1)
    small, done = queries(reminder_sweep, CONSENT_DUE)
    assert done == {"sent": 1, "cancelled": 0}
    small_quotes, done = queries(reminder_sweep, QUOTE_DUE)
    assert done == {"sent": 2, "cancelled": 0}
    quoted(12, scheduled=4)
    large, done = queries(reminder_sweep, CONSENT_DUE + timedelta(minutes=1))
    assert done == {"sent": 4, "cancelled": 0}
    large_quotes, done = queries(reminder_sweep, QUOTE_DUE + timedelta(minutes=1))
    assert done == {"sent": 8, "cancelled": 0}
    assert (small, small_quotes) == (large, large_quotes)
    assert Notification.objects.filter(kind="quote_expiring").count() == 10
    assert Notification.objects.filter(kind="consent_reminder").count() == 5


# ---- aftercare ----

ADMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)
DISCHARGED = datetime(2026, 11, 28, 20, 0, tzinfo=KOLKATA)


def discharged(count: int) -> list[Application]:
    apps = []
    for i in range(count):
        app = advance(submit(now=ADMITTED, email=f"aftercare{i}-{count}@example.org"), "admitted", now=ADMITTED)
        apps.append(
            services.application_discharge(
                application=app,
                actor=office_staff(app.office)["physician"],
                discharge_date=date(2026, 11, 28),
                summary="Tolerated well",
                now=DISCHARGED,
            )
        )
    return apps


def aftercare_queries(apps: list[Application]) -> dict[str, int]:
    """Queries of each notifying aftercare sweep at its first instant for these applications."""
    check_due = max(c.due_at for a in apps for c in a.monitoring_checks.all())
    review = FollowUpReview.objects.filter(application=apps[0]).order_by("months").first()
    assert review is not None
    steps = [
        ("monitoring", sweeps.monitoring_due_sweep, check_due),
        ("invite", sweeps.follow_up_invite_sweep, review.invite_at),
        ("remind", sweeps.follow_up_remind_sweep, review.remind_at),
        ("overdue", sweeps.follow_up_overdue_sweep, review.overdue_at),
        ("missed", sweeps.follow_up_missed_sweep, review.closes_at),
    ]
    counts = {}
    for name, sweep, at in steps:
        counted, done = queries(sweep, at)
        assert done == len(apps) * (2 if name == "monitoring" else 1), name
        counts[name] = counted
    return counts


def test_each_aftercare_sweep_runs_as_many_queries_for_many_rows_as_for_few(delhi_coordinator):
    small = aftercare_queries(discharged(2))
    large = aftercare_queries(discharged(8))
    assert small == large
    assert Notification.objects.filter(kind="follow_up_due").count() == 10
    assert Notification.objects.filter(kind="follow_up_reminder").count() == 10
    assert Notification.objects.filter(kind="follow_up_overdue", recipient_user=delhi_coordinator).count() == 10
