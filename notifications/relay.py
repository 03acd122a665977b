"""From the outbox to Celery (SPEC §6, §11).

`kick` publishes the rows a transaction just wrote, after it commits; `sweep` (beat, every
minute, and `run_scheduled`) publishes whatever is pending and due — rows whose publish failed
because Redis was down, retries whose time has come, staff alerts held for office hours — and
returns rows stuck in `sending` to `pending`. Publishing twice is harmless: the task claims the
row atomically before it talks to SMTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.delivery import MAX_ATTEMPTS
from notifications.models import Notification

logger = logging.getLogger(__name__)

# A published row is published again only after this, in case its message was lost.
REPUBLISH_AFTER = timedelta(minutes=5)
# A row in `sending` this long belongs to a worker that died mid-send.
STUCK_AFTER = timedelta(minutes=10)
BATCH_SIZE = 500
# One immediate retry: it revives a pooled connection that went stale when Redis restarted, and a
# broker that is really down fails at once instead of holding up the transaction's caller.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def publish(ids: Iterable[int]) -> int:
    """Hand rows to Celery. A broker outage is logged, never raised: the sweep publishes later."""
    from notifications.tasks import deliver

    published = 0
    for notification_id in ids:
        try:
            deliver.apply_async((notification_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception:
            logger.warning("could not publish notification %s; the relay sweep will", notification_id, exc_info=True)
            return published
        published += 1
    return published


def kick(ids: list[int]) -> None:
    """Publish rows written by a transaction that has just committed, if they are due now."""
    due = list(
        Notification.objects.filter(
            pk__in=ids, status=Notification.Status.PENDING, not_before__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    publish(due)


def recover_stuck(now: datetime) -> int:
    """Rows whose worker died mid-send go back to pending; resent, they carry the same Message-ID.

    A row that has used its attempts is failed instead, so that a message which kills its worker
    every time is shown to staff rather than tried forever.
    """
    stuck = Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=now - STUCK_AFTER)
    stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Notification.Status.FAILED, claimed_at=None, last_error="The worker stopped while sending it."
    )
    return stuck.update(status=Notification.Status.PENDING, claimed_at=None, next_attempt_at=None)


def sweep(now: datetime) -> dict[str, int]:
    recovered = recover_stuck(now)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, not_before__lte=now)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("not_before")
            .values_list("pk", flat=True)[:BATCH_SIZE]
        )
        # Claimed for publishing: another sweep skips them until REPUBLISH_AFTER.
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=now + REPUBLISH_AFTER)
    published = publish(ids)
    if published < len(ids):
        # The broker is down: what was not handed over stays due for the next sweep, not for
        # REPUBLISH_AFTER.
        Notification.objects.filter(
            pk__in=ids[published:], status=Notification.Status.PENDING, next_attempt_at=now + REPUBLISH_AFTER
        ).update(next_attempt_at=None)
    return {"recovered": recovered, "published": published, "due": len(ids)}
