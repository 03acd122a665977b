"""Reads of the outbox that the API and the admin share, scoped to the caller's offices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from notifications.models import Notification, NotificationAttachment

if TYPE_CHECKING:
    from workflow.actors import Actor


def with_attachment_info(notifications: QuerySet[Notification]) -> QuerySet[Notification]:
    """Each notification's attachments by name, type and size, in one query, without their bytes."""
    return notifications.prefetch_related(
        Prefetch("attachments", queryset=NotificationAttachment.objects.defer("content"))
    )


def failed_notifications(*, actor: Actor) -> QuerySet[Notification]:
    """Failed notifications of the actor's offices, newest first (index `notifications_by_status`)."""
    return with_attachment_info(
        Notification.objects.filter(status=Notification.Status.FAILED, application__office_id__in=actor.office_ids)
        .select_related("application")
        .order_by("-created_at", "-id")
    )
