"""Writing notifications into the outbox, inside the caller's transaction (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from notifications import relay
from notifications.catalogue import CATALOGUE, STAFF
from notifications.models import Notification, NotificationAttachment
from offices.roles import MANAGER
from workflow.errors import Conflict, NotAllowed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from workflow.actors import Actor
    from workflow.models import Application, TransitionLog

# A file to send with an email: its name, MIME type and content.
Attachment = tuple[str, str, bytes]


def _render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    with translation.override(language):
        # The HTML part's <html lang> names the language it is written in.
        context = {**context, "LANGUAGE_CODE": translation.get_language()}
        subject = render_to_string(f"notifications/{kind}/subject.txt", context).strip()
        text = render_to_string(f"notifications/{kind}/body.txt", context)
        html = render_to_string(f"notifications/{kind}/body.html", context)
    return " ".join(subject.split()), text, html


def _base_context(application: Application | None) -> dict[str, Any]:
    context: dict[str, Any] = {"site_url": settings.SITE_URL, "link_days": settings.PORTAL_LINK_DAYS}
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
    history: TransitionLog | None,
    context: dict[str, Any],
    not_before: datetime,
    now: datetime,
    attachments: Sequence[Attachment] = (),
) -> Notification:
    recipient = f"user-{user.pk}" if user is not None else email.lower()
    subject, text, html = _render(kind, language, {**_base_context(application), **context})
    office = application.office if application is not None else None
    sender = f"{office.name} clinic office <{office.email}>" if office else settings.DEFAULT_FROM_EMAIL
    # One transaction for the row and its files (the event's, or its own when the caller has none),
    # so that no relay or worker ever sees a notification without its attachments.
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            dedup_key=f"{kind}:{event_key}:{recipient}",
            defaults={
                "kind": kind,
                "event_key": event_key,
                "history": history,
                "audience": CATALOGUE[kind].audience,
                "application": application,
                "recipient_user": user,
                "recipient_email": email,
                "language": language,
                "subject": subject[:255],
                "body_text": text,
                "body_html": html,
                "from_email": sender,
                "reply_to": office.email if office else "",
                "not_before": not_before,
                "created_at": now,
            },
        )
        if created:
            NotificationAttachment.objects.bulk_create(
                NotificationAttachment(
                    notification=notification,
                    filename=name,
                    content_type=content_type,
                    content=content,
                    size=len(content),
                )
                for name, content_type, content in attachments
            )
    if created:
        relay.kick_after_commit(notification.pk)
    return notification


def _event_key(history: TransitionLog | None, event_key: str | None) -> str:
    if event_key is not None:
        return event_key
    if history is None:
        raise ValueError("a notification needs its event: a history row or an event key")
    return f"history-{history.pk}"


def notify_patient(
    *,
    kind: str,
    application: Application,
    history: TransitionLog | None = None,
    event_key: str | None = None,
    context: dict[str, Any] | None = None,
    now: datetime,
    attachments: Sequence[Attachment] = (),
) -> Notification:
    """A patient email: in the patient's language, sent at once, with `attachments` if any."""
    return _create(
        kind=kind,
        application=application,
        email=application.email,
        user=None,
        language=application.preferred_language,
        event_key=_event_key(history, event_key),
        history=history,
        context=context or {},
        not_before=now,
        now=now,
        attachments=attachments,
    )


def notify_staff(
    *,
    kind: str,
    application: Application,
    users: Iterable[User],
    history: TransitionLog | None = None,
    event_key: str | None = None,
    context: dict[str, Any] | None = None,
    now: datetime,
    not_before: datetime | None = None,
) -> list[Notification]:
    """Staff alerts go out inside the office's opening hours: one raised at night waits (SPEC §6).

    A caller alerting many times at once may pass the office's next opening as `not_before`.
    """
    assert CATALOGUE[kind].audience == STAFF  # noqa: S101 - a wiring mistake, not user input
    if not_before is None:
        not_before = application.office.calendar().next_opening(now)
    key = _event_key(history, event_key)
    return [
        _create(
            kind=kind,
            application=application,
            email=user.email,
            user=user,
            language="en",
            event_key=key,
            history=history,
            context=context or {},
            not_before=not_before,
            now=now,
        )
        for user in users
        if user.email
    ]


def notification_retry(*, notification: Notification | int, actor: Actor, now: datetime | None = None) -> Notification:
    """A manager of the notification's office sends a failed notification again (API and admin).

    Back to pending with fresh attempts; `last_error` stays until a new attempt replaces it. Raises
    DoesNotExist outside the actor's offices, NotAllowed for other roles, Conflict unless failed.
    """
    # Imported here: the workflow services import this module to write their notifications.
    from workflow.services.common import record

    now = now or timezone.now()
    pk = notification.pk if isinstance(notification, Notification) else notification
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=pk, application__office_id__in=actor.office_ids)
        )
        assert row.application is not None  # noqa: S101 - the office filter excludes rows without one
        if actor.role_in(row.application.office_id) != MANAGER:
            raise NotAllowed("Only a manager of the office can send a failed notification again.")
        if row.status != Notification.Status.FAILED:
            raise Conflict(f"Only a failed notification can be sent again; this one is {row.status}.")
        Notification.objects.filter(pk=row.pk).update(
            status=Notification.Status.PENDING, attempts=0, next_attempt_at=None, claimed_at=None
        )
        record(
            row.application,
            action="retry_notification",
            actor=actor,
            at=now,
            params={"notification": row.pk, "kind": row.kind},
        )
        transaction.on_commit(lambda: relay.publish([row.pk]), robust=True)
    row.refresh_from_db()
    return row
