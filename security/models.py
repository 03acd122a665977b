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
