"""The aftercare sweeps (SPEC §5, §11): every aftercare deadline is a column beat sweeps, never a countdown.

One sweep per step, each reading only the rows still waiting for it through its partial index
(see the models' `Meta.indexes`). Beat and `run_scheduled` may overlap: each sweep claims its rows
with SKIP LOCKED together with their application's row, re-checks them under the lock, and stamps
them in the same transaction as the notification or transition it writes, so a step happens once.
A row of an application no longer in aftercare (a manager completed it early) is stamped without
an email: the step has nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import models, transaction

from notifications import events
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, FollowUpReview, MonitoringCheck, State
from workflow.models.aftercare import FINAL_REVIEW_MONTHS
from workflow.services.common import record
from workflow.services.transitions import application_complete, application_start_follow_up

BATCH_SIZE = 200
AFTERCARE = (State.DISCHARGED, State.IN_FOLLOW_UP)
# Unanswered and not missed: still in the follow-up programme.
WAITING = models.Q(answered_at__isnull=True, missed_at__isnull=True)

Row = TypeVar("Row", MonitoringCheck, FollowUpReview)


def _sweep(queryset: models.QuerySet[Row], order: str, act: Callable[[Row], None]) -> int:
    """Claim batches of due rows (SKIP LOCKED, with their application) and act on each, until none is left."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                queryset.select_for_update(skip_locked=True, of=("self", "application"))
                .select_related("application__office")
                .order_by(order, "pk")[:BATCH_SIZE]
            )
            if not batch:
                return done
            for row in batch:
                act(row)
                done += 1


def monitoring_candidates(now: datetime) -> models.QuerySet[MonitoringCheck]:
    return MonitoringCheck.objects.filter(alerted_at__isnull=True, recorded_at__isnull=True, due_at__lte=now)


def monitoring_due_sweep(now: datetime) -> int:
    """Alert the office's coordinators that a monitoring check is due (held for office hours)."""

    def act(check: MonitoringCheck) -> None:
        if check.application.state in AFTERCARE:
            events.monitoring_due(check.application, check=check, now=now)
        check.alerted_at = now
        check.save(update_fields=["alerted_at"])

    return _sweep(monitoring_candidates(now), "due_at", act)


def follow_up_start_candidates(now: datetime) -> models.QuerySet[Application]:
    return Application.objects.filter(state=State.DISCHARGED, follow_up_due_at__isnull=False, follow_up_due_at__lte=now)


def follow_up_start_sweep(now: datetime) -> int:
    """`start_follow_up` by itself 48 h after discharge, as the system (in the history)."""
    started = 0
    while True:
        with transaction.atomic():
            batch = list(
                follow_up_start_candidates(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("office")
                .order_by("follow_up_due_at", "pk")[:BATCH_SIZE]
            )
            if not batch:
                return started
            for application in batch:
                try:
                    application_start_follow_up(application=application, actor=Actor.system(), now=now)
                except Conflict:
                    # Cannot happen under our lock; never let one row stop the sweep.
                    continue
                started += 1


def invite_candidates(now: datetime) -> models.QuerySet[FollowUpReview]:
    return FollowUpReview.objects.filter(WAITING, invited_at__isnull=True, invite_at__lte=now)


def remind_candidates(now: datetime) -> models.QuerySet[FollowUpReview]:
    return FollowUpReview.objects.filter(WAITING, reminded_at__isnull=True, remind_at__lte=now)


def overdue_candidates(now: datetime) -> models.QuerySet[FollowUpReview]:
    return FollowUpReview.objects.filter(WAITING, overdue_alerted_at__isnull=True, overdue_at__lte=now)


def close_candidates(now: datetime) -> models.QuerySet[FollowUpReview]:
    return FollowUpReview.objects.filter(WAITING, closes_at__lte=now)


def follow_up_invite_sweep(now: datetime) -> int:
    """On the due date, the patient's questionnaire link (follow_up_due)."""

    def act(review: FollowUpReview) -> None:
        if review.application.state in AFTERCARE:
            events.follow_up_due(review.application, review=review, reminder=False, now=now)
        review.invited_at = now
        review.save(update_fields=["invited_at"])

    return _sweep(invite_candidates(now), "invite_at", act)


def follow_up_remind_sweep(now: datetime) -> int:
    """7 days after the due date, unanswered: the patient's reminder (follow_up_reminder)."""

    def act(review: FollowUpReview) -> None:
        # Only after the invitation: a sweep that was down for a week sends the invitation alone.
        if review.application.state in AFTERCARE and review.invited_at is not None and review.invited_at < now:
            events.follow_up_due(review.application, review=review, reminder=True, now=now)
        review.reminded_at = now
        review.save(update_fields=["reminded_at"])

    return _sweep(remind_candidates(now), "remind_at", act)


def follow_up_overdue_sweep(now: datetime) -> int:
    """14 days after the due date, unanswered: the office's coordinators are alerted (office hours)."""

    def act(review: FollowUpReview) -> None:
        if review.application.state in AFTERCARE:
            events.follow_up_overdue(review.application, review=review, now=now)
        review.overdue_alerted_at = now
        review.save(update_fields=["overdue_alerted_at"])

    return _sweep(overdue_candidates(now), "overdue_at", act)


def follow_up_missed_sweep(now: datetime) -> int:
    """The window closed unanswered: missed (in the history). A missed 24-month review completes."""

    def act(review: FollowUpReview) -> None:
        application = review.application
        review.missed_at = now
        review.save(update_fields=["missed_at"])
        record(
            application,
            action="review_missed",
            actor=Actor.system(),
            at=now,
            params={"months": review.months, "due_date": review.due_date.isoformat()},
        )
        if review.months == FINAL_REVIEW_MONTHS and application.state == State.IN_FOLLOW_UP:
            application_complete(application=application, actor=Actor.system(), now=now)

    return _sweep(close_candidates(now), "closes_at", act)


def aftercare_sweep(now: datetime) -> dict[str, Any]:
    """Every aftercare step due by `now` (`config.scheduling.JOBS`).

    Missed first: a review whose window closed while the jobs were down is missed, not invited late.
    """
    return {
        "monitoring_alerted": monitoring_due_sweep(now),
        "follow_up_started": follow_up_start_sweep(now),
        "reviews_missed": follow_up_missed_sweep(now),
        "reviews_invited": follow_up_invite_sweep(now),
        "reviews_reminded": follow_up_remind_sweep(now),
        "reviews_overdue": follow_up_overdue_sweep(now),
    }
