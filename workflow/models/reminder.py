from __future__ import annotations

from django.db import models


class Reminder(models.Model):
    """A patient reminder due at an instant (SPEC §5): a row that beat sweeps, never a countdown task (§11).

    A table rather than due columns on `Quote` and `Application`: the two kinds are for different
    things (a quote about to expire; the consent needed by an admission date), each is sent at most
    once per thing it is for, and a reschedule cancels one reminder and plans another while what was
    sent stays on record. A row per reminder keeps that (due, sent or cancelled, and why), and one
    partial index of pending rows serves the sweep for every kind.
    """

    class Kind(models.TextChoices):
        # The values are the notification kinds the sweep writes.
        QUOTE_EXPIRING = "quote_expiring", "Quote expiring"
        CONSENT_REMINDER = "consent_reminder", "Consent form still unsigned"

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the reminder is for: the quote about to expire, or the admission date the consent is needed by.
    quote = models.ForeignKey(
        "workflow.Quote", null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    admission_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Why it will not go: the quote was accepted or superseded, the admission moved, the consent is signed, …
    cancel_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="quote_expiring", quote__isnull=False, admission_date__isnull=True)
                    | models.Q(kind="consent_reminder", quote__isnull=True, admission_date__isnull=False)
                ),
                name="reminder_names_what_it_is_for",
            ),
            models.CheckConstraint(
                condition=models.Q(sent_at__isnull=True) | models.Q(cancelled_at__isnull=True),
                name="reminder_sent_or_cancelled_not_both",
            ),
            # Once per quote, and once per scheduled admission date: planning again finds the row.
            models.UniqueConstraint(
                fields=["quote"], condition=models.Q(kind="quote_expiring"), name="one_expiry_reminder_per_quote"
            ),
            models.UniqueConstraint(
                fields=["application", "admission_date"],
                condition=models.Q(kind="consent_reminder"),
                name="one_consent_reminder_per_date",
            ),
        ]
        indexes = [
            # The reminder sweep reads only pending rows, by due time (workflow.services.reminders.reminder_sweep);
            # sent and cancelled ones never enter the index.
            models.Index(
                fields=["due_at"],
                condition=models.Q(sent_at__isnull=True, cancelled_at__isnull=True),
                name="pending_reminders_by_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_at:%Y-%m-%d %H:%M} UTC"

    @property
    def event_key(self) -> str:
        """The event of the email it sends (`Notification.event_key`): one reminder, one email."""
        return f"reminder-{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.sent_at is None and self.cancelled_at is None
