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
def deliver(self: Task, notification_id: int) -> str:
    """Idempotent, keyed on the row: a second run finds the row claimed or sent and does nothing."""
    outcome, retry_in = delivery.deliver(notification_id)
    if retry_in is not None:
        # The row also carries next_attempt_at, so the relay sweep retries if this message is lost.
        raise self.retry(countdown=retry_in.total_seconds())
    return outcome
