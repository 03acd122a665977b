"""Input and output serializers of the applications API (SPEC §9). Field names are the contract.

Inputs only shape and type the request; the rules (what a valid quote is, who may set
`received_at`, …) live in the services, which raise field errors the exception handler serves as 400.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cached_property
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import AwareDateTimeField
from workflow import services
from workflow import sla as sla_rules
from workflow.actors import Actor
from workflow.models import (
    Application,
    ConsentSignature,
    Document,
    FollowUpReview,
    Message,
    MonitoringCheck,
    QuestionnaireAnswer,
    Quote,
    QuoteItem,
    State,
    TransitionLog,
    TreatmentDay,
)
from workflow.selectors import ASSIGNED_ME, ASSIGNED_NONE, QUEUE_ORDERINGS, QueueRow

# ---- inputs ----


class IntakeInputSerializer(serializers.Serializer[Any]):
    full_name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Application.Sex.choices)
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166-1 alpha-2, e.g. IN or DE.")
    preferred_language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="en")
    condition = serializers.CharField(max_length=200)
    diagnosis_date = serializers.DateField(required=False, allow_null=True, default=None)
    current_medications = serializers.CharField(required=False, allow_blank=True, default="")
    medical_history = serializers.CharField(required=False, allow_blank=True, default="")
    treatment_request = serializers.CharField(required=False, allow_blank=True, default="")
    office = serializers.SlugField(
        required=False, allow_null=True, default=None, help_text="Office code; routed by country when omitted."
    )
    privacy_consent = serializers.BooleanField(help_text="Must be true: the privacy notice is accepted.")
    documents = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Medical records (PDF, JPEG or PNG); multipart only.",
    )
    received_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Staff only: when a phone or email request really arrived (never in the future).",
    )


class QueueFilterSerializer(serializers.Serializer[Any]):
    office = serializers.SlugField(required=False, help_text="Office code.")
    state = serializers.ChoiceField(choices=State.choices, required=False)
    # ASCII digits only: str.isdigit() also takes "³", which int() then refuses.
    assigned = serializers.RegexField(
        rf"^({ASSIGNED_ME}|{ASSIGNED_NONE}|[0-9]+)$",
        required=False,
        help_text=f"`{ASSIGNED_ME}`, `{ASSIGNED_NONE}` (unassigned) or a user id.",
        error_messages={"invalid": f"Give {ASSIGNED_ME}, {ASSIGNED_NONE} or a user id."},
    )
    sla = serializers.ChoiceField(choices=sla_rules.STATUSES, required=False)
    q = serializers.CharField(required=False, max_length=200, help_text="Text in the reference, name or email.")
    ordering = serializers.ChoiceField(
        choices=list(QUEUE_ORDERINGS),
        required=False,
        default="reply_due_at",
        help_text="`reply_due_at` (default; no deadline last), `received_at` or `-received_at`.",
    )


class ProtocolDaySerializer(serializers.Serializer[Any]):
    day = serializers.IntegerField(min_value=1)
    activities = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class ApproveReviewInputSerializer(serializers.Serializer[Any]):
    review_notes = serializers.CharField()
    protocol = ProtocolDaySerializer(
        many=True, required=False, allow_null=True, help_text="The recommended protocol; SPEC §5 default if omitted."
    )


class DeclineInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(help_text="Why the patient is not eligible; the patient is told.")


class WithdrawInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(help_text="Why the application is withdrawn.")


class QuoteItemInputSerializer(serializers.Serializer[Any]):
    description = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class SendQuoteInputSerializer(serializers.Serializer[Any]):
    items = QuoteItemInputSerializer(many=True, help_text="The total is their sum.")
    currency = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="ISO 4217; the office's currency if omitted."
    )
    valid_until = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="30 days from today if omitted."
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReviseQuoteInputSerializer(SendQuoteInputSerializer):
    """The same terms as `send_quote`; the new quote supersedes the live one."""


class DischargeInputSerializer(serializers.Serializer[Any]):
    discharge_date = serializers.DateField()
    summary = serializers.CharField()


class MessageInputSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(
        choices=[("reply", "Reply to the patient"), ("note", "Internal note")],
        help_text="`reply` is emailed to the patient and answers the reply promise; `note` is for colleagues.",
    )
    body = serializers.CharField()


class AssignInputSerializer(serializers.Serializer[Any]):
    user = serializers.IntegerField(allow_null=True, help_text="A staff member of the office, or null to unassign.")


class TransferInputSerializer(serializers.Serializer[Any]):
    office = serializers.SlugField(help_text="The code of the office taking over.")


class AdmissionInputSerializer(serializers.Serializer[Any]):
    admission_date = serializers.DateField()


class ChangeProtocolInputSerializer(serializers.Serializer[Any]):
    protocol = ProtocolDaySerializer(many=True, help_text="The whole new protocol: days numbered from 1, in order.")


class TreatmentDayDoneInputSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="How the day went."
    )


class ConsentPaperInputSerializer(serializers.Serializer[Any]):
    signer_name = serializers.CharField(max_length=200)
    signed_at = AwareDateTimeField()
    scan = serializers.FileField(help_text="The scanned signed form: PDF, JPEG or PNG.")


class ConsentWithdrawInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# ---- outputs ----


class SlaSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=sla_rules.STATUSES, allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    working_time_left = serializers.IntegerField(
        allow_null=True, help_text="Working seconds until the deadline; negative once breached."
    )


class IntakeReceiptSerializer(serializers.Serializer[Any]):
    """What an anonymous patient gets back: nothing they did not send but the reference and deadline."""

    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    office = serializers.CharField(source="office.code")
    received_at = serializers.DateTimeField()
    reply_due_at = serializers.DateTimeField(allow_null=True)


class ApplicationSummarySerializer(serializers.Serializer[Any]):
    """A row of the queue. Needs `now` and `calendars` (office id -> WorkingCalendar) in the context."""

    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    office = serializers.CharField(source="office.code")
    assigned_to = serializers.IntegerField(source="assigned_to_id", allow_null=True)
    assigned_to_name = serializers.SerializerMethodField()
    full_name = serializers.CharField()
    country = serializers.CharField()
    received_at = serializers.DateTimeField()
    reply_due_at = serializers.DateTimeField(allow_null=True)
    sla = serializers.SerializerMethodField()

    def get_assigned_to_name(self, application: Application) -> str | None:
        user = application.assigned_to
        if user is None:
            return None
        return user.get_full_name() or user.get_username()

    @extend_schema_field(SlaSerializer)
    def get_sla(self, application: Application | QueueRow) -> dict[str, Any]:
        calendars = self.context["calendars"]
        calendar = calendars.get(application.office_id)
        if calendar is None:
            calendar = calendars[application.office_id] = application.office.calendar()
        return sla_rules.summary(
            office=application.office,
            calendar=calendar,
            due_at=application.reply_due_at,
            warn_at=application.reply_warn_at,
            now=self.context["now"],
        )


class QueueRowSerializer(ApplicationSummarySerializer):
    """A queue row (`selectors.QueueRow`) as ApplicationSummary declares it (the schema), written without
    DRF's field-by-field walk: the queue serves 50 a page, and the walk cost more than the page's
    queries. A test holds it to what the declared fields give for the same application
    (tests/workflow/test_api_queue.py)."""

    def to_representation(self, instance: QueueRow) -> dict[str, Any]:
        """ApplicationSummary's fields, built directly."""
        to_text = self._instant_text
        return {
            "reference": instance.reference,
            "state": instance.state,
            "office": instance.office.code,
            "assigned_to": instance.assigned_to_id,
            "assigned_to_name": instance.assigned_to_name,
            "full_name": instance.full_name,
            "country": instance.country,
            "received_at": to_text(instance.received_at),
            "reply_due_at": to_text(instance.reply_due_at) if instance.reply_due_at else None,
            "sla": self.get_sla(instance),
        }

    @cached_property
    def _zone(self) -> tzinfo:
        # The zone DRF's DateTimeField renders in (the current one), read once per page, not per value.
        return timezone.get_current_timezone()

    def _instant_text(self, value: datetime) -> str:
        """As `serializers.DateTimeField().to_representation` writes an aware instant (ISO 8601, `Z` for UTC)."""
        text = value.astimezone(self._zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class DocumentSerializer(serializers.ModelSerializer[Document]):
    name = serializers.CharField(source="original_name")
    download_url = serializers.SerializerMethodField(help_text="Staff-only download, as an attachment.")

    class Meta:
        model = Document
        fields = ["id", "name", "content_type", "size", "uploaded_at", "download_url"]

    def get_download_url(self, document: Document) -> str:
        return reverse(
            "application-document-download",
            kwargs={"reference": document.application.reference, "document_id": document.pk},
        )


class QuoteItemSerializer(serializers.ModelSerializer[QuoteItem]):
    class Meta:
        model = QuoteItem
        fields = ["description", "amount"]


class QuoteSerializer(serializers.ModelSerializer[Quote]):
    items = QuoteItemSerializer(many=True)

    class Meta:
        model = Quote
        fields = ["id", "items", "total", "currency", "valid_until", "notes", "created_at", "accepted_at"]


class SignatureSerializer(serializers.ModelSerializer[ConsentSignature]):
    has_scan = serializers.SerializerMethodField()
    has_pdf = serializers.SerializerMethodField(
        help_text="A portal e-signature's PDF of what was signed: `GET …/consent-signatures/{id}/pdf/`."
    )

    class Meta:
        model = ConsentSignature
        fields = [
            "id",
            "document_version",
            "document_sha256",
            "signer_name",
            "signed_at",
            "method",
            "has_scan",
            "has_pdf",
            "recorded_by",
            "withdrawn_at",
        ]

    def get_has_scan(self, signature: ConsentSignature) -> bool:
        return bool(signature.scan)

    def get_has_pdf(self, signature: ConsentSignature) -> bool:
        return bool(signature.pdf)


class TreatmentDaySerializer(serializers.ModelSerializer[TreatmentDay]):
    activities = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = TreatmentDay
        fields = ["day", "date", "activities", "done_at", "notes"]


class MonitoringCheckSerializer(serializers.ModelSerializer[MonitoringCheck]):
    status = serializers.ChoiceField(
        choices=["scheduled", "due", "recorded"],
        read_only=True,
        help_text="`scheduled` (not due yet), `due` (the coordinators were alerted), `recorded` (closed).",
    )
    recorded_by = serializers.IntegerField(source="recorded_by_id", allow_null=True, read_only=True)

    class Meta:
        model = MonitoringCheck
        fields = ["hours_after", "due_at", "status", "alerted_at", "outcome", "note", "recorded_at", "recorded_by"]


class QuestionnaireAnswerSerializer(serializers.ModelSerializer[QuestionnaireAnswer]):
    recorded_by = serializers.IntegerField(
        source="recorded_by_id", allow_null=True, read_only=True, help_text="The staff member; null for the patient."
    )

    class Meta:
        model = QuestionnaireAnswer
        fields = [
            "version",
            "overall_change",
            "fatigue",
            "joint_pain",
            "flares",
            "current_medications",
            "comments",
            "channel",
            "recorded_by",
            "submitted_at",
        ]


class FollowUpReviewSerializer(serializers.ModelSerializer[FollowUpReview]):
    status = serializers.ChoiceField(
        choices=["answered", "missed", "pending"],
        read_only=True,
        help_text="`answered`, `missed` (its window closed unanswered) or `pending`.",
    )
    answers = QuestionnaireAnswerSerializer(
        many=True, read_only=True, help_text="Every version, oldest first: a correction never replaces an answer."
    )

    class Meta:
        model = FollowUpReview
        fields = [
            "months",
            "due_date",
            "window_opens",
            "window_closes",
            "status",
            "invited_at",
            "reminded_at",
            "overdue_alerted_at",
            "missed_at",
            "answered_at",
            "answers",
        ]


class ApplicationDetailSerializer(ApplicationSummarySerializer):
    """Everything of SPEC §3. Needs `actor` in the context as well, for `available_transitions`."""

    email = serializers.EmailField()
    phone = serializers.CharField()
    date_of_birth = serializers.DateField()
    sex = serializers.ChoiceField(choices=Application.Sex.choices)
    preferred_language = serializers.CharField()
    condition = serializers.CharField()
    diagnosis_date = serializers.DateField(allow_null=True)
    current_medications = serializers.CharField()
    medical_history = serializers.CharField()
    treatment_request = serializers.CharField()
    privacy_notice_version = serializers.CharField()
    privacy_consent_at = serializers.DateTimeField()
    review_notes = serializers.CharField()
    protocol = ProtocolDaySerializer(many=True)
    reviewed_by = serializers.IntegerField(source="reviewed_by_id", allow_null=True)
    decline_reason = serializers.CharField()
    withdraw_reason = serializers.CharField()
    admission_date = serializers.DateField(allow_null=True)
    admitted_at = serializers.DateTimeField(allow_null=True)
    discharge_date = serializers.DateField(allow_null=True)
    discharge_summary = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    documents = DocumentSerializer(many=True)
    quote = serializers.SerializerMethodField()
    signatures = SignatureSerializer(many=True)
    treatment_days = TreatmentDaySerializer(many=True)
    follow_up_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When `start_follow_up` runs by itself (48 h after the discharge was recorded)."
    )
    monitoring_checks = MonitoringCheckSerializer(many=True)
    reviews = FollowUpReviewSerializer(many=True)
    available_transitions = serializers.SerializerMethodField()
    available_actions = serializers.SerializerMethodField()

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, application: Application) -> dict[str, Any] | None:
        """The live quote (not superseded), or null."""
        live = getattr(application, "live_quotes", None)
        if live is None:
            live = list(application.quotes.filter(superseded_at__isnull=True).prefetch_related("items"))
        return QuoteSerializer(live[0]).data if live else None

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(services.TRANSITION_NAMES))))
    def get_available_transitions(self, application: Application) -> list[str]:
        actor: Actor = self.context["actor"]
        return list(services.available_transitions(application, actor, now=self.context["now"]))

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(services.ACTION_NAMES))))
    def get_available_actions(self, application: Application) -> list[str]:
        """The other actions the caller may take now (assign, transfer, reply, accept_quote, …)."""
        actor: Actor = self.context["actor"]
        return services.available_actions(application, actor, now=self.context["now"])


