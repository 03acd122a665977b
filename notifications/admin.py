"""The outbox in the Django admin: read-only, scoped to the caller's offices, with one action.

"Send again" calls `notification_retry`, the same service as the API, so the rule (managers of the
notification's office, failed notifications only) lives in one place.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import services
from notifications.models import Notification, NotificationAttachment
from workflow.admin import ReadOnlyAdmin, ReadOnlyInline, actor_for
from workflow.errors import Conflict, NotAllowed


class AttachmentInline(ReadOnlyInline[NotificationAttachment]):
    model = NotificationAttachment
    verbose_name_plural = "attachments"
    # Name, type and size: the bytes stay out of the page (a signed consent is personal data).
    fields = ["filename", "content_type", "size"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationAttachment]:
        return super().get_queryset(request).defer("content")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin[Notification]):
    office_field = "application__office"
    list_display = [
        "created_at",
        "kind",
        "audience",
        "recipient_email",
        "application_reference",
        "status",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "kind", "audience"]
    search_fields = ["recipient_email", "dedup_key"]
    list_select_related = ["application"]
    ordering = ["-created_at", "-id"]
    actions = ["retry_failed"]
    inlines = [AttachmentInline]
    fields = [
        "kind",
        "audience",
        "application",
        "recipient_user",
        "recipient_email",
        "language",
        "from_email",
        "reply_to",
        "subject",
        "body_text",
        "body_html",
        "history",
        "event_key",
        "dedup_key",
        "status",
        "attempts",
        "last_error",
        "not_before",
        "next_attempt_at",
        "claimed_at",
        "created_at",
        "sent_at",
    ]

    @admin.display(description="application", ordering="application__reference")
    def application_reference(self, obj: Notification) -> str:
        return obj.application.reference if obj.application else "—"

    @admin.action(description="Send the selected failed notifications again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        actor = actor_for(request)
        done, refused = 0, []
        for notification in queryset.select_related("application"):
            label = f"#{notification.pk} ({notification.kind} to {notification.recipient_email})"
            try:
                services.notification_retry(notification=notification, actor=actor)
                done += 1
            except Notification.DoesNotExist:
                refused.append(f"{label}: you are not a manager of its office")
            except (NotAllowed, Conflict) as exc:
                refused.append(f"{label}: {exc}")
        if done:
            self.message_user(request, f"{done} notification(s) will be sent again.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)
