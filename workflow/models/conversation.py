from __future__ import annotations

from django.conf import settings
from django.db import models


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "From the patient"
        OUTBOUND = "outbound", "To the patient"
        INTERNAL = "internal", "Internal note"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        FORM = "form", "Application form"

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["application", "created_at"], name="messages_by_application")]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel} {self.created_at:%Y-%m-%d %H:%M}"


class ReplyObligation(models.Model):
    """The clinic owes the patient a reply by `due_at` (SPEC §4). Kept after it closes."""

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="obligations")
    # The office whose working calendar the deadline runs on: the handling office when the patient
    # wrote. A transfer keeps the deadline (SPEC §4), so a later change of the new office's calendar
    # does not move it, and a change of this office's calendar still does.
    calendar_office = models.ForeignKey("offices.Office", on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(help_text="When the patient's request was received; the clock starts here.")
    due_at = models.DateTimeField()
    # When 75 % of the working-time budget is used: the SLA warning goes out (SPEC §4).
    warn_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    satisfied_at = models.DateTimeField(null=True, blank=True)
    satisfied_by = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="satisfied_obligations"
    )
    # Set when a transition that writes to the patient (e.g. send_quote) answered instead of a message.
    satisfied_by_action = models.CharField(max_length=40, blank=True)
    # Closed without a reply: the application reached a terminal state.
    closed_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="opened_obligations"
    )

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(satisfied_at__isnull=True, closed_at__isnull=True),
                name="one_open_obligation_per_application",
            ),
        ]
        indexes = [
            # The SLA sweep's breach pass reads only open, unbreached obligations by deadline
            # (workflow.services.sla.sla_sweep); satisfied and closed ones never enter the index.
            models.Index(
                fields=["due_at"],
                condition=models.Q(satisfied_at__isnull=True, closed_at__isnull=True, breached_at__isnull=True),
                name="open_obligations_by_due",
            ),
            # The sweep's warning pass: open, unwarned obligations by the time 75 % is used.
            models.Index(
                fields=["warn_at"],
                condition=models.Q(satisfied_at__isnull=True, closed_at__isnull=True, warned_at__isnull=True),
                name="open_obligations_by_warn",
            ),
        ]

    def __str__(self) -> str:
        return f"reply due {self.due_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_open(self) -> bool:
        return self.satisfied_at is None and self.closed_at is None
