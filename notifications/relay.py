"""From the outbox to Celery (SPEC §6, §11).

`kick` publishes the rows a transaction just wrote, after it commits; `sweep` (beat, every
minute, and `run_scheduled`) publishes whatever is pending and due — rows whose publish failed
because Redis was down, retries whose time has come, staff alerts held for office hours — and
returns rows stuck in `sending` to `pending` (or marks them sent when the server had accepted them,
see `notifications.journal`). Publishing twice is harmless: the task claims the
row atomically before it talks to SMTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications import journal
from notifications.delivery import MAX_ATTEMPTS, batch_size
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
    """Hand rows to Celery, one message per batch of `NOTIFICATION_BATCH_SIZE` rows.

    A broker outage is logged, never raised: the sweep publishes later. Returns how many of `ids`
    (in their order) were handed over.
    """
    from notifications.tasks import deliver

    ids = list(ids)
    size = batch_size()
    published = 0
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            deliver.apply_async((chunk,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception:
            logger.warning("could not publish notifications %s; the relay sweep will", chunk, exc_info=True)
            return published
        published += len(chunk)
    return published


def kick_after_commit(notification_id: int) -> None:
    """Publish a row once the current transaction commits: one publish for all the rows it wrote.

    An event writing a patient email and five staff alerts hands them to Celery as one batch. The
    callback is registered once per transaction (again if the savepoint that registered it rolled
    back, or once it has run); `kick` re-reads the rows, so an id of rolled-back work is dropped.
    """
    conn = transaction.get_connection()
    state = conn.__dict__.setdefault("_outbox_kick", {"ids": [], "entry": None})
    entry = state["entry"]
    if entry is not None and any(registered is entry for registered in conn.run_on_commit):
        state["ids"].append(notification_id)
        return
    state["ids"] = [notification_id]  # anything else was rolled back: no callback would publish it
    # robust: the event has committed; a failure to hand the rows to Celery must not turn the
    # caller's success into an error (the relay sweep publishes them later). Outside a transaction
    # it runs at once.
    transaction.on_commit(_kick_pending, robust=True)
    state["entry"] = conn.run_on_commit[-1] if conn.in_atomic_block and conn.run_on_commit else None


def _kick_pending() -> None:
    state = transaction.get_connection().__dict__.get("_outbox_kick")
    if not state:
        return
    ids, state["ids"], state["entry"] = state["ids"], [], None
    if ids:
        kick(ids)


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
    # Those the server had accepted before their worker died (a batch records its outcomes at its
    # end) are sent, not resent.
    claims = {pk: at for pk, at in stuck.values_list("pk", "claimed_at")[:BATCH_SIZE] if at is not None}
    delivered = journal.accepted_among(claims)
    for claimed_at in {claims[pk] for pk in delivered}:
        ids = [pk for pk in delivered if claims[pk] == claimed_at]
        stuck.filter(pk__in=ids, claimed_at=claimed_at).update(
            status=Notification.Status.SENT, sent_at=claimed_at, last_error=""
        )
    journal.forget(delivered)
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
