"""Sending outbox rows by email, a batch at a time: claim, send, record (SPEC §6, §11).

A batch costs the same few queries whatever its size: one `UPDATE … RETURNING` claims its rows (of
two workers, or a redelivered message, only one wins each row), one reads their attachments, one
records every outcome; the messages go out over one SMTP connection. Each message the server
accepts is noted at once (`notifications.journal`), so a worker that dies mid-batch has the rows it
already delivered marked sent by the relay, not sent again.
"""

from __future__ import annotations

import logging
import random
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection
from django.db.models import F
from django.utils import timezone

from notifications import journal
from notifications.models import Notification, NotificationAttachment

logger = logging.getLogger(__name__)

# 30 s, 1, 2, 4 and then 5 minutes apart: about half an hour of an SMTP outage before giving up.
MAX_ATTEMPTS = 9
# The first retry's delay; `NOTIFICATION_RETRY_BASE_SECONDS` overrides it (a test's worker process
# retries in a fraction of a second).
BASE_DELAY = timedelta(seconds=30)
# A Celery countdown of a few minutes at most (SPEC §11), far below the broker's visibility
# timeout (an hour), so no retry outlives its message; the row's next_attempt_at backs it up.
MAX_DELAY = timedelta(minutes=5)

SENT, SKIPPED, RETRY, FAILED = "sent", "skipped", "retry", "failed"


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx reply): retrying cannot help."""


def base_delay() -> timedelta:
    seconds = getattr(settings, "NOTIFICATION_RETRY_BASE_SECONDS", None)
    return BASE_DELAY if seconds is None else timedelta(seconds=float(seconds))


def backoff(attempt: int) -> timedelta:
    """Exponential, capped, with jitter (half to all of the step) so that retries after an outage spread out."""
    ceiling = min(MAX_DELAY, base_delay() * (2 ** max(0, attempt - 1)))
    return timedelta(seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))  # noqa: S311


def batch_size() -> int:
    """How many rows one delivery task claims and sends over one SMTP connection."""
    return int(getattr(settings, "NOTIFICATION_BATCH_SIZE", 50))


_TABLE = Notification._meta.db_table
_FIELDS = Notification._meta.concrete_fields
_COLUMNS = ", ".join(f'n."{f.column}"' for f in _FIELDS)

# The rows asked for that are still pending, locked or skipped (SKIP LOCKED: a row another
# transaction holds is that transaction's), set to sending in the same statement.
CLAIM_SQL = f"""
UPDATE {_TABLE} AS n
   SET status = 'sending', claimed_at = %s, attempts = n.attempts + 1
  FROM (SELECT id FROM {_TABLE} WHERE id = ANY(%s) AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED) AS due
 WHERE n.id = due.id
RETURNING {_COLUMNS}
"""  # noqa: S608 - names from the model; every value is a bound parameter

# Every outcome of a batch in one statement. Only rows still in this batch's claim are written: a
# row the relay recovered meanwhile belongs to whoever claimed it next.
RECORD_SQL = f"""
UPDATE {_TABLE} AS n
   SET status = r.status,
       last_error = r.error,
       sent_at = r.sent_at,
       claimed_at = CASE WHEN r.status = 'pending' THEN NULL ELSE n.claimed_at END,
       next_attempt_at = CASE WHEN r.status = 'pending' THEN r.next_attempt_at ELSE n.next_attempt_at END
  FROM unnest(%s::bigint[], %s::varchar[], %s::text[], %s::timestamptz[], %s::timestamptz[])
       AS r(id, status, error, sent_at, next_attempt_at)
 WHERE n.id = r.id AND n.status = 'sending' AND n.claimed_at = %s
"""  # noqa: S608 - names from the model; every value is a bound parameter


def claim_batch(ids: Sequence[int], now: datetime) -> list[Notification]:
    """pending → sending for those of `ids` still pending, in one statement."""
    if not ids:
        return []
    if connection.vendor != "postgresql":
        # SQLite (development): one writer at a time, so each row's guarded update is its claim.
        won = [
            pk
            for pk in ids
            if Notification.objects.filter(pk=pk, status=Notification.Status.PENDING).update(
                status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
        ]
        return list(Notification.objects.filter(pk__in=won).order_by("pk"))
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [now, list(ids)])
        rows = cursor.fetchall()
    names = [f.attname for f in _FIELDS]
    claimed = [Notification.from_db(connection.alias, names, row) for row in rows]
    return sorted(claimed, key=lambda n: n.pk)


def claim(notification_id: int, now: datetime) -> Notification | None:
    """pending → sending, atomically: of two workers (or a redelivered message) only one wins."""
    claimed = claim_batch([notification_id], now)
    return claimed[0] if claimed else None


def _attachments(notifications: Sequence[Notification]) -> dict[int, list[NotificationAttachment]]:
    # Read from the rows on every attempt: a resend carries the same files under the same Message-ID.
    files: dict[int, list[NotificationAttachment]] = defaultdict(list)
    for attachment in NotificationAttachment.objects.filter(notification_id__in=[n.pk for n in notifications]):
        files[attachment.notification_id].append(attachment)
    return files


def message_for(
    notification: Notification, attachments: Iterable[NotificationAttachment], smtp: Any
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=notification.from_email,
        to=[notification.recipient_email],
        reply_to=[notification.reply_to] if notification.reply_to else None,
        headers={"Message-ID": notification.message_id},
        connection=smtp,
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    for attachment in attachments:
        message.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
    return message


def send(message: EmailMultiAlternatives) -> None:
    """Send over the message's connection; a 5xx answer is a PermanentFailure, the rest transient."""
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        raise
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


