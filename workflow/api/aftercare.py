"""The staff side of aftercare in the API (SPEC §5, §9): record a monitoring outcome, a phone answer,
and correct the discharge date. Each view validates its input and calls one service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import PlausibleDateField
from workflow import services
from workflow.api.serializers import ApplicationDetailSerializer, FollowUpReviewSerializer
from workflow.api.views import StaffView, errors, validated
from workflow.models import FollowUpReview, MonitoringCheck, QuestionnaireAnswer
from workflow.models.aftercare import MONITORING_HOURS, REVIEW_MONTHS

NOT_FOUND = "Monitoring checks are 24 and 48 hours after discharge; reviews at 1, 3, 6, 12 and 24 months."


class MonitoringOutcomeInputSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=MonitoringCheck.Outcome.choices)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000, help_text="Required with `concern`."
    )


class PhoneAnswerInputSerializer(serializers.Serializer[Any]):
    overall_change = serializers.IntegerField(
        min_value=-3,
        max_value=3,
        help_text="Overall change since treatment: -3 very much worse, -2 much worse, -1 a little worse, "
        "0 no change, 1 a little better, 2 much better, 3 very much better.",
    )
    fatigue = serializers.IntegerField(min_value=0, max_value=10, help_text="0 none … 10 the worst imaginable.")
    joint_pain = serializers.IntegerField(min_value=0, max_value=10, help_text="0 none … 10 the worst imaginable.")
    flares = serializers.IntegerField(min_value=0, max_value=999, help_text="Flares since the last review.")
    current_medications = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    comments = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class DischargeDateInputSerializer(serializers.Serializer[Any]):
    discharge_date = PlausibleDateField(help_text="Not in the future, not before the admission date.")
    reason = serializers.CharField(max_length=2000)


class MonitoringOutcomeView(StaffView):
    @extend_schema(
        operation_id="applications_monitoring_record",
        summary="Record the outcome of the 24 h or 48 h monitoring check",
        description="Physician, coordinator or manager of the office, after discharge. `concern` needs a `note` "
        "and alerts the office's physicians. A check is recorded once (409 after). 404 for hours other than "
        "24 and 48.",
        request=MonitoringOutcomeInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str, hours: int) -> Response:
        application = self.lookup(reference)
        if hours not in MONITORING_HOURS:
            raise exceptions.NotFound(NOT_FOUND)
        data = validated(MonitoringOutcomeInputSerializer, request.data)
        services.monitoring_outcome_record(application=application, actor=self.actor, hours_after=hours, **data)
        return self.detail(reference)


class PhoneAnswerView(StaffView):
    @extend_schema(
        operation_id="applications_review_answer_record",
        summary="Record the follow-up questionnaire answers the patient gave by phone",
        description="Coordinator or manager of the office, while the review's window is open (7 days before to "
        "30 days after its due date); an answered review can be corrected at any time. Each call adds a version; "
        "none is ever overwritten. Answering the 24-month review completes the follow-up. 404 for other months "
        "than 1, 3, 6, 12, 24.",
        request=PhoneAnswerInputSerializer,
        responses={201: FollowUpReviewSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str, months: int) -> Response:
        application = self.lookup(reference)
        if months not in REVIEW_MONTHS:
            raise exceptions.NotFound(NOT_FOUND)
        data = validated(PhoneAnswerInputSerializer, request.data)
        review = FollowUpReview.objects.get(application=application, months=months)
        answer = services.review_answer_submit(
            review=review,
            actor=self.actor,
            answers=services.Answers(**data),
            channel=QuestionnaireAnswer.Channel.PHONE,
        )
        review = FollowUpReview.objects.prefetch_related("answers").get(pk=answer.review_id)
        return Response(FollowUpReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class DischargeDateView(StaffView):
    @extend_schema(
        operation_id="applications_discharge_date_correct",
        summary="Correct the discharge date; the reviews not yet answered are recomputed",
        description="Physician, coordinator or manager of the office, while discharged or in follow-up. A step "
        "already done (an invitation sent) whose new time is still ahead is done again then. In the history "
        "with the reason.",
        request=DischargeDateInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(DischargeDateInputSerializer, request.data)
        services.discharge_date_correct(application=application, actor=self.actor, **data)
        return self.detail(reference)
