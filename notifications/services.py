"""Writing notifications into the outbox, inside the caller's transaction (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from notifications import relay
from notifications.catalogue import CATALOGUE, STAFF
from notifications.models import Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from workflow.models import Application


def _render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    with translation.override(language):
        subject = render_to_string(f"notifications/{kind}/subject.txt", context).strip()
        text = render_to_string(f"notifications/{kind}/body.txt", context)
        html = render_to_string(f"notifications/{kind}/body.html", context)
    return " ".join(subject.split()), text, html


def _base_context(application: Application | None) -> dict[str, Any]:
    context: dict[str, Any] = {"site_url": settings.SITE_URL}
    if application is not None:
        context.update(
            application=application,
            office=application.office,
            staff_url=f"{settings.SITE_URL}/admin/workflow/application/{application.pk}/change/",
        )
    return context


def _create(
    *,
    kind: str,
    application: Application | None,
    email: str,
    user: User | None,
    language: str,
    event_key: str,
    context: dict[str, Any],
    not_before: datetime,
    now: datetime,
) -> Notification:
    recipient = f"user-{user.pk}" if user is not None else email.lower()
    subject, text, html = _render(kind, language, {**_base_context(application), **context})
    office = application.office if application is not None else None
    notification, created = Notification.objects.get_or_create(
        dedup_key=f"{kind}:{event_key}:{recipient}",
        defaults={
            "kind": kind,
            "audience": CATALOGUE[kind].audience,
            "application": application,
            "recipient_user": user,
            "recipient_email": email,
            "language": language,
            "subject": subject[:255],
            "body_text": text,
            "body_html": html,
            "from_email": f"{office.name} clinic office <{office.email}>" if office else settings.DEFAULT_FROM_EMAIL,
            "reply_to": office.email if office else "",
            "not_before": not_before,
            "created_at": now,
        },
    )
    if created:
        transaction.on_commit(lambda: relay.kick([notification.pk]))
    return notification


def notify_patient(
    *, kind: str, application: Application, event_key: str, context: dict[str, Any] | None = None, now: datetime
) -> Notification:
    """A patient email: in the patient's language, sent at once."""
    return _create(
        kind=kind,
        application=application,
        email=application.email,
        user=None,
        language=application.preferred_language,
        event_key=event_key,
        context=context or {},
        not_before=now,
        now=now,
    )


def notify_staff(
    *,
    kind: str,
    application: Application,
    users: Iterable[User],
    event_key: str,
    context: dict[str, Any] | None = None,
    now: datetime,
) -> list[Notification]:
    """Staff alerts go out inside the office's opening hours: one raised at night waits (SPEC §6)."""
    assert CATALOGUE[kind].audience == STAFF  # noqa: S101 - a wiring mistake, not user input
    calendar = application.office.calendar()
    not_before = calendar.next_opening(now)
    return [
        _create(
            kind=kind,
            application=application,
            email=user.email,
            user=user,
            language="en",
            event_key=event_key,
            context=context or {},
            not_before=not_before,
            now=now,
        )
        for user in users
        if user.email
    ]
