"""Expiring API tokens: issue, check, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from security.client import client_address
from security.models import ApiToken

# Writing `last_used_at` on every request would make each read a write; a minute is precise enough
# for a 12-hour idle limit.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, user: User, request: Request | None = None, now: datetime | None = None) -> str:
    """A new token for `user`; the key is returned once and only its digest is kept."""
    now = now or timezone.now()
    key = secrets.token_hex(20)
    ApiToken.objects.create(
        digest=_digest(key),
        user=user,
        created_at=now,
        last_used_at=now,
        client_address=client_address(request)[:64] if request is not None else "",
        user_agent=request.headers.get("user-agent", "")[:200] if request is not None else "",
    )
    return key


def token_expired(token: ApiToken, *, now: datetime) -> bool:
    idle = timedelta(hours=settings.TOKEN_IDLE_HOURS)
    absolute = timedelta(days=settings.TOKEN_MAX_AGE_DAYS)
    return now - token.last_used_at > idle or now - token.created_at > absolute


def token_expires_at(token: ApiToken) -> datetime:
    return min(
        token.last_used_at + timedelta(hours=settings.TOKEN_IDLE_HOURS),
        token.created_at + timedelta(days=settings.TOKEN_MAX_AGE_DAYS),
    )


def tokens_revoke(*, user: User) -> int:
    deleted, _ = ApiToken.objects.filter(user_id=user.pk).delete()
    return deleted


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against `ApiToken`: unknown, expired or a disabled user's is a 401."""

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        now = timezone.now()
        token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token_expired(token, now=now):
            token.delete()
            raise exceptions.AuthenticationFailed("The token has expired; log in again.")
        if now - token.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token
