from __future__ import annotations

from django.conf import settings
from django.db import models


def site_domain() -> str:
    """The host of SITE_URL: the right-hand side of our Message-IDs and calendar UIDs."""
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"


class Notification(models.Model):
    """One email to one recipient for one event: the transactional outbox (SPEC §6, §11).

    Written in the same transaction as the event; delivered after commit by Celery. The rendered
    subject and bodies are stored so that what was sent can be shown later.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Audience(models.TextChoices):
        PATIENT = "patient", "Patient"
        STAFF = "staff", "Staff"

    kind = models.CharField(max_length=40)
    audience = models.CharField(max_length=8, choices=Audience.choices)
    application = models.ForeignKey(
        "workflow.Application", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_email = models.EmailField()
    language = models.CharField(max_length=8, default="en")
    # The event that caused it: the history row of a workflow step, or for an alert with no history
    # row (the SLA sweep's), only `event_key`. Read these; never parse `dedup_key`.
    history = models.ForeignKey(
        "workflow.TransitionLog", null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    event_key = models.CharField(max_length=100)
    # One event, one recipient, one row: a retried event can never write a second.
    dedup_key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    from_email = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Staff alerts raised outside the office's hours wait for its next opening.
    not_before = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The relay reads pending rows that are due (notifications.relay.sweep).
            models.Index(fields=["not_before"], condition=models.Q(status="pending"), name="pending_notifications_due"),
            # The relay recovers rows stuck in sending (notifications.relay.sweep).
            models.Index(fields=["claimed_at"], condition=models.Q(status="sending"), name="sending_notifications"),
            # The failed-notifications list for staff.
            models.Index(fields=["status", "created_at"], name="notifications_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_email} ({self.status})"

    @property
    def message_id(self) -> str:
        """Derived from the row, so a resend after a crash carries the same Message-ID."""
        return f"<notification-{self.pk}@{site_domain()}>"


class NotificationAttachment(models.Model):
    """A file sent with a notification (a signed consent's PDF, a calendar file).

    The bytes live in the row, not in file storage, so that they commit with the notification in the
    event's transaction, and a resend after a crash sends the same file.
    """

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["notification", "id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.content_type}, {self.size} bytes)"
