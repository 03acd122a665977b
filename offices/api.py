from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import AwareDateTimeField, ErrorSerializer
from offices.models import Office
from offices.promise import reply_deadlines

CLOSURE_HORIZON_DAYS = 60


class ClosureSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    reason = serializers.CharField()


class OfficeSerializer(serializers.ModelSerializer[Office]):
    working_days = serializers.ListField(
        source="working_weekdays", child=serializers.IntegerField(), help_text="0 is Monday, 6 is Sunday."
    )
    hours = serializers.SerializerMethodField()
    sla_days = serializers.IntegerField(source="reply_sla_days")
    closures = serializers.SerializerMethodField()

    class Meta:
        model = Office
        fields = ["code", "name", "timezone", "hours", "working_days", "currency", "sla_days", "email", "closures"]

    @extend_schema_field(
        serializers.DictField(child=serializers.CharField(), help_text="Local opening and closing time.")
    )
    def get_hours(self, office: Office) -> dict[str, str]:
        return {"opens": office.opens_at.strftime("%H:%M"), "closes": office.closes_at.strftime("%H:%M")}

    @extend_schema_field(ClosureSerializer(many=True))
    def get_closures(self, office: Office) -> list[dict[str, Any]]:
        today = timezone.now().astimezone(office.tz).date()
        closures = office.calendar().closures(today, today + timedelta(days=CLOSURE_HORIZON_DAYS))
        return [{"date": day, "reason": reason} for day, reason in closures]


class OfficeListView(generics.ListAPIView[Office]):
    """The offices with their working calendars and the closures of the next 60 days."""

    serializer_class = OfficeSerializer
    permission_classes = [AllowAny]
    pagination_class = None

    def get_queryset(self) -> QuerySet[Office]:
        return Office.objects.prefetch_related("overrides")


class ReplyDueQuerySerializer(serializers.Serializer[Any]):
    received_at = AwareDateTimeField(help_text="ISO 8601 instant with a UTC offset, e.g. 2026-11-23T04:30:00Z.")


class ReplyDueSerializer(serializers.Serializer[Any]):
    office = serializers.CharField()
    received_at = serializers.DateTimeField()
    reply_due_at = serializers.DateTimeField(help_text="UTC.")
    reply_due_local = serializers.CharField(help_text="The same instant in the office's time zone.")
    timezone = serializers.CharField()


class ReplyDueView(APIView):
    """When a request received at `received_at` must be answered under the office's reply promise."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[ReplyDueQuerySerializer],
        responses={
            200: ReplyDueSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid`: `received_at` is missing, has no offset, or is not a plausible instant.",
            ),
            404: OpenApiResponse(ErrorSerializer, description="`not_found`: no office with this code."),
        },
    )
    def get(self, request: Request, code: str) -> Response:
        office = get_object_or_404(Office.objects.prefetch_related("overrides"), code=code)
        query = ReplyDueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        received_at: datetime = query.validated_data["received_at"]
        due = reply_deadlines(office, received_at).due_at
        body = {
            "office": office.code,
            "received_at": received_at.astimezone(UTC),
            "reply_due_at": due.astimezone(UTC),
            "reply_due_local": due.astimezone(office.tz).isoformat(),
            "timezone": office.timezone,
        }
        return Response(ReplyDueSerializer(body).data)
