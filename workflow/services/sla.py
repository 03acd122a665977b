"""The SLA sweep (SPEC §4): warn at 75 % of the budget, breach after the deadline, each once.

Beat runs it every minute and `run_scheduled` runs it as of any instant; both may overlap, so
rows are claimed with SELECT … FOR UPDATE SKIP LOCKED and re-filtered on the flag they set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from notifications.services import staff_drafts, write_many
from offices.roles import COORDINATOR, MANAGER
from offices.selectors import office_staff
from workflow.models import Application, ReplyObligation
from workflow.services.common import SWEEP_BATCH_SIZE, sweep_batch_size
from workflow.services.obligations import OPEN

# The default batch (settings.SWEEP_BATCH_SIZE sets it).
BATCH_SIZE = SWEEP_BATCH_SIZE


def _local(moment: datetime, obligation: ReplyObligation) -> str:
    office = obligation.application.office
    return moment.astimezone(office.tz).strftime(f"%a %d %b %Y %H:%M ({office.timezone})")


def _claim(candidates: QuerySet[ReplyObligation], order: str) -> list[ReplyObligation]:
    # Ordered by the partial index's own column, so the index serves both the filter and the order.
    return list(
        candidates.select_for_update(skip_locked=True, of=("self",))
        .select_related("application__office", "application__assigned_to")
        .order_by(order)[: sweep_batch_size()]
    )


class OfficeFacts:
    """What every alert of one office shares within one sweep: read once, not once per obligation."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._staff: dict[tuple[int, str], list[User]] = {}
        self._opening: dict[int, datetime] = {}

    def staff(self, office_id: int, role: str) -> list[User]:
        if (office_id, role) not in self._staff:
            self._staff[office_id, role] = list(office_staff(office_id, role))
        return self._staff[office_id, role]

    def next_opening(self, application: Application) -> datetime:
        if application.office_id not in self._opening:
            self._opening[application.office_id] = application.office.calendar().next_opening(self.now)
        return self._opening[application.office_id]


def warn_candidates(now: datetime) -> QuerySet[ReplyObligation]:
    return ReplyObligation.objects.filter(OPEN, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now)


def breach_candidates(now: datetime) -> QuerySet[ReplyObligation]:
    return ReplyObligation.objects.filter(OPEN, breached_at__isnull=True, due_at__lte=now)


def _sweep(
    candidates: QuerySet[ReplyObligation],
    *,
    order: str,
    flag: str,
    kind: str,
    now: datetime,
    recipients: Callable[[Application, OfficeFacts], list[User]],
) -> int:
    """Claim due rows batch by batch, set `flag` and alert, each batch in one transaction.

    A batch costs the same queries whatever its size: the claim, the flag, one insert of its alerts
    and one publish after commit (plus, once per sweep, each office's staff and next opening).
    """
    done = 0
    facts = OfficeFacts(now)
    while True:
        with transaction.atomic():
            batch = _claim(candidates, order)
            if not batch:
                return done
            ReplyObligation.objects.filter(pk__in=[o.pk for o in batch]).update(**{flag: now})
            drafts = []
            for obligation in batch:
                application = obligation.application
                assignee = application.assigned_to
                drafts += staff_drafts(
                    kind=kind,
                    application=application,
                    users=recipients(application, facts),
                    # The deadline is part of the event: after a calendar change moves it and clears
                    # the flag, the warning or breach at the new instant is a new alert.
                    event_key=f"obligation-{obligation.pk}-due-{obligation.due_at:%Y%m%dT%H%M%SZ}",
                    context={
                        "obligation": obligation,
                        "due_local": _local(obligation.due_at, obligation),
                        "assignee": assignee.get_username() if assignee else "",
                    },
                    not_before=facts.next_opening(application),
                )
            # One insert for the batch's alerts; an alert already written (a run that overlapped
            # this one, a retried sweep) is left as it is.
            write_many(drafts, now=now)
            done += len(batch)


def _assignee_or_coordinators(application: Application, facts: OfficeFacts) -> list[User]:
    assignee = application.assigned_to
    if assignee is not None and assignee.is_active:
        return [assignee]
    return facts.staff(application.office_id, COORDINATOR)


def _managers(application: Application, facts: OfficeFacts) -> list[User]:
    return facts.staff(application.office_id, MANAGER)


def warn_due_soon(now: datetime) -> int:
    """Warn the assignee, or the office's coordinators when nobody is assigned."""
    return _sweep(
        warn_candidates(now),
        order="warn_at",
        flag="warned_at",
        kind="sla_warning",
        now=now,
        recipients=_assignee_or_coordinators,
    )


def breach_overdue(now: datetime) -> int:
    """Mark past-due obligations breached and escalate to the office's managers."""
    return _sweep(
        breach_candidates(now),
        order="due_at",
        flag="breached_at",
        kind="sla_breach",
        now=now,
        recipients=_managers,
    )


def sla_sweep(now: datetime) -> dict[str, int]:
    return {"warned": warn_due_soon(now), "breached": breach_overdue(now)}
