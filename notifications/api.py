"""Failed notifications for staff (SPEC §6): see them, and let a manager send one again.

Errors are raised, never built here: `notification_retry` raises DoesNotExist (404), NotAllowed
(403) and Conflict (409), and `config.api.exception_handler` serves them in the one error shape.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import ErrorSerializer
from notifications import selectors, services
from notifications.models import Notification
from workflow.api.serializers import NotificationAttachmentSerializer
from workflow.api.views import StaffView

ERROR_DESCRIPTIONS = {
    401: "No credentials, or bad ones.",
    403: "Not an office staff member, or (retry) not a manager of the notification's office.",
    404: "No such notification in the caller's offices.",
    409: "The notification has not failed (`conflict`): only a failed one can be sent again.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    application = serializers.CharField(
        source="application.reference", read_only=True, help_text="The application's reference."
    )
    attachments = NotificationAttachmentSerializer(
        many=True, source="attachments.all", read_only=True, help_text="Files sent with it."
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "audience",
            "recipient_email",
            "subject",
            "application",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
            "attachments",
        ]
        read_only_fields = fields


class FailedPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class FailedNotificationsView(StaffView, generics.ListAPIView[Notification]):
    serializer_class = NotificationSerializer
    pagination_class = FailedPagination
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.failed_notifications(actor=self.actor)

    @extend_schema(
        operation_id="notifications_failed_list",
        summary="Failed notifications of the caller's offices, newest first",
        description="Emails that could not be delivered after their last attempt, or that the server refused.",
        responses={200: NotificationSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RetryNotificationView(StaffView):
    @extend_schema(
        operation_id="notifications_retry",
        summary="Send a failed notification again (managers of its office)",
        description="Puts the notification back to pending with fresh attempts and hands it to the worker.",
        request=None,
        responses={200: NotificationSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        notification = services.notification_retry(notification=pk, actor=self.actor)
        return Response(NotificationSerializer(notification).data)
