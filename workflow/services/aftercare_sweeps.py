"""The aftercare sweeps (SPEC §5, §11): every aftercare deadline is a column beat sweeps, never a countdown.

One sweep per step, each reading only the rows still waiting for it through its partial index
(see the models' `Meta.indexes`). Beat and `run_scheduled` may overlap: each sweep claims its rows
with SKIP LOCKED together with their application's row, re-checks them under the lock, and stamps
them in the same transaction as the notification or transition it writes, so a step happens once.
A row of an application no longer in aftercare (a manager completed it early) is stamped without
an email: the step has nothing left to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import models, transaction

from notifications import events
from notifications.services import staff_drafts, write_many
from offices.roles import Role
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, FollowUpReview, MonitoringCheck, State, TransitionLog
from workflow.models.aftercare import FINAL_REVIEW_MONTHS
from workflow.services.common import SWEEP_BATCH_SIZE, history_row, sweep_batch_size
from workflow.services.sla import OfficeFacts
from workflow.services.transitions import application_complete, application_start_follow_up

AFTERCARE = (State.DISCHARGED, State.IN_FOLLOW_UP)
# Unanswered and not missed: still in the follow-up programme.
WAITING = models.Q(answered_at__isnull=True, missed_at__isnull=True)

Row = TypeVar("Row", MonitoringCheck, FollowUpReview)

# The default batch (settings.SWEEP_BATCH_SIZE sets it).
BATCH_SIZE = SWEEP_BATCH_SIZE


def _sweep(queryset: models.QuerySet[Row], order: str, act: Callable[[list[Row]], None]) -> int:
    """Claim batches of due rows (SKIP LOCKED, with their application) and act on each batch, until none is left.

    `act` handles a whole batch in a constant number of queries (one insert of its notifications,
    one update of its stamps), not a few per row.
    """
    done = polls = 0
    while True:
        with transaction.atomic():
            batch = list(
                queryset.select_for_update(skip_locked=True, of=("self", "application"))
                .select_related("application__office")
                .order_by(order, "pk")[: sweep_batch_size()]
            )
            if batch:
                act(batch)
        if not batch:
            if _still_held(queryset, polls):
                polls += 1
                continue
            return done
        done += len(batch)


# A due row another run holds (in this step or another: each locks the application) is skipped.
# Once nothing else is left, a run waits a little for such rows before leaving them to the next
# run, so that two runs at once share the work rather than each leaving what the other held.
PATIENT_POLLS = 40
POLL_SECONDS = 0.05


def _still_held(queryset: models.QuerySet[Any], polls: int) -> bool:
    """Rows are still due that someone else holds: wait a moment (at most ~2 s a step) and look again."""
    if polls >= PATIENT_POLLS or not queryset.exists():
        return False
    time.sleep(POLL_SECONDS)
    return True


def _stamp(rows: list[Row], field: str, now: datetime) -> None:
    model = type(rows[0])
    model.objects.filter(pk__in=[row.pk for row in rows]).update(**{field: now})
    for row in rows:
        setattr(row, field, now)


def monitoring_candidates(now: datetime) -> models.QuerySet[MonitoringCheck]:
    return MonitoringCheck.objects.filter(alerted_at__isnull=True, recorded_at__isnull=True, due_at__lte=now)


def monitoring_due_sweep(now: datetime) -> int:
    """Alert the office's coordinators that a monitoring check is due (held for office hours)."""

    facts = OfficeFacts(now)

    def act(checks: list[MonitoringCheck]) -> None:
        drafts = []
        for check in checks:
            application = check.application
            if application.state in AFTERCARE:
                drafts += staff_drafts(
                    kind="monitoring_due",
                    application=application,
                    users=facts.staff(application.office_id, Role.COORDINATOR),
                    not_before=facts.next_opening(application),
                    **events.monitoring_due_item(application, check),
                )
        write_many(drafts, now=now)
        _stamp(checks, "alerted_at", now)

    return _sweep(monitoring_candidates(now), "due_at", act)


def follow_up_start_candidates(now: datetime) -> models.QuerySet[Application]:
    return Application.objects.filter(state=State.DISCHARGED, follow_up_due_at__isnull=False, follow_up_due_at__lte=now)


def follow_up_start_sweep(now: datetime) -> int:
    """`start_follow_up` by itself 48 h after discharge, as the system (in the history)."""
    started = polls = 0
    while True:
        with transaction.atomic():
            batch = list(
                follow_up_start_candidates(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("office")
                .order_by("follow_up_due_at", "pk")[: sweep_batch_size()]
            )
            if not batch and _still_held(follow_up_start_candidates(now), polls):
                polls += 1
                continue
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

    def act(reviews: list[FollowUpReview]) -> None:
        emails = [
            (review.application, *events.follow_up_due_item(review.application, review=review, reminder=False))
            for review in reviews
            if review.application.state in AFTERCARE
        ]
        write_many(events.patient_drafts(emails, now=now), now=now)
        _stamp(reviews, "invited_at", now)

    return _sweep(invite_candidates(now), "invite_at", act)


def follow_up_remind_sweep(now: datetime) -> int:
    """7 days after the due date, unanswered: the patient's reminder (follow_up_reminder)."""

    def act(reviews: list[FollowUpReview]) -> None:
        # Only after the invitation: a sweep that was down for a week sends the invitation alone.
        emails = [
            (review.application, *events.follow_up_due_item(review.application, review=review, reminder=True))
            for review in reviews
            if review.application.state in AFTERCARE and review.invited_at is not None and review.invited_at < now
        ]
        write_many(events.patient_drafts(emails, now=now), now=now)
        _stamp(reviews, "reminded_at", now)

    return _sweep(remind_candidates(now), "remind_at", act)


def follow_up_overdue_sweep(now: datetime) -> int:
    """14 days after the due date, unanswered: the office's coordinators are alerted (office hours)."""

    facts = OfficeFacts(now)

    def act(reviews: list[FollowUpReview]) -> None:
        drafts = []
        for review in reviews:
            application = review.application
            if application.state in AFTERCARE:
                drafts += staff_drafts(
                    kind="follow_up_overdue",
                    application=application,
                    users=facts.staff(application.office_id, Role.COORDINATOR),
                    not_before=facts.next_opening(application),
                    **events.follow_up_overdue_item(review),
                )
        write_many(drafts, now=now)
        _stamp(reviews, "overdue_alerted_at", now)

    return _sweep(overdue_candidates(now), "overdue_at", act)


def follow_up_missed_sweep(now: datetime) -> int:
    """The window closed unanswered: missed (in the history). A missed 24-month review completes."""

    def act(reviews: list[FollowUpReview]) -> None:
        _stamp(reviews, "missed_at", now)
        TransitionLog.objects.bulk_create(
            history_row(
                review.application,
                action="review_missed",
                actor=Actor.system(),
                at=now,
                params={"months": review.months, "due_date": review.due_date.isoformat()},
            )
            for review in reviews
        )
        for review in reviews:
            application = review.application
            # The end of the programme is a transition of its own (history, notifications): once
            # per application, after its last review, so it stays one call per row.
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
