"""The workflow in the Django admin: a scoped window on applications, with changes through the services.

Nothing here changes an application's state, office or assignee itself: the "Run a transition" page
and the changelist actions call `workflow.services`, which check roles, lock and write the history.
"""

from __future__ import annotations

from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_countries import countries

from notifications.models import Notification
from security.access_log_admin import AccessLoggedAdmin
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.forms import OPERATION_FORMS, TRANSITION_FORMS, ServiceForm, transition_form
from workflow.models import (
    Application,
    ConsentDocument,
    ConsentSignature,
    Document,
    FollowUpReview,
    Message,
    MonitoringCheck,
    Quote,
    QuoteItem,
    Reminder,
    ReplyObligation,
    TransitionLog,
)
from workflow.services.patient import PATIENT_FIELDS, patient_details_errors
from workflow.services.rules import live_quote

M = TypeVar("M", bound=models.Model)

# One Actor per request: its memberships are read once however often the admin asks.
_actors: WeakKeyDictionary[HttpRequest, Actor] = WeakKeyDictionary()


def actor_for(request: HttpRequest) -> Actor:
    actor = _actors.get(request)
    if actor is None:
        actor = _actors[request] = Actor.staff(request.user)
    return actor


def may_view_workflow(request: HttpRequest) -> bool:
    """Staff see the workflow of the offices they belong to; a superuser with no membership sees none (SPEC §1)."""
    user = request.user
    return bool(user.is_active and user.is_staff and actor_for(request).office_ids)


class OfficeScopedAdmin(AccessLoggedAdmin, admin.ModelAdmin[M]):
    """Read access from office membership (SPEC §1), rows limited to the caller's offices.

    Opening a row's page is written to the access log (AccessLoggedAdmin, docs/security.md).
    """

    office_field = "office"  # the lookup from the model to its office

    def get_queryset(self, request: HttpRequest) -> QuerySet[M]:
        # Superusers too: office membership, not Django's superuser flag, opens patient data.
        queryset = super().get_queryset(request)
        return queryset.filter(**{f"{self.office_field}__in": actor_for(request).office_ids})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_view_workflow(request)

    def has_view_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        # An object of another office never reaches here: get_queryset leaves it out (a 404).
        return may_view_workflow(request)


class ReadOnlyAdmin(OfficeScopedAdmin[M]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline[M, Any]):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [str(name) for name in self.fields or ()]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_view_workflow(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---- inlines of an application ----


class HistoryInline(ReadOnlyInline[TransitionLog]):
    model = TransitionLog
    verbose_name_plural = "history"
    fields = ["at", "action", "from_state", "to_state", "who", "params"]
    readonly_fields = ["who"]

    @admin.display(description="who")
    def who(self, obj: TransitionLog) -> str:
        return obj.actor_label

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransitionLog]:
        return super().get_queryset(request).select_related("actor")


class MessageInline(ReadOnlyInline[Message]):
    model = Message
    verbose_name_plural = "conversation"
    fields = ["created_at", "direction", "channel", "author", "body"]


class QuoteInline(ReadOnlyInline[Quote]):
    model = Quote
    fields = ["created_at", "total", "currency", "valid_until", "item_lines", "notes", "accepted_at", "superseded_at"]
    readonly_fields = ["item_lines"]

    @admin.display(description="items")
    def item_lines(self, obj: Quote) -> str:
        return format_html_join(
            "",
            "<div>{} — {}</div>",
            ((item.description, item.amount) for item in obj.items.all()),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Quote]:
        return super().get_queryset(request).prefetch_related("items")


class SignatureInline(ReadOnlyInline[ConsentSignature]):
    model = ConsentSignature
    fields = ["signed_at", "signer_name", "method", "document_version", "document_sha256", "withdrawn_at", "files"]

    @admin.display(description="file")
    def files(self, signature: ConsentSignature) -> str:
        """The signed PDF or the paper scan, through the access-checked downloads (SPEC §11)."""
        kwargs = {"reference": signature.application.reference, "signature_id": signature.pk}
        links = []
        if signature.pdf:
            links.append(
                format_html('<a href="{}">Signed PDF</a>', reverse("application-consent-pdf-download", kwargs=kwargs))
            )
        if signature.scan:
            links.append(
                format_html('<a href="{}">Scan</a>', reverse("application-consent-scan-download", kwargs=kwargs))
            )
        return format_html_join(" · ", "{}", ((link,) for link in links)) if links else "—"


