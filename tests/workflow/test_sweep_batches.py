"""The sweeps handle their due rows in batches (SPEC §4, §5, §11): a batch of 50 costs the same
queries as a batch of 5, alerts already written are left alone, and the rows go out in one publish."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import relay
from notifications.models import Notification
from tests.workflow.conftest import submit
from workflow.models import ReplyObligation
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


def queries(sweep, now: datetime) -> tuple[int, int]:  # type: ignore[no-untyped-def]
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
