"""The applications API (SPEC §9): one small view per operation, each calling one service or selector.

Errors are raised, never built here: the services raise NotAllowed (403), Conflict (409),
ValidationError (400) and DoesNotExist (404), and `config.api.exception_handler` serves them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, SimpleRateThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from config.api import ErrorSerializer
from notifications.models import Notification
from security import access_log
from security.idempotency import idempotent
from security.tokens import ExpiringTokenAuthentication
from workflow import downloads, selectors, services
from workflow.actors import Actor
from workflow.api.serializers import (
    AdmissionInputSerializer,
    ApplicationDetailSerializer,
    ApplicationSummarySerializer,
    ApproveReviewInputSerializer,
    AssignInputSerializer,
    ChangeProtocolInputSerializer,
    ConsentPaperInputSerializer,
    ConsentWithdrawInputSerializer,
    DeclineInputSerializer,
    DischargeInputSerializer,
    HistoryEntrySerializer,
    IntakeInputSerializer,
    IntakeReceiptSerializer,
    MessageInputSerializer,
    MessageSerializer,
    NotificationStatusSerializer,
    QueueFilterSerializer,
    QueueRowSerializer,
    ReviseQuoteInputSerializer,
    SendQuoteInputSerializer,
    SignatureSerializer,
    TransferInputSerializer,
    TransferResultSerializer,
    TreatmentDayDoneInputSerializer,
    WithdrawInputSerializer,
)
from workflow.models import Application
from workflow.services import TransitionName
from workflow.uploads import ALLOWED_EXTENSIONS

ERROR_DESCRIPTIONS = {
    400: "Invalid input: `fields` names each bad field.",
    401: "No credentials, or bad ones.",
    403: "Not an office staff member, or the role in this office does not allow it.",
    404: "No such application in the caller's offices.",
    409: "Not possible from the current state (`conflict`), a condition is missing (`conditions_not_met`, "
    "with `unmet`), a concurrent change won, or a request with the same `Idempotency-Key` is still running "
    "(`in_progress`).",
    422: "The `Idempotency-Key` was already used with a different request (`idempotency_key_reused`).",
    429: "Too many requests; `retry_after` says how many seconds to wait.",
}


# A download is sent with the type its content was checked to be at upload (workflow.uploads).
DOWNLOAD_TYPES = {
    (200, media): OpenApiTypes.BINARY for media in sorted({*ALLOWED_EXTENSIONS.values(), "application/octet-stream"})
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class IsOfficeStaff(BasePermission):
    message = "Only staff members of an office may use this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(view, StaffView) and view.actor.is_staff_member


class StaffView(APIView):
    """A staff endpoint. Its answer is written to the access log here (docs/security.md): a GET that
    served an application looked up through `lookup` or `detail` is a read; a 403, or a 404 about an
    application, is a refusal naming the application or the reference asked for."""

    # Token first, so that a request without credentials gets 401 with WWW-Authenticate, not 403.
    authentication_classes = [ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, IsOfficeStaff]
    # The access log's `what` for this endpoint; by default its URL name.
    access_log_what: ClassVar[str | None] = None
    # The application this request served, for the access log.
    served: Application | None = None

    @cached_property
    def actor(self) -> Actor:
        return Actor.staff(self.request.user)

    def lookup(self, reference: str) -> Application:
        self.served = selectors.application_lookup(actor=self.actor, reference=reference)
        return self.served

    def detail(self, reference: str, *, status_code: int = status.HTTP_200_OK) -> Response:
        application = self.served = selectors.application_get(actor=self.actor, reference=reference)
        context = {"now": timezone.now(), "calendars": {}, "actor": self.actor}
        return Response(ApplicationDetailSerializer(application, context=context).data, status=status_code)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        self.record_access(request, response.status_code, kwargs.get("reference"))
        return response

    def record_access(self, request: Request, status_code: int, reference: str | None) -> None:
        match = request.resolver_match
        access_log.record_outcome(
            request=request,
            status=status_code,
            what=self.access_log_what or (match.url_name if match else None) or "api",
            channel=access_log.Channel.API,
            application=self.served,
            reference=reference,
        )


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class IntakeThrottle(AnonRateThrottle):
    """Anonymous intake, per client address. Signed-in users (staff entering phone and email requests) are not
    counted: they are known, and a busy morning of calls must not lock them out."""

    scope = "intake"


class IntakeEmailThrottle(SimpleRateThrottle):
    """A patient's intake, per patient email address whatever the client address: each application emails an
    acknowledgement there, so rotating addresses must not let anyone mail a stranger without limit.

    Checked once the submission is well-formed (before the intake service, so a refused one stores nothing):
    a patient correcting a typo on the form is not counted against their address. The cache key holds a
    digest of the address, never the address itself.
    """

    scope = "intake_email"

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = normalised_email(email)

    def get_cache_key(self, request: Request | HttpRequest, view: APIView | None) -> str | None:
        if not self.email:
            return None
        digest = hashlib.sha256(self.email.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}

    def refused(self, request: Request | HttpRequest) -> bool:
        return not self.allow_request(request, None)  # type: ignore[arg-type]  # reads neither


def normalised_email(email: str) -> str:
    """The address as the throttle counts it: `Priya@Example.org ` and `priya@example.org` are one patient."""
    return "".join(str(email or "").split()).casefold()


class QueuePagination(PageNumberPagination):
    """`page` and `page_size` as before; `count` is exact up to `selectors.QUEUE_COUNT_LIMIT` and
    `count_capped` says there are more, so that no page counts every row of a large office."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    queue: selectors.QueuePage
    url: str

    def paginate_queue(self, request: Request, *, actor: Actor, now: Any, filters: dict[str, Any]) -> list[Any]:
        self.url = request.build_absolute_uri()
        raw = request.query_params.get(self.page_query_param) or "1"
        number = int(raw) if raw.isascii() and raw.isdigit() else 0
        if number < 1:
            raise exceptions.NotFound(self.invalid_page_message)
        size = self.get_page_size(request) or self.page_size
        self.queue = selectors.queue_page(actor=actor, now=now, number=number, size=size, **filters)
        if number > 1 and not self.queue.rows:
            raise exceptions.NotFound(self.invalid_page_message)
        return self.queue.rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.queue.count,
                "count_capped": self.queue.count_capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if not self.queue.has_next:
            return None
        return replace_query_param(self.url, self.page_query_param, self.queue.number + 1)

    def get_previous_link(self) -> str | None:
        if not self.queue.has_previous:
            return None
        if self.queue.number == 2:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, self.queue.number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count"]["description"] = (
            f"Matching applications, counted up to {selectors.QUEUE_COUNT_LIMIT}."
        )
        paginated["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"True when more than {selectors.QUEUE_COUNT_LIMIT} match: show the count as "
            f"“{selectors.QUEUE_COUNT_LIMIT}+”.",
        }
        paginated["required"] = [*paginated["required"], "count_capped"]
        return paginated