class DocumentInline(ReadOnlyInline[Document]):
    model = Document
    # Never the storage URL: records are served only by the access-checked download (SPEC §11).
    fields = ["uploaded_at", "original_name", "content_type", "size", "download"]

    @admin.display(description="file")
    def download(self, document: Document) -> str:
        url = reverse(
            "application-document-download",
            kwargs={"reference": document.application.reference, "document_id": document.pk},
        )
        return format_html('<a href="{}">Download</a>', url)


class NotificationInline(ReadOnlyInline[Notification]):
    model = Notification
    verbose_name_plural = "notifications (emails and their delivery)"
    fields = ["created_at", "kind", "recipient_email", "status", "attempts", "last_error", "sent_at"]


class ObligationInline(ReadOnlyInline[ReplyObligation]):
    model = ReplyObligation
    verbose_name_plural = "reply obligations"
    fields = ["opened_at", "due_at", "warned_at", "breached_at", "satisfied_at", "satisfied_by_action", "closed_at"]


class ReminderInline(ReadOnlyInline[Reminder]):
    model = Reminder
    verbose_name_plural = "patient reminders (quote expiring, consent unsigned)"
    fields = ["kind", "due_at", "quote", "admission_date", "sent_at", "cancelled_at", "cancel_reason"]


class MonitoringCheckInline(ReadOnlyInline[MonitoringCheck]):
    model = MonitoringCheck
    verbose_name_plural = "monitoring checks after discharge"
    fields = ["hours_after", "due_at", "alerted_at", "outcome", "note", "recorded_at", "recorded_by"]


class FollowUpReviewInline(ReadOnlyInline[FollowUpReview]):
    model = FollowUpReview
    verbose_name_plural = "follow-up reviews"
    fields = ["months", "due_date", "window_opens", "window_closes", "state", "invited_at", "reminded_at", "answer"]

    @admin.display(description="status")
    def state(self, review: FollowUpReview) -> str:
        return review.status

    @admin.display(description="latest answer")
    def answer(self, review: FollowUpReview) -> str:
        latest = review.answers.order_by("-version").first()
        if latest is None:
            return "—"
        return (
            f"v{latest.version} ({latest.channel}, {latest.submitted_at:%Y-%m-%d}): "
            f"{latest.get_overall_change_display()}, fatigue {latest.fatigue}, joint pain {latest.joint_pain}, "
            f"flares {latest.flares}"
        )


def _label(name: str) -> str:
    return name.replace("_", " ")


def _add_errors(form: ServiceForm, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where the form has it, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, [f"{_label(field)}: {error}" for error in errors])


# ---- applications ----

WORKFLOW_FIELDS = (
    "reference",
    "state",
    "office",
    "assigned_to",
    "received_at",
    "reply_due_local",
    "review_notes",
    "protocol",
    "reviewed_by",
    "decline_reason",
    "withdraw_reason",
    "admission_date",
    "admitted_at",
    "discharge_date",
    "discharge_summary",
    "closed_at",
    "erased_at",
    "privacy_notice_version",
    "privacy_consent_at",
)


