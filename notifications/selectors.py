"""Reads of the outbox that the API and the admin share, scoped to the caller's offices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from notifications.models import Notification

if TYPE_CHECKING:
    from workflow.actors import Actor


def failed_notifications(*, actor: Actor) -> QuerySet[Notification]:
    """Failed notifications of the actor's offices, newest first (index `notifications_by_status`)."""
    return (
        Notification.objects.filter(status=Notification.Status.FAILED, application__office_id__in=actor.office_ids)
        .select_related("application")
        .order_by("-created_at", "-id")
    )
