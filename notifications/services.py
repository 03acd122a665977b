"""Writing notifications into the outbox, inside the caller's transaction (SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
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

# Why an email to a patient whose data was erased is on record but never sent.
NOT_SENT_ERASED = "Not sent: the patient's personal data was erased."


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


# Rows per INSERT of `write_many`: 1,000 rows of 19 columns stay well under PostgreSQL's limit of
# 65,535 parameters a statement.
INSERT_ROWS = 1000


@dataclass
class Draft:
    """One notification to write: who, which event, what to render it with."""

    kind: str
    application: Application | None
    email: str
    user: User | None
    language: str
    event_key: str
    history: TransitionLog | None
    context: dict[str, Any]
    not_before: datetime


def _build(draft: Draft, now: datetime) -> Notification:
    """The unsaved row: rendered now, so that what was sent can be shown later."""
    application, user = draft.application, draft.user
    recipient = f"user-{user.pk}" if user is not None else draft.email.lower()
    # The patient's data was erased (workflow.services.privacy): the row records that a step would
    # have written to them, and nothing goes out.
    withheld = user is None and application is not None and application.erased_at is not None
    subject, text, html = _render(draft.kind, draft.language, {**_base_context(application), **draft.context})
    office = application.office if application is not None else None
    sender = f"{office.name} clinic office <{office.email}>" if office else settings.DEFAULT_FROM_EMAIL
    return Notification(
        dedup_key=f"{draft.kind}:{draft.event_key}:{recipient}",
        kind=draft.kind,
        event_key=draft.event_key,
        history=draft.history,
        audience=CATALOGUE[draft.kind].audience,
        application=application,
        recipient_user=user,
        recipient_email=draft.email,
        language=draft.language,
        subject=subject[:255],
        body_text=text,
        body_html=html,
        from_email=sender,
        reply_to=office.email if office else "",
        not_before=draft.not_before,
        created_at=now,
        **({"status": Notification.Status.FAILED, "last_error": NOT_SENT_ERASED} if withheld else {}),
    )


def _create(draft: Draft, *, now: datetime, attachments: Sequence[Attachment] = ()) -> Notification:
    built = _build(draft, now)
    fields = {f.attname: getattr(built, f.attname) for f in Notification._meta.concrete_fields if not f.primary_key}
    dedup_key = fields.pop("dedup_key")
    # One transaction for the row and its files (the event's, or its own when the caller has none),
    # so that no relay or worker ever sees a notification without its attachments.
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(dedup_key=dedup_key, defaults=fields)
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
    if created and notification.status != Notification.Status.FAILED:
        relay.kick_after_commit(notification.pk)
    return notification


def write_many(drafts: Iterable[Draft], *, now: datetime) -> list[int]:
    """Write many notifications in one statement (per INSERT_ROWS), each at most once; returns the new rows' ids.

    `INSERT … ON CONFLICT (dedup_key) DO NOTHING`: a row an earlier (or concurrent) run wrote for
    the same event and recipient stays as it is, as `get_or_create` would leave it, without a
    query per row. The new rows are handed to Celery in one publish after the caller's commit.
    Call inside the caller's transaction; attachments are not supported here (no sweep sends any).
    """
    rows = [_build(draft, now) for draft in drafts]
    if not rows:
        return []
    fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(Notification._meta.db_table)
    conflict = "ON CONFLICT (dedup_key) DO NOTHING" if connection.vendor == "postgresql" else "ON CONFLICT DO NOTHING"
    ids: list[int] = []
    publish: list[int] = []
    # PostgreSQL takes at most 65,535 parameters a statement: a sweep batch alerting many staff
    # each is split (one statement per INSERT_ROWS rows, so still not one per row).
    for start in range(0, len(rows), INSERT_ROWS):
        chunk = rows[start : start + INSERT_ROWS]
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in chunk for f in fields]
        sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} {conflict} RETURNING id, status"  # noqa: S608 - names from the model; values bound
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            written = cursor.fetchall()
        ids += [pk for pk, _ in written]
        # A row withheld from an erased patient is written failed and never handed to Celery.
        publish += [pk for pk, status in written if status != Notification.Status.FAILED]
    for pk in publish:
        relay.kick_after_commit(pk)
    return ids


def staff_drafts(
    *,
    kind: str,
    application: Application,
    users: Iterable[User],
    event_key: str,
    context: dict[str, Any],
    not_before: datetime,
    history: TransitionLog | None = None,
) -> list[Draft]:
    """A staff alert to each of `users` who has an address, in English, held until `not_before`."""
    assert CATALOGUE[kind].audience == STAFF  # noqa: S101 - a wiring mistake, not user input
    return [
        Draft(
            kind=kind,
            application=application,
            email=user.email,
            user=user,
            language="en",
            event_key=event_key,
            history=history,
            context=context,
            not_before=not_before,
        )
        for user in users
        if user.email
    ]


def patient_draft(
    *, kind: str, application: Application, event_key: str, context: dict[str, Any], now: datetime
) -> Draft:
    """A patient email in the patient's language, sent at once."""
    return Draft(
        kind=kind,
        application=application,
        email=application.email,
        user=None,
        language=application.preferred_language,
        event_key=event_key,
        history=None,
        context=context,
        not_before=now,
    )


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
    draft = Draft(
        kind=kind,
        application=application,
        email=application.email,
        user=None,
        language=application.preferred_language,
        event_key=_event_key(history, event_key),
        history=history,
        context=context or {},
        not_before=now,
    )
    return _create(draft, now=now, attachments=attachments)


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
    drafts = staff_drafts(
        kind=kind,
        application=application,
        users=users,
        event_key=_event_key(history, event_key),
        context=context or {},
        not_before=not_before,
        history=history,
    )
    return [_create(draft, now=now) for draft in drafts]


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
        if row.application.erased_at is not None and row.audience == Notification.Audience.PATIENT:
            raise Conflict("The patient's personal data was erased: nothing is sent to them any more.")
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
