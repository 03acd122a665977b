from __future__ import annotations

from celery import shared_task
from celery.app.task import Task

from notifications import delivery


# ignore_result: the outcome is on the row. Storing it would also make every publish touch the
# result backend, which during a Redis outage blocks the committing request for many seconds.
@shared_task(
    bind=True,
    name="notifications.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def deliver(self: Task, notification_ids: int | list[int]) -> str:
    """Deliver a batch of rows (or one: a message published before batches carries a single id).

    Idempotent, keyed on the rows: a second run finds them claimed or sent and does nothing.
    """
    ids = [notification_ids] if isinstance(notification_ids, int) else list(notification_ids)
    result = delivery.deliver_batch(ids)
    if result.retry:
        # Only the rows to retry go again, in one message. Each row also carries next_attempt_at,
        # so the relay sweep retries it if this message is lost.
        assert result.retry_in is not None  # noqa: S101 - set whenever there are rows to retry
        raise self.retry(args=(result.retry,), countdown=result.retry_in.total_seconds())
    if len(ids) == 1:
        return delivery.SENT if result.sent else delivery.FAILED if result.failed else delivery.SKIPPED
    return f"sent {len(result.sent)}, failed {len(result.failed)}, skipped {len(result.skipped)}"