@dataclass
class Outcome:
    status: str
    error: str = ""


@dataclass
class BatchResult:
    """What a batch did: the ids by outcome, and when the rows to retry are due again."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry_in: timedelta | None = None


def _close_quietly(smtp: Any) -> None:
    try:
        smtp.close()
    except (smtplib.SMTPException, OSError):
        smtp.connection = None


def _send_all(
    batch: Sequence[Notification], files: dict[int, list[NotificationAttachment]], now: datetime
) -> dict[int, Outcome]:
    """One SMTP connection for the batch; a transient error drops it and the next message reconnects."""
    outcomes: dict[int, Outcome] = {}
    smtp: Any = get_connection(fail_silently=False)  # the SMTP backend: its `connection` is read below
    notes = journal.Notes(now)
    try:
        for position, notification in enumerate(batch):
            try:
                if getattr(smtp, "connection", None) is None:  # not open yet, or dropped after an error
                    smtp.open()
            except (smtplib.SMTPException, OSError) as exc:
                # The server cannot be reached or will not talk: the rest would meet the same answer.
                for rest in batch[position:]:
                    outcomes[rest.pk] = Outcome(RETRY, f"{type(exc).__name__}: {exc}")
                break
            try:
                send(message_for(notification, files.get(notification.pk, ()), smtp))
            except PermanentFailure as exc:
                outcomes[notification.pk] = Outcome(FAILED, str(exc))
                logger.warning("notification %s failed for good: %s", notification.pk, exc)
                continue
            except (smtplib.SMTPException, OSError) as exc:
                outcomes[notification.pk] = Outcome(RETRY, f"{type(exc).__name__}: {exc}")
                # A 421 closes the session and a timeout leaves it unusable: the next message reconnects.
                _close_quietly(smtp)
                continue
            outcomes[notification.pk] = Outcome(SENT)
            notes.add(notification.pk)
    finally:
        notes.close()
        _close_quietly(smtp)
    return outcomes


def _record(batch: Sequence[Notification], outcomes: dict[int, Outcome], now: datetime) -> BatchResult:
    result = BatchResult()
    retry_attempts = [n.attempts for n in batch if outcomes[n.pk].status == RETRY and n.attempts < MAX_ATTEMPTS]
    # One delay for the batch's retries (from its most-tried row), so one message retries them all.
    delay = backoff(max(retry_attempts)) if retry_attempts else None
    ids, statuses, errors, sent_ats, next_ats = [], [], [], [], []
    for notification in batch:
        outcome = outcomes[notification.pk]
        status, sent_at, next_at = outcome.status, None, None
        if status == SENT:
            # The delivery's own instant, like its claim: a run "as of" a time records that time.
            sent_at = now
            result.sent.append(notification.pk)
        elif status == RETRY and notification.attempts >= MAX_ATTEMPTS:
            status = FAILED
            logger.warning("notification %s failed after %s attempts: %s", notification.pk, MAX_ATTEMPTS, outcome.error)
            result.failed.append(notification.pk)
        elif status == RETRY:
            assert delay is not None  # noqa: S101 - computed from these very rows
            status, next_at = Notification.Status.PENDING, now + delay
            result.retry.append(notification.pk)
        else:
            result.failed.append(notification.pk)
        ids.append(notification.pk)
        statuses.append(status)
        errors.append(outcome.error)
        sent_ats.append(sent_at)
        next_ats.append(next_at)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(RECORD_SQL, [ids, statuses, errors, sent_ats, next_ats, now])
    else:
        for values in zip(ids, statuses, errors, sent_ats, next_ats, strict=True):
            _record_one(*values, claimed_at=now)
    journal.forget(result.sent)
    result.retry_in = delay if result.retry else None
    return result


def _record_one(
    pk: int, status: str, error: str, sent_at: datetime | None, next_at: datetime | None, *, claimed_at: datetime
) -> None:
    """RECORD_SQL for one row, for SQLite (development), which has no arrays to unnest."""
    changes: dict[str, Any] = {"status": status, "last_error": error, "sent_at": sent_at}
    if status == Notification.Status.PENDING:
        changes.update(claimed_at=None, next_attempt_at=next_at)
    Notification.objects.filter(pk=pk, status=Notification.Status.SENDING, claimed_at=claimed_at).update(**changes)


def deliver_batch(ids: Sequence[int], now: datetime | None = None) -> BatchResult:
    """Claim, send and record those of `ids` still pending: three queries whatever their number."""
    now = now or timezone.now()
    batch = claim_batch(ids, now)
    claimed = {n.pk for n in batch}
    if not batch:
        return BatchResult(skipped=list(ids))
    outcomes = _send_all(batch, _attachments(batch), now)
    result = _record(batch, outcomes, now)
    result.skipped = [pk for pk in ids if pk not in claimed]
    return result


def deliver(notification_id: int, now: datetime | None = None) -> tuple[str, timedelta | None]:
    """Send one row. Returns the outcome and, for a transient failure, when to try again."""
    result = deliver_batch([notification_id], now)
    if result.sent:
        return SENT, None
    if result.failed:
        return FAILED, None
    if result.retry:
        return RETRY, result.retry_in
    return SKIPPED, None
