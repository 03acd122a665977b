"""Sending one outbox row by email: claim, send, record (SPEC §6, §11)."""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from notifications.models import Notification

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


def claim(notification_id: int, now: datetime) -> Notification | None:
    """pending → sending, atomically: of two workers (or a redelivered message) only one wins."""
    claimed = Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return Notification.objects.get(pk=notification_id) if claimed else None


def send(notification: Notification) -> None:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=notification.from_email,
        to=[notification.recipient_email],
        reply_to=[notification.reply_to] if notification.reply_to else None,
        headers={"Message-ID": notification.message_id},
        connection=get_connection(fail_silently=False),
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    # Read from the row on every attempt: a resend carries the same files under the same Message-ID.
    for attachment in notification.attachments.all():
        message.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
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


def deliver(notification_id: int, now: datetime | None = None) -> tuple[str, timedelta | None]:
    """Send one row. Returns the outcome and, for a transient failure, when to try again."""
    now = now or timezone.now()
    notification = claim(notification_id, now)
    if notification is None:
        return SKIPPED, None
    try:
        send(notification)
    except PermanentFailure as exc:
        _finish(notification, Notification.Status.FAILED, error=str(exc))
        logger.warning("notification %s failed for good: %s", notification.pk, exc)
        return FAILED, None
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if notification.attempts >= MAX_ATTEMPTS:
            _finish(notification, Notification.Status.FAILED, error=error)
            logger.warning("notification %s failed after %s attempts: %s", notification.pk, MAX_ATTEMPTS, error)
            return FAILED, None
        delay = backoff(notification.attempts)
        Notification.objects.filter(pk=notification.pk, status=Notification.Status.SENDING).update(
            status=Notification.Status.PENDING, last_error=error, claimed_at=None, next_attempt_at=now + delay
        )
        return RETRY, delay
    # The delivery's own instant, like its claim: a run "as of" a time records that time.
    _finish(notification, Notification.Status.SENT, sent_at=now)
    return SENT, None


def _finish(notification: Notification, status: str, *, error: str = "", sent_at: datetime | None = None) -> None:
    Notification.objects.filter(pk=notification.pk, status=Notification.Status.SENDING).update(
        status=status, last_error=error, sent_at=sent_at
    )
