"""SPEC §11 for the aftercare sweeps, on PostgreSQL: two sweeps at once act once, and each sweep reads
its rows through its partial index."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import QuerySet

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application, FollowUpReview, MonitoringCheck, TransitionLog
from workflow.services import aftercare_sweeps as sweeps

IST = ZoneInfo("Asia/Kolkata")
ADMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
DISCHARGED = datetime(2026, 11, 28, 20, 0, tzinfo=IST)


def discharged() -> Application:
    app = advance(submit(now=ADMITTED), "admitted", now=ADMITTED)
    return services.application_discharge(
        application=app,
        actor=office_staff(app.office)["physician"],
        discharge_date=date(2026, 11, 28),
        summary="Tolerated well",
        now=DISCHARGED,
    )


def together(job: Callable[[datetime], Any], now: datetime) -> list[Any]:
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(job(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_aftercare_sweeps_started_together_alert_start_and_invite_once() -> None:
    applications = [discharged() for _ in range(8)]
    # Past both checks, the automatic start and the 1-month invitation (28 December, 09:00).
    now = datetime(2026, 12, 28, 9, 0, tzinfo=IST)

    results = together(sweeps.aftercare_sweep, now)

    assert sum(r["monitoring_alerted"] for r in results) == 16
    assert sum(r["follow_up_started"] for r in results) == 8
    assert sum(r["reviews_invited"] for r in results) == 8
    assert Notification.objects.filter(kind="monitoring_due").count() == 16
    assert Notification.objects.filter(kind="follow_up_due").count() == 8
    assert TransitionLog.objects.filter(action="start_follow_up", actor_kind="system").count() == 8
    assert {a.state for a in Application.objects.filter(pk__in=[a.pk for a in applications])} == {"in_follow_up"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_end_of_the_programme_complete_each_application_once() -> None:
    applications = [discharged() for _ in range(6)]
    sweeps.aftercare_sweep(datetime(2026, 12, 1, 0, 0, tzinfo=IST))
    # The 24-month window closed at the end of 28 December 2028.
    now = datetime(2028, 12, 29, 0, 0, tzinfo=IST)

    results = together(sweeps.follow_up_missed_sweep, now)

    assert sum(results) == 30
    assert TransitionLog.objects.filter(action="complete", actor_kind="system").count() == 6
    assert TransitionLog.objects.filter(action="review_missed").count() == 30
    assert {a.state for a in Application.objects.filter(pk__in=[a.pk for a in applications])} == {"completed"}


def _clones(app: Application, count: int, state: str) -> list[Application]:
    """Many applications at once (the builders are too slow for thousands), copies of `app`."""
    fields = [f.attname for f in Application._meta.concrete_fields if f.attname not in {"id", "reference", "state"}]
    values = {name: getattr(app, name) for name in fields}
    return Application.objects.bulk_create(
        Application(**values, reference=f"CLN-2026-{i:05d}", state=state) for i in range(count)
    )


def _plan(queryset: QuerySet[Any], order: str) -> str:
    return queryset.order_by(order)[: sweeps.BATCH_SIZE].explain()


@pytest.mark.postgres
@pytest.mark.django_db
def test_each_aftercare_sweep_reads_its_rows_through_its_partial_index() -> None:
    app = discharged()
    done = DISCHARGED
    clones = _clones(app, 2000, "completed")
    # Every row already past the step each index serves: the sweeps must never read them.
    MonitoringCheck.objects.bulk_create(
        MonitoringCheck(
            application=clone,
            hours_after=hours,
            due_at=done + timedelta(hours=hours),
            alerted_at=done,
            outcome="well",
            recorded_at=done,
        )
        for clone in clones
        for hours in (24, 48)
    )
    template = {r.months: r for r in app.reviews.all()}
    reviews = [
        FollowUpReview(
            application=clone,
            months=months,
            due_date=template[months].due_date,
            window_opens=template[months].window_opens,
            window_closes=template[months].window_closes,
            invite_at=template[months].invite_at,
            invited_at=done,
            remind_at=template[months].remind_at,
            reminded_at=done,
            overdue_at=template[months].overdue_at,
            overdue_alerted_at=done,
            closes_at=template[months].closes_at,
            answered_at=done if i % 2 else None,
            missed_at=None if i % 2 else done,
        )
        for i, clone in enumerate(clones)
        for months in (1, 3, 6, 12, 24)
    ]
    FollowUpReview.objects.bulk_create(reviews)
    with connection.cursor() as cursor:
        for table in ("workflow_monitoringcheck", "workflow_followupreview", "workflow_application"):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - fixed table names
    far = datetime(2030, 1, 1, tzinfo=IST)

    assert "monitoring_checks_to_alert" in _plan(sweeps.monitoring_candidates(far), "due_at")
    assert "follow_up_to_start" in _plan(sweeps.follow_up_start_candidates(far), "follow_up_due_at")
    assert "reviews_to_invite" in _plan(sweeps.invite_candidates(far), "invite_at")
    assert "reviews_to_remind" in _plan(sweeps.remind_candidates(far), "remind_at")
    assert "reviews_to_alert_overdue" in _plan(sweeps.overdue_candidates(far), "overdue_at")
    assert "reviews_to_close" in _plan(sweeps.close_candidates(far), "closes_at")
