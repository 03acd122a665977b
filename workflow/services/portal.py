"""Private portal links (SPEC §7, §11): unguessable, stored as a hash, expiring, revocable, re-sendable.

A link opens one application's portal. The token has 256 bits from `secrets` and lives only in the
patient's email; the database keeps its SHA-256. Every patient email carries a fresh link
(`portal_url`), staff can email a fresh one or revoke them all, and a patient whose link expired
can ask for a fresh one by email address, without learning whether the address is on file.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction

from notifications.services import notify_patient
from workflow.actors import Actor
from workflow.models import Application, PortalLink
from workflow.services.common import lock, now_or, record
from workflow.services.rules import check_action

# Portal pages a link may land on (the portal's URL names them the same).
LANDINGS = ("status", "messages", "quote", "consent", "withdraw", "questionnaire")


def link_lifetime() -> timedelta:
    return timedelta(days=int(getattr(settings, "PORTAL_LINK_DAYS", 30)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_link_issue(*, application: Application, now: datetime, created_by: User | None = None) -> str:
    """A fresh link's token for the application. Only the caller sees the token; the row keeps its hash."""
    token = secrets.token_urlsafe(32)
    PortalLink.objects.create(
        application=application,
        token_sha256=_digest(token),
        created_at=now,
        expires_at=now + link_lifetime(),
        created_by=created_by,
    )
    return token


def portal_links_issue_many(applications: Sequence[Application], *, now: datetime) -> list[str]:
    """A fresh link for each of `applications` (in order; one may repeat), in one insert: the sweeps'."""
    tokens = [secrets.token_urlsafe(32) for _ in applications]
    PortalLink.objects.bulk_create(
        PortalLink(
            application=application,
            token_sha256=_digest(token),
            created_at=now,
            expires_at=now + link_lifetime(),
        )
        for application, token in zip(applications, tokens, strict=True)
    )
    return tokens


def portal_url(token: str, landing: str = "status") -> str:
    query = f"?{urlencode({'next': landing})}" if landing != "status" else ""
    return f"{settings.SITE_URL}/portal/open/{token}/{query}"


def portal_url_for(application: Application, *, now: datetime, landing: str = "status") -> str:
    """A fresh private link for an email to the patient, landing on one portal page."""
    return portal_url(portal_link_issue(application=application, now=now), landing)


def portal_link_resolve(*, token: str, now: datetime) -> Application | None:
    """The application a token opens, or None when it is unknown, expired or revoked."""
    if not token or len(token) > 100:
        return None
    link = (
        PortalLink.objects.select_related("application__office")
        .filter(
            token_sha256=_digest(token),
            revoked_at__isnull=True,
            expires_at__gt=now,
            application__erased_at__isnull=True,
        )
        .first()
    )
    if link is None:
        return None
    PortalLink.objects.filter(pk=link.pk).update(last_used_at=now)
    return link.application


def portal_link_send(*, application: Application | int, actor: Actor, now: datetime | None = None) -> PortalLink:
    """Staff email the patient a fresh private link (API `POST …/portal-link/`)."""
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "send_portal_link", now=now)
        token = portal_link_issue(application=app, now=now, created_by=actor.user)
        history = record(app, action="send_portal_link", actor=actor, at=now)
        notify_patient(
            kind="portal_link", application=app, history=history, context={"portal_url": portal_url(token)}, now=now
        )
    return PortalLink.objects.get(token_sha256=_digest(token))


def portal_links_revoke(*, application: Application | int, actor: Actor, now: datetime | None = None) -> int:
    """Staff revoke every live link of the application (API `DELETE …/portal-link/`)."""
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "revoke_portal_links", now=now)
        count = PortalLink.objects.filter(application=app, revoked_at__isnull=True, expires_at__gt=now).update(
            revoked_at=now
        )
        record(app, action="revoke_portal_links", actor=actor, at=now, params={"revoked": count})
    return count


def _allowed(key: str, limit: int, window: int) -> bool:
    """At most `limit` calls per `window` seconds per key, counted in the shared cache."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def portal_link_request(*, email: str, client: str, now: datetime | None = None) -> bool:
    """A patient asks for a fresh link to the address on file. Returns False when rate-limited.

    Says nothing about whether the address is known: the caller shows the same page either way.
    """
    now = now_or(now)
    address = (email or "").strip().lower()
    limit, window = int(getattr(settings, "PORTAL_LINK_REQUESTS_PER_HOUR", 5)), 3600
    if not (
        _allowed(f"portal-link-request:client:{client}", limit * 4, window)
        and _allowed(f"portal-link-request:email:{_digest(address)}", limit, window)
    ):
        return False
    if not address:
        return True
    applications = Application.objects.select_related("office").filter(email__iexact=address).order_by("-received_at")
    for app in applications[:5]:
        with transaction.atomic():
            token = portal_link_issue(application=app, now=now)
            history = record(app, action="request_portal_link", actor=Actor.patient(), at=now)
            notify_patient(
                kind="portal_link", application=app, history=history, context={"portal_url": portal_url(token)}, now=now
            )
    return True
