from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from offices.roles import MANAGER, OFFICE_STAFF, PHYSICIAN
from workflow.uploads import upload_to, validate_upload

if TYPE_CHECKING:
    from workflow.actors import Actor


class State(models.TextChoices):
    RECEIVED = "received", "Received"
    MEDICALLY_REVIEWED = "medically_reviewed", "Medically reviewed"
    QUOTED = "quoted", "Quoted"
    ADMITTED = "admitted", "Admitted"
    DISCHARGED = "discharged", "Discharged"
    IN_FOLLOW_UP = "in_follow_up", "In follow-up"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    COMPLETED = "completed", "Completed"


TERMINAL_STATES = frozenset({State.DECLINED, State.WITHDRAWN, State.COMPLETED})


# SPEC §5: the tentative 7-day protocol a physician recommends unless they change it.
DEFAULT_PROTOCOL: list[dict[str, Any]] = [
    {"day": 1, "activities": ["admission", "consent (ICF) process", "basic investigative tests", "IV injection"]},
    {"day": 2, "activities": ["lumbar puncture (LP) injection"]},
    {"day": 3, "activities": ["rest"]},
    {"day": 4, "activities": ["lumbar puncture (LP) injection"]},
    {"day": 5, "activities": ["rest"]},
    {"day": 6, "activities": ["lumbar puncture (LP) injection"]},
    {"day": 7, "activities": ["rest", "discharge"]},
]


def default_protocol() -> list[dict[str, Any]]:
    return [dict(day, activities=list(day["activities"])) for day in DEFAULT_PROTOCOL]


def allowed(roles: frozenset[str], *, patient: bool = False, system: bool = False) -> Any:
    """A django-fsm permission: the actor's role in the application's office is one of `roles`."""

    def check(instance: Application, actor: Actor) -> bool:
        return actor.may(instance, roles, patient=patient, system=system)

    return check


def has_accepted_quote(instance: Application) -> bool:
    return instance.quotes.filter(superseded_at__isnull=True, accepted_at__isnull=False).exists()


def admission_date_reached(instance: Application) -> bool:
    if instance.admission_date is None:
        return False
    # The service's "now" (a job or the demo acting as of an instant), else the wall clock.
    now = instance.as_of or timezone.now()
    return instance.admission_date <= timezone.localdate(now, instance.office.tz)


def has_valid_consent(instance: Application) -> bool:
    from workflow.models.consent import ConsentDocument

    current = ConsentDocument.objects.aggregate(v=models.Max("version"))["v"]
    return instance.signatures.filter(document_version=current, withdrawn_at__isnull=True).exists()


# Shown to people when `admit` is refused; keyed by the condition's function name.
CONDITION_MESSAGES = {
    "has_accepted_quote": "the patient has not accepted the current quote",
    "admission_date_reached": "no admission date is scheduled, or it is still in the future",
    "has_valid_consent": "there is no unwithdrawn consent signature of the current consent version",
}


PHYSICIANS = allowed(frozenset({PHYSICIAN}))
MANAGERS_OR_SYSTEM = allowed(frozenset({MANAGER}), system=True)
ADMIT_CONDITIONS: list[Any] = [has_accepted_quote, admission_date_reached, has_valid_consent]


class ApplicationQuerySet(models.QuerySet["Application"]):
    def visible_to(self, actor: Actor) -> ApplicationQuerySet:
        return self.filter(office_id__in=actor.office_ids)


