"""Report endpoints: how well each office keeps its reply promise (SPEC §4), and its patients' outcomes (§5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import PlausibleDateField
from offices.models import Membership, Office
from workflow.api.views import StaffView, errors
from workflow.reports import sla_report
from workflow.reports_follow_up import follow_up_report

DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodQuerySerializer(serializers.Serializer[Any]):
    """`office`, `from` and `to` of a report: a period of office-local days, with a default and a longest span."""

    default_days = DEFAULT_DAYS
    max_days = MAX_DAYS
    from_help = "First day (office-local); default 30 days ago."

    office = serializers.SlugField(required=False, help_text="An office code; all offices you manage if omitted.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # `from` is a Python keyword, so the field is added under its public name here.
        fields["from"] = PlausibleDateField(required=False, help_text=self.from_help)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("to") or timezone.localdate()
        start = attrs.get("from") or end - timedelta(days=self.default_days - 1)
        if start > end:
            raise serializers.ValidationError({"from": ["The period starts after it ends."]})
        if (end - start).days >= self.max_days:
            raise serializers.ValidationError({"from": [f"A report covers at most {self.max_days} days."]})
        return {**attrs, "from": start, "to": end}


class SlaReportQuerySerializer(PeriodQuerySerializer):
    to = PlausibleDateField(required=False, help_text="Last day (office-local), inclusive; default today.")


class SlaReportRowSerializer(serializers.Serializer[Any]):
    office = serializers.CharField()
    to = serializers.DateField()
    opened = serializers.IntegerField()
    met = serializers.IntegerField(help_text="Replied by the deadline.")
    breached = serializers.IntegerField(help_text="Replied late, or unanswered past the deadline.")
    pending = serializers.IntegerField(help_text="Open and not yet due.")
    closed_unanswered = serializers.IntegerField(help_text="Closed by a terminal state before the deadline.")
    percent_met = serializers.FloatField(allow_null=True, help_text="met / (met + breached) × 100.")
    median_reply_hours = serializers.FloatField(allow_null=True, help_text="In working hours of the office.")
    p90_reply_hours = serializers.FloatField(allow_null=True, help_text="90th percentile, nearest rank.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class SlaReportView(StaffView):
    """Per office and period: obligations opened, met, breached, % met, median and p90 reply time.

    For managers, over the offices they manage.
    """

    @extend_schema(
        parameters=[SlaReportQuerySerializer],
        responses={200: SlaReportRowSerializer(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = SlaReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        managed = [office for office, role in self.actor.roles.items() if role == Membership.Role.MANAGER]
        if not managed:
            raise exceptions.PermissionDenied("Reports are for office managers.")
        offices = Office.objects.filter(pk__in=managed).prefetch_related("overrides").order_by("code")
        code = query.validated_data.get("office")
        if code:
            offices = offices.filter(code=code)
            if not offices:
                raise exceptions.NotFound(f"You manage no office {code!r}.")
        rows = sla_report(
            offices=list(offices),
            start=query.validated_data["from"],
            end=query.validated_data["to"],
            now=timezone.now(),
        )
        return Response(SlaReportRowSerializer(rows, many=True).data)


FOLLOW_UP_DEFAULT_DAYS = 365
# Outcomes are read over long spans (the 24-month review of a year's discharges): up to three years.
FOLLOW_UP_MAX_DAYS = 3 * 366


class FollowUpReportQuerySerializer(PeriodQuerySerializer):
    default_days = FOLLOW_UP_DEFAULT_DAYS
    max_days = FOLLOW_UP_MAX_DAYS
    from_help = "First due date counted; default the 365 days ending on `to`."

    to = PlausibleDateField(required=False, help_text="Last due date counted, inclusive; default today.")
    split = serializers.ChoiceField(
        choices=["protocol"], required=False, help_text="`protocol`: one set of rows per protocol in each office."
    )


class ChangeCountSerializer(serializers.Serializer[Any]):
    value = serializers.IntegerField(help_text="-3 very much worse … +3 very much better.")
    count = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # `label` is an attribute of every DRF field, so the scale point's words are added here.
        fields["label"] = serializers.CharField(help_text="The scale point in words.")
        return fields


class MedianSerializer(serializers.Serializer[Any]):
    median = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="How many answers the median is taken from.")


class FollowUpRowSerializer(serializers.Serializer[Any]):
    office = serializers.CharField()
    protocol = serializers.CharField(required=False, help_text="Only with split=protocol.")
    months = serializers.IntegerField(help_text="The review point: 1, 3, 6, 12 or 24 months after discharge.")
    due = serializers.IntegerField()
    answered = serializers.IntegerField()
    missed = serializers.IntegerField()
    pending = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True, help_text="answered / (answered + missed) × 100.")
    overall_change = ChangeCountSerializer(many=True)
    unknown = serializers.IntegerField(help_text="Due reviews with no answer (missed + pending).")
    improved = serializers.IntegerField(help_text="Answers 'a little better' or more.")
    improved_of_answered = serializers.FloatField(allow_null=True, help_text="improved / answered × 100.")
    improved_of_due = serializers.FloatField(allow_null=True, help_text="improved / due × 100.")
    fatigue = MedianSerializer()
    joint_pain = MedianSerializer()


class ProtocolSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    standard = serializers.BooleanField()
    day_plan = serializers.ListField(child=serializers.DictField())


class FollowUpReportSerializer(serializers.Serializer[Any]):
    to = serializers.DateField()
    split = serializers.CharField(allow_null=True)
    definitions = serializers.DictField(child=serializers.CharField())
    rows = FollowUpRowSerializer(many=True)
    protocols = ProtocolSerializer(many=True, help_text="With split=protocol: each day plan, once.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class FollowUpReportView(StaffView):
    """Outcomes per office and review point (SPEC §5): due, answered, missed, pending, the overall change,
    the share improved of those who answered and of all who were due, median fatigue and joint pain.

    For managers, over the offices they manage. The definitions are part of the response.
    """

    @extend_schema(
        parameters=[FollowUpReportQuerySerializer],
        responses={200: FollowUpReportSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = FollowUpReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        managed = [office for office, role in self.actor.roles.items() if role == Membership.Role.MANAGER]
        if not managed:
            raise exceptions.PermissionDenied("Reports are for office managers.")
        offices = Office.objects.filter(pk__in=managed).order_by("code")
        code = query.validated_data.get("office")
        if code:
            offices = offices.filter(code=code)
            if not offices:
                raise exceptions.NotFound(f"You manage no office {code!r}.")
        report = follow_up_report(
            offices=list(offices),
            start=query.validated_data["from"],
            end=query.validated_data["to"],
            split_protocol=query.validated_data.get("split") == "protocol",
        )
        return Response(FollowUpReportSerializer(report).data)