@admin.register(Application)
class ApplicationAdmin(OfficeScopedAdmin[Application]):
    list_display = ["reference", "full_name", "office", "state", "assigned_to", "received_at", "reply_due_at"]
    list_filter = [("office", admin.RelatedOnlyFieldListFilter), "state"]
    search_fields = ["reference", "full_name", "email"]
    list_select_related = ["office", "assigned_to"]
    # Workflow fields change only through the services: state, office and assignee included.
    readonly_fields = WORKFLOW_FIELDS
    fieldsets = [
        ("Workflow", {"fields": WORKFLOW_FIELDS}),
        ("Patient", {"fields": PATIENT_FIELDS}),
    ]
    inlines = [
        HistoryInline,
        MessageInline,
        ObligationInline,
        NotificationInline,
        ReminderInline,
        MonitoringCheckInline,
        FollowUpReviewInline,
        QuoteInline,
        SignatureInline,
        DocumentInline,
    ]
    actions = ["assign_to_me", "unassign"]
    change_form_template = "admin/workflow/application/change_form.html"

    @admin.display(description="reply due (office time)")
    def reply_due_local(self, obj: Application) -> str:
        if obj.reply_due_at is None:
            return "no reply owed"
        return f"{obj.reply_due_at.astimezone(obj.office.tz):%a %Y-%m-%d %H:%M} {obj.office.timezone}"

    def formfield_for_dbfield(self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "country":
            return forms.ChoiceField(choices=list(countries), label="Country")
        if db_field.name == "preferred_language":
            return forms.ChoiceField(choices=settings.LANGUAGES, label="Preferred language")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New applications come in through intake (application_submit): reference, routing, obligation.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Application | None = None) -> bool:
        # The history is append-only and protects its application; erasure is a data-protection service.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Application | None = None) -> bool:
        # Changing here is correcting the patient's details: the `update_details` action.
        actor = actor_for(request)
        if obj is None:
            return any(role in services.ACTIONS["update_details"].roles for role in actor.roles.values())
        return "update_details" in services.available_actions(obj, actor)

    def get_form(
        self, request: HttpRequest, obj: Application | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)

        class DetailsForm(form):  # type: ignore[valid-type, misc]
            def _post_clean(self) -> None:
                # The service's rules of patient details, shown beside each field; the service
                # checks them again when it saves (save_model).
                super()._post_clean()
                if obj is None:
                    return
                values = {name: getattr(self.instance, name) for name in PATIENT_FIELDS}
                today = timezone.localdate(timezone.now(), obj.office.tz)
                for field, errors in patient_details_errors(values, today=today).items():
                    if field in self.fields and field not in self.errors:
                        self.add_error(field, errors)

        return DetailsForm

    def save_model(self, request: HttpRequest, obj: Application, form: forms.ModelForm[Any], change: bool) -> None:
        """Only the changed patient details, through the service: role, lock, checks, history row."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in PATIENT_FIELDS}
        if changes:
            services.application_update_details(application=obj.pk, actor=actor_for(request), changes=changes)

    # -- the "Run a transition" page --

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.workflow_view)
        return [
            path("<path:object_id>/workflow/", view, name="workflow_application_workflow"),
            *super().get_urls(),
        ]

    def workflow_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.logged(request, object_id, "workflow", lambda: self._workflow_view(request, object_id))

    def _workflow_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        app = self.get_object(request, unquote(object_id))
        if app is None or not self.has_view_permission(request, app):
            raise Http404("No application with this id is visible to you.")
        actor = actor_for(request)
        bound: dict[str, ServiceForm] = {}
        if request.method == "POST":
            outcome = self._handle_post(request, app, actor, bound)
            if outcome is not None:
                return outcome
        return self._render_workflow_page(request, app, actor, bound)

    def _handle_post(
        self, request: HttpRequest, app: Application, actor: Actor, bound: dict[str, ServiceForm]
    ) -> HttpResponse | None:
        """Run what the page posted: a redirect when done or refused, None to show the form's errors."""
        here = reverse("admin:workflow_application_workflow", args=[app.pk])
        action = request.POST.get("action", "")
        form: ServiceForm
        if action == "transition":
            name = request.POST.get("transition", "")
            if name not in TRANSITION_FORMS:
                self.message_user(request, f"There is no transition {name!r}.", messages.ERROR)
                return HttpResponseRedirect(here)
            form, key = transition_form(name, app, request.POST), str(name)
            done = f"{_label(name).capitalize()}: done."
        elif action in OPERATION_FORMS:
            form = OPERATION_FORMS[action](request.POST, request.FILES, application=app, prefix=action)
            key, done = action, str(OPERATION_FORMS[action].done)
        else:
            self.message_user(request, "Nothing to do.", messages.WARNING)
            return HttpResponseRedirect(here)
        bound[key] = form
        # Dates and times people type are the office's local ones.
        with timezone.override(app.office.tz):
            if not form.is_valid():
                return None
        try:
            form.call(actor)
        except ValidationError as exc:
            _add_errors(form, exc)
            return None
        except ObjectDoesNotExist:
            # The services look the row up among the actor's offices: no membership, no application.
            message = f"You have no role in the {app.office} office, so you cannot act on this application."
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(here)
        except (NotAllowed, Conflict) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(here)
        self.message_user(request, done, messages.SUCCESS)
        if not self.get_queryset(request).filter(pk=app.pk).exists():
            # Transferred to an office the user does not belong to: it has left their view.
            return HttpResponseRedirect(reverse("admin:workflow_application_changelist"))
        return HttpResponseRedirect(here)

    def _render_workflow_page(
        self, request: HttpRequest, app: Application, actor: Actor, bound: dict[str, ServiceForm]
    ) -> HttpResponse:
        # Exactly what the services say this user may do now: nothing decided here.
        now = timezone.now()
        available = services.available_transitions(app, actor, now=now)
        actions = [name for name in services.available_actions(app, actor, now=now) if name in OPERATION_FORMS]
        from_here = {t.name for t in app.get_all_state_transitions() if t.source in (app.state, "*")}  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Run a transition: {app.reference}",
            "subtitle": None,
            "opts": self.opts,
            "original": app,
            "here": reverse("admin:workflow_application_workflow", args=[app.pk]),
            "state_label": app.get_state_display(),
            "reply_due": self.reply_due_local(app),
            "role": actor.role_in(app.office_id),
            "quote": live_quote(app),
            "signatures": app.signatures.filter(withdrawn_at__isnull=True).count(),
            "transition_forms": [
                (name, _label(name), bound.get(name) or transition_form(name, app)) for name in available
            ],
            "not_available": [_label(name) for name in sorted(from_here - set(available))],
            "action_forms": [
                (
                    name,
                    services.ACTIONS[name].label,
                    bound.get(name) or OPERATION_FORMS[name](application=app, prefix=name),
                )
                for name in actions
            ],
        }
        return TemplateResponse(request, "admin/workflow/application/workflow.html", context)

    # -- changelist actions, through the assignment service --

    @admin.action(description="Assign the selected applications to me")
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        self._assign(request, queryset, request.user.pk)

    @admin.action(description="Unassign the selected applications")
    def unassign(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        self._assign(request, queryset, None)

    def _assign(self, request: HttpRequest, queryset: QuerySet[Application], user_id: int | None) -> None:
        actor = actor_for(request)
        done, refused = 0, []
        for app in queryset.select_related("office"):
            try:
                services.application_assign(application=app, actor=actor, user_id=user_id)
                done += 1
            except ObjectDoesNotExist:
                refused.append(f"{app.reference}: you have no role in the {app.office} office")
            except (NotAllowed, Conflict) as exc:
                refused.append(f"{app.reference}: {exc}")
            except ValidationError as exc:
                refused.append(f"{app.reference}: {' '.join(exc.messages)}")
        if done:
            self.message_user(request, f"{done} application(s) updated.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


# ---- consent, quotes and history on their own ----


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin[ConsentDocument]):
    """Configuration: publish a new version rather than editing one that has been signed."""

    list_display = ["version", "language", "title", "short_sha256", "published_at"]
    list_filter = ["version", "language"]
    readonly_fields = ["sha256", "published_at"]
    fields = ["version", "language", "title", "text", "sha256", "published_at"]

    @admin.display(description="SHA-256")
    def short_sha256(self, obj: ConsentDocument) -> str:
        return f"{obj.sha256[:12]}…"

    def get_readonly_fields(self, request: HttpRequest, obj: ConsentDocument | None = None) -> list[str]:
        if obj is not None and obj.signatures.exists():
            # Signatures point at this row and copy its hash: its text is what they signed.
            return ["version", "language", "title", "text", "sha256", "published_at"]
        return ["sha256", "published_at"]

    def has_delete_permission(self, request: HttpRequest, obj: ConsentDocument | None = None) -> bool:
        if obj is not None and obj.signatures.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(ConsentSignature)
class ConsentSignatureAdmin(ReadOnlyAdmin[ConsentSignature]):
    office_field = "application__office"
    list_display = ["application", "signer_name", "document_version", "method", "signed_at", "withdrawn_at"]
    list_filter = ["method", "document_version"]
    search_fields = ["application__reference", "signer_name"]
    list_select_related = ["application"]
    fields = [
        "application",
        "document",
        "document_version",
        "document_sha256",
        "signer_name",
        "signed_at",
        "method",
        "ip_address",
        "user_agent",
        "has_scan",
        "recorded_by",
        "withdrawn_at",
    ]
    readonly_fields = ["has_scan"]

    @admin.display(description="scan on file", boolean=True)
    def has_scan(self, obj: ConsentSignature) -> bool:
        return bool(obj.scan)


class QuoteItemInline(ReadOnlyInline[QuoteItem]):
    model = QuoteItem
    fields = ["position", "description", "amount"]


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin[Quote]):
    office_field = "application__office"
    list_display = ["application", "total", "currency", "valid_until", "created_at", "accepted_at", "superseded_at"]
    list_filter = ["currency"]
    search_fields = ["application__reference"]
    list_select_related = ["application"]
    fields = [
        "application",
        "total",
        "currency",
        "valid_until",
        "notes",
        "created_at",
        "created_by",
        "accepted_at",
        "superseded_at",
    ]
    inlines = [QuoteItemInline]


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin[TransitionLog]):
    """The append-only history: nobody adds, edits or deletes a row here."""

    office_field = "application__office"
    list_display = ["at", "application", "action", "from_state", "to_state", "who"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["application__reference"]
    list_select_related = ["application", "actor"]
    fields = ["application", "at", "action", "from_state", "to_state", "actor_kind", "actor", "params"]

    @admin.display(description="who")
    def who(self, obj: TransitionLog) -> str:
        return obj.actor_label

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}