class Application(ConcurrentTransitionMixin, models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNDISCLOSED = "undisclosed", "Prefer not to say"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    office = models.ForeignKey("offices.Office", on_delete=models.PROTECT, related_name="applications")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned"
    )
    state = FSMField(default=State.RECEIVED, choices=State.choices, protected=True)

    # The patient (SPEC §3).
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=12, choices=Sex.choices)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    preferred_language = models.CharField(max_length=8, default="en")
    condition = models.CharField(max_length=200)
    diagnosis_date = models.DateField(null=True, blank=True)
    current_medications = models.TextField(blank=True)
    medical_history = models.TextField(blank=True)
    treatment_request = models.TextField(blank=True)
    privacy_notice_version = models.CharField(max_length=20)
    privacy_consent_at = models.DateTimeField()

    received_at = models.DateTimeField()
    # The deadline of the open reply obligation, or null (SPEC §4); kept here for the queue's order.
    reply_due_at = models.DateTimeField(null=True, blank=True)
    # When that obligation is due soon (75 % of its budget used); for the queue's `sla` filter.
    reply_warn_at = models.DateTimeField(null=True, blank=True)

    # Filled in by transitions.
    review_notes = models.TextField(blank=True)
    protocol = models.JSONField(default=default_protocol, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    withdraw_reason = models.TextField(blank=True)
    admission_date = models.DateField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    discharge_date = models.DateField(null=True, blank=True)
    discharge_summary = models.TextField(blank=True)
    # 48 h after discharge `start_follow_up` runs by itself (SPEC §3): swept by beat, not a countdown.
    follow_up_due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    # Not a column: the instant the services act "as of", set before they check a transition's
    # conditions, because django-fsm hands conditions the instance alone.
    as_of: datetime | None = None

    class Meta:
        ordering = [models.F("reply_due_at").asc(nulls_last=True), "id"]
        indexes = [
            # The staff queue (workflow.selectors.application_queue / queue_page): one office's
            # applications by reply deadline, and its `sla` filters. The warning instant trails the key,
            # after the unique id so the order is untouched, so that `due_soon` and `on_track` are
            # checked inside the index instead of on every row the deadline range passes.
            models.Index(fields=["office", "reply_due_at", "id", "reply_warn_at"], name="queue_by_office_due"),
            # The queue ordered by arrival (`ordering=received_at` / `-received_at`).
            models.Index(fields=["office", "received_at", "id"], name="queue_by_office_received"),
            # The queue's `state` filter in the queue's order (and the dashboard's counts per state,
            # workflow.selectors.application_funnel / open_work_by_assignee, by its (office, state) prefix).
            models.Index(
                fields=["office", "state", "reply_due_at", "id", "reply_warn_at"], name="queue_by_office_state"
            ),
            # The queue's `assigned` filter (me, a user id, and none: IS NULL is a btree condition too).
            models.Index(
                fields=["office", "assigned_to", "reply_due_at", "id", "reply_warn_at"], name="queue_by_office_assignee"
            ),
            # The queue's `q` search has three trigram indexes on UPPER(reference / full_name / email),
            # created on PostgreSQL only by workflow/migrations/0009_queue_indexes.py (not declared here).
            # The auto-start sweep (workflow.services.aftercare_sweeps.follow_up_start_sweep) reads only
            # discharged applications waiting for it; `start_follow_up` takes a row out.
            models.Index(
                fields=["follow_up_due_at"],
                condition=models.Q(state="discharged", follow_up_due_at__isnull=False),
                name="follow_up_to_start",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    # ---- transitions (SPEC §3). Bodies only change this instance; services save and log. ----

    @transition(field=state, source=State.RECEIVED, target=State.MEDICALLY_REVIEWED, permission=PHYSICIANS)
    def approve_review(self, *, review_notes: str, protocol: list[dict[str, Any]] | None, by: Any) -> None:
        self.review_notes = review_notes
        self.protocol = protocol or default_protocol()
        self.reviewed_by = by

    @transition(field=state, source=State.RECEIVED, target=State.DECLINED, permission=PHYSICIANS)
    def decline(self, *, reason: str, by: Any) -> None:
        self.decline_reason = reason
        self.reviewed_by = by

    @transition(field=state, source=State.MEDICALLY_REVIEWED, target=State.QUOTED, permission=allowed(OFFICE_STAFF))
    def send_quote(self) -> None:
        pass

    @transition(field=state, source=State.QUOTED, target=State.QUOTED, permission=allowed(OFFICE_STAFF))
    def revise_quote(self) -> None:
        pass

    @transition(
        field=state,
        source=State.QUOTED,
        target=State.ADMITTED,
        permission=allowed(OFFICE_STAFF),
        conditions=ADMIT_CONDITIONS,
    )
    def admit(self, *, at: Any) -> None:
        self.admitted_at = at

    @transition(
        field=state,
        source=State.ADMITTED,
        target=State.DISCHARGED,
        permission=allowed(OFFICE_STAFF | {PHYSICIAN}),
    )
    def discharge(self, *, discharge_date: date, summary: str) -> None:
        self.discharge_date = discharge_date
        self.discharge_summary = summary

    @transition(
        field=state,
        source=State.DISCHARGED,
        target=State.IN_FOLLOW_UP,
        permission=allowed(OFFICE_STAFF, system=True),
    )
    def start_follow_up(self) -> None:
        pass

    @transition(
        field=state,
        source=State.IN_FOLLOW_UP,
        target=State.COMPLETED,
        permission=MANAGERS_OR_SYSTEM,
    )
    def complete(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(
        field=state,
        source=[State.RECEIVED, State.MEDICALLY_REVIEWED, State.QUOTED],
        target=State.WITHDRAWN,
        permission=allowed(OFFICE_STAFF, patient=True),
    )
    def withdraw(self, *, reason: str) -> None:
        self.withdraw_reason = reason


class ReferenceSequence(models.Model):
    """The last reference number given out per office and year (DEL-2026-00042)."""

    office = models.ForeignKey("offices.Office", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["office", "year"], name="one_sequence_per_office_year")]

    def __str__(self) -> str:
        return f"{self.office_id}/{self.year}: {self.last_number}"


class Document(models.Model):
    """A medical record the patient uploaded with the application."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(upload_to=upload_to, validators=[validate_upload])
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class TreatmentDay(models.Model):
    """One dated day of the admitted patient's schedule, fixed from the protocol at `admit`."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="treatment_days")
    day = models.PositiveSmallIntegerField()
    date = models.DateField()
    activities = models.JSONField(default=list)
    done_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["application", "day"]
        constraints = [models.UniqueConstraint(fields=["application", "day"], name="one_treatment_day_number")]

    def __str__(self) -> str:
        return f"day {self.day} ({self.date})"
