"""`GET /api/v1/access-log/`: the access log for managers, over the offices they manage (docs/api.md)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import PlausibleDateField
from offices.models import Membership
from security.access_log import access_log_for_managers
from security.models import AccessLogEntry
from workflow.api.views import StaffView, errors


class AccessLogQuerySerializer(serializers.Serializer[Any]):
    application = serializers.CharField(required=False, max_length=40, help_text="An application's reference.")
    user = serializers.CharField(required=False, max_length=150, help_text="A username, or a user id.")
    channel = serializers.ChoiceField(choices=AccessLogEntry.Channel.choices, required=False)
    outcome = serializers.ChoiceField(choices=AccessLogEntry.Outcome.choices, required=False)
    to = PlausibleDateField(required=False, help_text="Last day (UTC), inclusive.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # `from` is a Python keyword, so the field is added under its public name here.
        fields["from"] = PlausibleDateField(required=False, help_text="First day (UTC), inclusive.")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"from": ["The period starts after it ends."]})
        return attrs


class AccessLogEntrySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When (UTC).")
    user = serializers.IntegerField(source="user_id", allow_null=True, help_text="The user's id.")
    username = serializers.CharField(help_text="The username at the time.")
    what = serializers.CharField(help_text="What was read or refused: detail, history, messages, document, export…")
    application = serializers.CharField(
        source="reference", help_text="The application's reference, or the reference asked for; may be empty."
    )
    office = serializers.SerializerMethodField(help_text="The application's office code at the time.")
    outcome = serializers.ChoiceField(choices=AccessLogEntry.Outcome.choices)
    status = serializers.IntegerField(help_text="The HTTP status answered: 200, or 403 / 404 for a refusal.")
    client_address = serializers.CharField(help_text="The client's address (NUM_PROXIES hops back).")
    channel = serializers.ChoiceField(choices=AccessLogEntry.Channel.choices)
    path = serializers.CharField(help_text="The address asked for, without its query string.")

    def get_office(self, entry: AccessLogEntry) -> str | None:
        return entry.office.code if entry.office else None


class AccessLogPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _start_of(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class AccessLogView(StaffView):
    access_log_what = "access_log"
    # Read by drf-spectacular too: the schema then says the answer is a page.
    pagination_class = AccessLogPagination

    @extend_schema(
        operation_id="access_log_list",
        summary="The access log of the offices you manage, newest first",
        description="Every staff read of an application's personal data and every refusal (403, 404), with "
        "who, what, when (UTC), from where and how (web, api, admin). Managers only.",
        parameters=[AccessLogQuerySerializer],
        responses={200: AccessLogEntrySerializer(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = AccessLogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        managed = [office for office, role in self.actor.roles.items() if role == Membership.Role.MANAGER]
        if not managed:
            raise exceptions.PermissionDenied("The access log is for office managers.")
        data = query.validated_data
        rows = access_log_for_managers(
            office_ids=managed,
            application=data.get("application"),
            user=data.get("user"),
            channel=data.get("channel"),
            outcome=data.get("outcome"),
            since=_start_of(data["from"]) if data.get("from") else None,
            until=_start_of(data["to"]) + timedelta(days=1) if data.get("to") else None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(AccessLogEntrySerializer(page, many=True).data)