class TransferResultSerializer(serializers.Serializer[Any]):
    """After a transfer the caller may no longer see the case, so only where it went is returned."""

    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    office = serializers.CharField(source="office.code")
    assigned_to = serializers.IntegerField(source="assigned_to_id", allow_null=True)


class HistoryActorSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=TransitionLog.ActorKind.choices)
    id = serializers.IntegerField(allow_null=True, help_text="The staff member's user id; null otherwise.")
    name = serializers.CharField(help_text="The staff member's username, or `patient` / `system`.")


class NotificationAttachmentSerializer(serializers.Serializer[Any]):
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="In bytes.")


class NotificationStatusSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    audience = serializers.CharField()
    recipient_email = serializers.EmailField()
    status = serializers.CharField(help_text="pending, sending, sent or failed.")
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    not_before = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    attachments = NotificationAttachmentSerializer(many=True, source="attachments.all", help_text="Files sent with it.")


class HistoryEntrySerializer(serializers.Serializer[Any]):
    action = serializers.CharField()
    from_state = serializers.CharField(help_text="Empty for the submission.")
    to_state = serializers.CharField()
    actor = serializers.SerializerMethodField()
    params = serializers.DictField()
    at = serializers.DateTimeField()
    notifications = serializers.SerializerMethodField(help_text="The emails this step caused, with delivery status.")

    @extend_schema_field(NotificationStatusSerializer(many=True))
    def get_notifications(self, entry: TransitionLog) -> list[dict[str, Any]]:
        caused = self.context.get("notifications", {}).get(entry.pk, [])
        return list(NotificationStatusSerializer(caused, many=True).data)

    @extend_schema_field(HistoryActorSerializer)
    def get_actor(self, entry: TransitionLog) -> dict[str, Any]:
        return {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_label}


class MessageSerializer(serializers.ModelSerializer[Message]):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "direction", "channel", "body", "author", "author_name", "created_at"]

    def get_author_name(self, message: Message) -> str | None:
        if message.author is None:
            return None
        return message.author.get_full_name() or message.author.get_username()