class ApplicationCollectionView(StaffView):
    """GET: the staff queue. POST: the public intake form (anyone; staff may also set `received_at`)."""

    access_log_what = "queue"

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = QueuePagination

    def get_permissions(self) -> Sequence[Any]:
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method == "POST":
            return [IntakeThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="applications_queue",
        summary="The staff queue",
        description="The applications of the caller's offices, by reply deadline unless `ordering` says otherwise.",
        parameters=[QueueFilterSerializer],
        responses={200: ApplicationSummarySerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = validated(QueueFilterSerializer, request.query_params)
        now = timezone.now()
        paginator = QueuePagination()
        page = paginator.paginate_queue(request, actor=self.actor, now=now, filters=filters)
        context = {"now": now, "calendars": paginator.queue.calendars}
        return paginator.get_paginated_response(QueueRowSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="applications_submit",
        summary="Submit an application (public intake form)",
        description="JSON, or multipart with several `documents` files. An anonymous patient gets back only "
        "the reference, state, office and reply deadline; staff get the full application.",
        request=IntakeInputSerializer,
        responses={
            # One schema, not a oneOf: the full detail a staff member gets also has every receipt field.
            201: OpenApiResponse(
                IntakeReceiptSerializer,
                description="Anonymous: these fields only. Staff of the handling office: the full ApplicationDetail.",
            ),
            **errors(400, 401, 409, 422, 429),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(IntakeInputSerializer, request.data)
        actor = self.actor if self.actor.is_staff_member else Actor.patient()
        if actor.kind == "patient":
            email_throttle = IntakeEmailThrottle(data["email"])
            if email_throttle.refused(request):
                raise exceptions.Throttled(
                    email_throttle.wait(), detail="There have been too many applications with this email address."
                )
        application = services.application_submit(actor=actor, **data)
        if actor.kind == "user" and application.office_id in actor.office_ids:
            return self.detail(application.reference, status_code=status.HTTP_201_CREATED)
        # A patient, or staff filling in the form for an office they do not work at: a receipt only.
        return Response(IntakeReceiptSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetailView(StaffView):
    access_log_what = "detail"

    @extend_schema(
        operation_id="applications_retrieve",
        summary="One application, with the transitions the caller may run now",
        responses={200: ApplicationDetailSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str) -> Response:
        return self.detail(reference)


class TransitionView(StaffView):
    """A transition's endpoint: validate its parameters, run its service, answer with the detail."""

    # Not `name`: DRF reads that as the view's display name.
    transition: TransitionName

    def lookup(self, reference: str) -> Application:
        application = super().lookup(reference)
        # The read is fresh: a refusal it already shows is answered without the service's row lock.
        services.transition_precheck(application=application, name=self.transition, actor=self.actor)
        return application

    def input(self, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        return validated(serializer_class, self.request.data)


def transition_schema(name: str, description: str, request: type[serializers.Serializer[Any]] | None) -> Any:
    # 400 and 422 for every one: an invalid or reused Idempotency-Key, with a body or without.
    codes = (400, 401, 403, 404, 409, 422)
    return extend_schema(
        operation_id=f"applications_transition_{name}",
        summary=f"Run `{name}`",
        description=description,
        request=request,
        responses={200: ApplicationDetailSerializer, **errors(*codes)},
    )


class ApproveReviewView(TransitionView):
    transition = "approve_review"

    @transition_schema("approve_review", "Physician: received → medically_reviewed.", ApproveReviewInputSerializer)
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(ApproveReviewInputSerializer)
        services.application_approve_review(
            application=self.lookup(reference),
            actor=self.actor,
            review_notes=data["review_notes"],
            protocol=data.get("protocol"),
        )
        return self.detail(reference)


class DeclineView(TransitionView):
    transition = "decline"

    @transition_schema("decline", "Physician: received → declined.", DeclineInputSerializer)
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(DeclineInputSerializer)
        services.application_decline(application=self.lookup(reference), actor=self.actor, reason=data["reason"])
        return self.detail(reference)


class SendQuoteView(TransitionView):
    transition = "send_quote"

    @transition_schema("send_quote", "Coordinator or manager: medically_reviewed → quoted.", SendQuoteInputSerializer)
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(SendQuoteInputSerializer)
        services.application_send_quote(
            application=self.lookup(reference),
            actor=self.actor,
            items=data["items"],
            currency=data["currency"],
            valid_until=data["valid_until"],
            notes=data["notes"],
        )
        return self.detail(reference)


class ReviseQuoteView(TransitionView):
    transition = "revise_quote"

    @transition_schema(
        "revise_quote",
        "Coordinator or manager: quoted → quoted; supersedes the quote.",
        ReviseQuoteInputSerializer,
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(ReviseQuoteInputSerializer)
        services.application_revise_quote(
            application=self.lookup(reference),
            actor=self.actor,
            items=data["items"],
            currency=data["currency"],
            valid_until=data["valid_until"],
            notes=data["notes"],
        )
        return self.detail(reference)


class AdmitView(TransitionView):
    transition = "admit"

    @transition_schema(
        "admit",
        "Coordinator or manager: quoted → admitted. Needs an accepted quote, an admission date on or before "
        "today and a signature of the current consent version.",
        None,
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        services.application_admit(application=self.lookup(reference), actor=self.actor)
        return self.detail(reference)


class DischargeView(TransitionView):
    transition = "discharge"

    @transition_schema(
        "discharge", "Physician, coordinator or manager: admitted → discharged.", DischargeInputSerializer
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(DischargeInputSerializer)
        services.application_discharge(
            application=self.lookup(reference),
            actor=self.actor,
            discharge_date=data["discharge_date"],
            summary=data["summary"],
        )
        return self.detail(reference)


class StartFollowUpView(TransitionView):
    transition = "start_follow_up"

    @transition_schema("start_follow_up", "Coordinator or manager: discharged → in_follow_up.", None)
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        services.application_start_follow_up(application=self.lookup(reference), actor=self.actor)
        return self.detail(reference)


class CompleteView(TransitionView):
    transition = "complete"

    @transition_schema("complete", "Manager: in_follow_up → completed.", None)
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        services.application_complete(application=self.lookup(reference), actor=self.actor)
        return self.detail(reference)


class WithdrawView(TransitionView):
    transition = "withdraw"

    @transition_schema(
        "withdraw",
        "Coordinator or manager: received, medically_reviewed, quoted → withdrawn.",
        WithdrawInputSerializer,
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        data = self.input(WithdrawInputSerializer)
        services.application_withdraw(application=self.lookup(reference), actor=self.actor, reason=data["reason"])
        return self.detail(reference)


# One endpoint per transition, in the order of SPEC §3.
TRANSITION_VIEWS: dict[TransitionName, type[TransitionView]] = {
    "approve_review": ApproveReviewView,
    "decline": DeclineView,
    "send_quote": SendQuoteView,
    "revise_quote": ReviseQuoteView,
    "admit": AdmitView,
    "discharge": DischargeView,
    "start_follow_up": StartFollowUpView,
    "complete": CompleteView,
    "withdraw": WithdrawView,
}


class UnknownTransitionView(StaffView):
    @extend_schema(exclude=True)
    def post(self, request: Request, reference: str, name: str) -> Response:
        raise exceptions.NotFound(f"There is no transition named {name!r}.")


class HistoryView(StaffView):
    access_log_what = "history"

    @extend_schema(
        operation_id="applications_history",
        summary="The timeline: every transition and action, in order, with who did it",
        responses={200: HistoryEntrySerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        entries = selectors.application_history(application=application)
        caused: dict[int, list[Notification]] = {}
        for notification in selectors.application_notifications(application=application):
            if notification.history_id is not None:
                caused.setdefault(notification.history_id, []).append(notification)
        return Response(HistoryEntrySerializer(entries, many=True, context={"notifications": caused}).data)


class NotificationsView(StaffView):
    access_log_what = "notifications"

    @extend_schema(
        operation_id="applications_notifications",
        summary="Every email about this application (staff alerts included) and its delivery status",
        responses={200: NotificationStatusSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        notifications = selectors.application_notifications(application=application)
        return Response(NotificationStatusSerializer(notifications, many=True).data)


class MessagesView(StaffView):
    access_log_what = "messages"

    @extend_schema(
        operation_id="applications_messages_list",
        summary="The conversation with the patient, and internal notes",
        responses={200: MessageSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        return Response(MessageSerializer(selectors.application_messages(application=application), many=True).data)

    @extend_schema(
        operation_id="applications_messages_create",
        summary="Reply to the patient (emailed; answers the reply promise) or add an internal note",
        request=MessageInputSerializer,
        responses={201: MessageSerializer, **errors(400, 401, 403, 404, 409, 422)},
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(MessageInputSerializer, request.data)
        message = services.message_post(application=application, actor=self.actor, **data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class AssignView(StaffView):
    @extend_schema(
        operation_id="applications_assign",
        summary="Assign the application to a staff member of its office, or unassign it",
        request=AssignInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(AssignInputSerializer, request.data)
        services.application_assign(application=application, actor=self.actor, user_id=data["user"])
        return self.detail(reference)


class TransferView(StaffView):
    @extend_schema(
        operation_id="applications_transfer",
        summary="Hand the application over to another office (the reply deadline is kept)",
        request=TransferInputSerializer,
        responses={200: TransferResultSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(TransferInputSerializer, request.data)
        moved = services.application_transfer(application=application, actor=self.actor, office_code=data["office"])
        return Response(TransferResultSerializer(moved).data)


class QuoteAcceptView(StaffView):
    @extend_schema(
        operation_id="applications_quote_accept",
        summary="Record the patient's acceptance of the live quote, received by phone or email",
        request=None,
        responses={200: ApplicationDetailSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        services.quote_accept(application=application, actor=self.actor)
        return self.detail(reference)


class AdmissionView(StaffView):
    @extend_schema(
        operation_id="applications_admission_schedule",
        summary="Schedule the admission date, once the quote is accepted",
        request=AdmissionInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(AdmissionInputSerializer, request.data)
        services.admission_schedule(application=application, actor=self.actor, **data)
        return self.detail(reference)


class ProtocolView(StaffView):
    @extend_schema(
        operation_id="applications_protocol_change",
        summary="Physician: change the recommended protocol before admission",
        description="Medically reviewed or quoted applications only; `admit` dates the protocol in force then. "
        "The history keeps the old and the new protocol.",
        request=ChangeProtocolInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(ChangeProtocolInputSerializer, request.data)
        services.application_change_protocol(application=application, actor=self.actor, protocol=data["protocol"])
        return self.detail(reference)


class TreatmentDayDoneView(StaffView):
    @extend_schema(
        operation_id="applications_treatment_day_done",
        summary="Mark one day of the admitted patient's schedule done, with notes",
        description="Admitted applications only, from the day's date on; a day is marked done once (409 after). "
        "404 when the schedule has no such day.",
        request=TreatmentDayDoneInputSerializer,
        responses={200: ApplicationDetailSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str, day: int) -> Response:
        application = self.lookup(reference)
        data = validated(TreatmentDayDoneInputSerializer, request.data)
        services.treatment_day_complete(application=application, actor=self.actor, day=day, notes=data["notes"])
        return self.detail(reference)


class ConsentSignatureView(StaffView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="applications_consent_record_paper",
        summary="Record a consent form the patient signed on paper, with its scan",
        request={"multipart/form-data": ConsentPaperInputSerializer},
        responses={201: SignatureSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str) -> Response:
        application = self.lookup(reference)
        data = validated(ConsentPaperInputSerializer, request.data)
        signature = services.consent_record_paper(application=application, actor=self.actor, **data)
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)


class ConsentWithdrawView(StaffView):
    @extend_schema(
        operation_id="applications_consent_withdraw",
        summary="Record that the patient withdrew a consent (by phone or email)",
        request=ConsentWithdrawInputSerializer,
        responses={200: SignatureSerializer, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, reference: str, signature_id: int) -> Response:
        application = self.lookup(reference)
        data = validated(ConsentWithdrawInputSerializer, request.data)
        signature = services.consent_withdraw(
            application=application, actor=self.actor, signature_id=signature_id, **data
        )
        return Response(SignatureSerializer(signature).data)


class PortalLinkResultSerializer(serializers.Serializer[Any]):
    expires_at = serializers.DateTimeField(help_text="When the link just emailed stops working.")


class PortalLinksRevokedSerializer(serializers.Serializer[Any]):
    revoked = serializers.IntegerField(help_text="How many live links were revoked.")


class PortalLinkView(StaffView):
    """The patient's private portal links (SPEC §7): email a fresh one, or revoke them all."""

    @extend_schema(
        operation_id="applications_portal_link_send",
        summary="Email the patient a fresh private portal link",
        request=None,
        responses={200: PortalLinkResultSerializer, **errors(401, 403, 404)},
    )
    def post(self, request: Request, reference: str) -> Response:
        link = services.portal_link_send(application=self.lookup(reference), actor=self.actor)
        return Response(PortalLinkResultSerializer(link).data)

    @extend_schema(
        operation_id="applications_portal_link_revoke",
        summary="Revoke every live portal link of the application",
        request=None,
        responses={200: PortalLinksRevokedSerializer, **errors(401, 403, 404)},
    )
    def delete(self, request: Request, reference: str) -> Response:
        count = services.portal_links_revoke(application=self.lookup(reference), actor=self.actor)
        return Response(PortalLinksRevokedSerializer({"revoked": count}).data)


class DocumentDownloadView(StaffView):
    access_log_what = "document"

    @extend_schema(
        operation_id="applications_document_download",
        summary="Download one uploaded medical record (as an attachment)",
        responses={**DOWNLOAD_TYPES, **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str, document_id: int) -> FileResponse:
        application = self.lookup(reference)
        # An erased record's file is gone (workflow.services.privacy); its row stays.
        return downloads.document_download(get_object_or_404(application.documents.exclude(file=""), pk=document_id))


class ConsentScanDownloadView(StaffView):
    access_log_what = "consent_scan"

    @extend_schema(
        operation_id="applications_consent_scan_download",
        summary="Download the scan of a consent form signed on paper (as an attachment)",
        responses={**DOWNLOAD_TYPES, **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str, signature_id: int) -> FileResponse:
        application = self.lookup(reference)
        signature = get_object_or_404(application.signatures.exclude(scan=""), pk=signature_id)
        return downloads.consent_scan_download(signature)


class ConsentPdfDownloadView(StaffView):
    access_log_what = "consent_pdf"

    @extend_schema(
        operation_id="applications_consent_pdf_download",
        summary="Download the PDF of what the patient signed in the portal (as an attachment)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **errors(401, 403, 404)},
    )
    def get(self, request: Request, reference: str, signature_id: int) -> FileResponse:
        application = self.lookup(reference)
        signature = get_object_or_404(application.signatures.exclude(pdf=""), pk=signature_id)
        return downloads.consent_pdf_download(signature)
