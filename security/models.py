from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """An API login (`POST /api/v1/auth/token/`). Only the SHA-256 of the key is stored.

    It dies after `TOKEN_IDLE_HOURS` without use or `TOKEN_MAX_AGE_DAYS` after it was issued, and is
    deleted when its user's password changes or the account is disabled (security/signals.py).
    """

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    # What the login said about itself, so that its owner can tell their tokens apart.
    client_address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id}"


class AccessLogEntry(models.Model):
    """One staff read of an application's personal data, or one refusal (SPEC §11), written by
    `security.access_log`. Append-only: in PostgreSQL a trigger refuses UPDATE and DELETE
    (migration 0002), and the admin offers no change.

    It names the application by reference only, never by anything about the patient, so that an
    erasure leaves nothing personal here. Its foreign keys have no database constraint and do
    nothing on delete: a cascade or SET NULL would be an UPDATE or DELETE the trigger refuses, and a
    constraint would block deleting an office or a user (tests, a closed office). The snapshots
    (`username`, `reference`) keep the row readable when its targets are gone.
    """

    class Outcome(models.TextChoices):
        READ = "read"
        DENIED = "denied"

    class Channel(models.TextChoices):
        WEB = "web", "staff pages"
        API = "api", "REST API"
        ADMIN = "admin", "admin"

    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    # A short code of what was read or refused: detail, documents, document, history, messages, export…
    what = models.CharField(max_length=40)
    application = models.ForeignKey(
        "workflow.Application",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # The reference asked for: an application's, or whatever was typed when none has it.
    reference = models.CharField(max_length=40, blank=True)
    # The application's office at the time: whose managers read the row.
    office = models.ForeignKey(
        "offices.Office",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # The HTTP status answered: 200 for a read, 403 or 404 for a refusal.
    status = models.PositiveSmallIntegerField()
    client_address = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Without the query string: a search box's text may be a patient's name.
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        indexes = [
            # access_log_for_application (the data-protection export) and the `application` filter.
            models.Index(fields=["application", "at"], name="access_log_by_application"),
            # The managers' list (admin, GET /api/v1/access-log/): their offices, newest first.
            models.Index(fields=["office", "-at"], name="access_log_by_office"),
            # The `user` filter of that list, and the rows of refusals with no application.
            models.Index(fields=["user", "-at"], name="access_log_by_user"),
        ]

    def __str__(self) -> str:
        who = self.username or "unknown"
        return f"{who} {self.outcome} {self.what} {self.reference or '-'} at {self.at:%Y-%m-%d %H:%M}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a client sent with an acting POST, and the answer it got (docs/security.md).

    The row is inserted in the transaction that runs the request, so a second request with the same
    key waits on the unique constraint until the first commits (then replays its answer) or rolls
    back (then acts itself). Only a 2xx answer is ever committed: an error acted on nothing.
    """

    # "user:<id>", or "client:<address>" for an anonymous intake: one caller's keys never meet another's.
    owner = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    # SHA-256 of the method, the path and the parsed body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_key_unique_per_owner")]
        # Consumer: security.idempotency.idempotency_sweep, which deletes the expired keys.
        indexes = [models.Index(fields=["expires_at"], name="idempotency_key_expiry")]

    def __str__(self) -> str:
        return f"idempotency key {self.key!r} of {self.owner}"
