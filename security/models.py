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
