"""The application page (SPEC §8): details, documents, protocol, timeline, and what the user may do now.

One POST endpoint, `act`, runs any step the page offers through its `workflow.forms` form and so its
service. What is offered is exactly `available_transitions` and `available_actions`; whether a step
is allowed is the service's call, and its refusals are shown as people expect: a form error keeps
what was typed (400), a role that may not is a refusal (403), someone who acted first is a conflict
that says who did what and when (409), another office's application is not found (404).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from notifications.models import Notification
from staff import steps
from staff.templatetags.staff_tags import office_time
from staff.views.common import page, served, staff_page
from workflow import downloads, selectors, services
from workflow import sla as sla_rules
from workflow.actors import Actor
from workflow.errors import ConditionsNotMet, Conflict, NotAllowed
from workflow.forms import OPERATION_FORMS, TRANSITION_FORMS, ServiceForm, transition_form
from workflow.models import Application, Message, State, TransitionLog

# Steps the page shows beside the timeline rather than among the next steps.
CONVERSATION_ORDER = ("reply", "note", "record_inbound")


def not_found(request: HttpRequest) -> HttpResponse:
    """Unknown, or another office's: the same page, so that it tells nobody the reference exists."""
    context = {"section": "queue", "actor": getattr(request, "actor", None)}
    return render(request, "staff/not_found.html", context, status=404)


def _visible(request: HttpRequest, reference: str) -> Application | None:
    try:
        found = selectors.application_get(actor=request.actor, reference=reference)  # type: ignore[attr-defined]
    except Application.DoesNotExist:
        found = None
    return served(request, found)


@require_GET
@staff_page
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    application = _visible(request, reference)
    if application is None:
        return not_found(request)
    return _render(request, application)


def _form(name: str, application: Application, request: HttpRequest | None = None) -> ServiceForm:
    """The step's form, bound to what was posted when a request is given (prefix = the step's name)."""
    if name in TRANSITION_FORMS:
        return transition_form(name, application, *((request.POST, request.FILES) if request else ()))
    form_class = OPERATION_FORMS[name]
    if request is None:
        return form_class(application=application, prefix=name)
    return form_class(request.POST, request.FILES, application=application, prefix=name)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target if target.startswith("/") else None
    return None


def _latest_change(application: Application, *, since: int | None, exclude_conversation: bool) -> TransitionLog | None:
    rows = TransitionLog.objects.filter(application=application).select_related("actor").order_by("-at", "-id")
    if since is not None:
        rows = rows.filter(pk__gt=since)
    if exclude_conversation:
        rows = rows.exclude(action__startswith="message_")
    return rows.first()


def _stale(application: Application, name: str, seen: int | None) -> TransitionLog | None:
    """The change someone made since the page was loaded that makes `name` no longer what they meant:
    a transition, or the same step run by someone else. None when the page is still current."""
    if seen is None or name in steps.CONVERSATION:
        return None
    return (
        TransitionLog.objects.filter(application=application, pk__gt=seen)
        .filter(action__in=[*services.TRANSITION_NAMES, name])
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )


def _seen(request: HttpRequest) -> int | None:
    value = request.POST.get("seen", "")
    return int(value) if value.isascii() and value.isdigit() else None


def describe(entry: TransitionLog, office: Any) -> str:
    """dr_rao approved the medical review at Thu 03 Dec 2026, 10:02 IST."""
    return _("%(who)s %(did)s at %(when)s") % {
        "who": entry.actor_label,
        "did": steps.did(entry.action),
        "when": office_time(entry.at, office),
    }


@require_POST
@staff_page
def act(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    application = _visible(request, reference)
    if application is None or (name not in TRANSITION_FORMS and name not in OPERATION_FORMS):
        return not_found(request)
    form = _form(name, application, request)
    seen = _seen(request)
    stale = _stale(application, name, seen)
    if stale is not None:
        return _conflict(request, application, name, stale=stale, seen=seen)
    # Dates and times people type are the office's local ones.
    with timezone.override(application.office.tz):
        valid = form.is_valid()
    if not valid:
        return _render(request, application, bound=(name, form), status=400)
    try:
        form.call(actor)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _render(request, application, bound=(name, form), status=400)
    except NotAllowed:
        messages.error(
            request,
            _("You cannot do this: your role in the %(office)s office does not allow “%(step)s”. Nothing was changed.")
            % {"office": application.office.name, "step": steps.title(name)},
        )
        return _render(request, _reloaded(request, application), status=403)
    except ConditionsNotMet as exc:
        messages.error(
            request, _("Not yet possible: %(unmet)s. Nothing was changed.") % {"unmet": "; ".join(exc.unmet)}
        )
        return _render(request, _reloaded(request, application), status=409)
    except (Conflict, TransitionNotAllowed, ConcurrentTransition) as exc:
        return _conflict(request, application, name, reason=str(exc), seen=seen)
    except ObjectDoesNotExist:
        # Gone from the user's offices between the page and the click.
        return not_found(request)
    step = steps.STEPS.get(name)
    messages.success(request, str(step.done) if step else form.done)
    if not Application.objects.visible_to(actor).filter(pk=application.pk).exists():
        # Transferred to an office the user does not belong to: it has left their view.
        return HttpResponseRedirect(reverse("staff:queue"))
    return HttpResponseRedirect(_safe_next(request) or reverse("staff:application", args=[application.reference]))


def _reloaded(request: HttpRequest, application: Application) -> Application:
    return _visible(request, application.reference) or application


def _conflict(
    request: HttpRequest,
    application: Application,
    name: str,
    *,
    stale: TransitionLog | None = None,
    reason: str = "",
    seen: int | None = None,
) -> HttpResponse:
    """Someone acted first: say who did what and when, and show the application as it is now."""
    current = _visible(request, application.reference)
    if current is None:
        # Transferred out of the user's offices meanwhile: it has left their view.
        messages.error(request, _("Someone acted first: %(reason)s") % {"reason": reason})
        return HttpResponseRedirect(reverse("staff:queue"))
    latest = stale or _latest_change(current, since=seen, exclude_conversation=True)
    if latest is not None and (stale is not None or seen is not None):
        text = _("%(change)s while you were on this page.") % {"change": describe(latest, current.office)}
    elif latest is not None:
        text = _("%(reason)s The latest change: %(change)s.") % {
            "reason": reason,
            "change": describe(latest, current.office),
        }
    else:
        text = reason
    messages.error(
        request,
        _("Someone acted first: %(text)s The page now shows the application as it is; “%(step)s” was not done.")
        % {"text": text, "step": steps.title(name)},
    )
    # What was typed is kept, when the step is still on offer.
    kept = None
    if name in _offered(current, request.actor):  # type: ignore[attr-defined]
        again = _form(name, current, request)
        with timezone.override(current.office.tz):
            again.is_valid()
        kept = (name, again)
    return _render(request, current, bound=kept, status=409, conflict=True)


def _add_errors(form: ServiceForm, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where the form has it, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, [f"{field.replace('_', ' ')}: {error}" for error in errors])


def _offered(application: Application, actor: Actor, now: Any = None) -> list[str]:
    now = now or timezone.now()
    return [
        *services.available_transitions(application, actor, now=now),
        *services.available_actions(application, actor, now=now),
    ]


def _step(name: str, application: Application, bound: tuple[str, ServiceForm] | None) -> dict[str, Any]:
    step = steps.STEPS.get(name)
    is_bound = bound is not None and bound[0] == name
    entry: dict[str, Any] = {
        "name": name,
        "title": steps.title(name),
        "button": str(step.button) if step else steps.title(name),
        "warning": bool(step and step.warning),
        "open": is_bound,
        "transition": name in TRANSITION_FORMS,
    }
    if name in TRANSITION_FORMS or name in OPERATION_FORMS:
        entry["form"] = bound[1] if is_bound and bound is not None else _form(name, application)
    elif name == "update_details":
        # The patient's details are corrected in the admin's change form, which validates them with the service.
        entry["link"] = reverse("admin:workflow_application_change", args=[application.pk])
    return entry


def _render(
    request: HttpRequest,
    application: Application,
    *,
    bound: tuple[str, ServiceForm] | None = None,
    status: int = 200,
    conflict: bool = False,
) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    transitions = services.available_transitions(application, actor, now=now)
    actions = services.available_actions(application, actor, now=now)
    offered = [*transitions, *actions]
    next_steps = [_step(name, application, bound) for name in offered if name not in CONVERSATION_ORDER]
    conversation = [_step(name, application, bound) for name in CONVERSATION_ORDER if name in offered]
    office = application.office
    history = selectors.application_history(application=application)
    context: dict[str, Any] = {
        "section": "queue",
        "application": application,
        "office": office,
        "now": now,
        "sla": sla_rules.summary(
            office=office,
            calendar=office.calendar(),
            due_at=application.reply_due_at,
            warn_at=application.reply_warn_at,
            now=now,
        ),
        "next_steps": next_steps,
        "conversation": conversation,
        "offered": offered,
        "bound_form": bound[1] if bound else None,
        "page_has_errors": bool(bound and bound[1].errors),
        "seen": max((entry.pk for entry in history), default=0),
        "next": _safe_next(request) if request.method == "POST" else None,
        "conflict": conflict,
        "quote": application.live_quotes[0] if application.live_quotes else None,  # type: ignore[attr-defined]
        "quote_status": selectors.quote_status(application, now=now),
        "documents": list(application.documents.all()),
        "signatures": list(application.signatures.all()),
        "treatment_days": list(application.treatment_days.all()),
        "monitoring_checks": list(application.monitoring_checks.all()),
        "reviews": [(review, _latest_answer(review)) for review in application.reviews.all()],
        "timeline": _timeline(application, history),
        "role": actor.role_in(application.office_id),
    }
    return page(request, "staff/application.html", context, status=status)


def _latest_answer(review: Any) -> Any:
    answers = sorted(review.answers.all(), key=lambda answer: answer.version)
    return answers[-1] if answers else None


def _timeline(application: Application, history: list[TransitionLog]) -> list[dict[str, Any]]:
    """Steps, messages and emails in the order they happened; a message carries the emails it caused."""
    emails: dict[int, list[Notification]] = {}
    loose: list[Notification] = []
    for notification in selectors.application_notifications(application=application):
        if notification.history_id is None:
            loose.append(notification)
        else:
            emails.setdefault(notification.history_id, []).append(notification)
    message_rows = {entry.params.get("message"): entry for entry in history if entry.action.startswith("message_")}
    entries: list[dict[str, Any]] = []
    for message in selectors.application_messages(application=application):
        row = message_rows.get(message.pk)
        entries.append(
            {
                "kind": "message",
                "at": message.created_at,
                "message": message,
                "internal": message.direction == Message.Direction.INTERNAL,
                "author": _person(message.author) if message.author else None,
                "recorded_by": row.actor_label if row and message.direction == Message.Direction.INBOUND else None,
                "emails": emails.get(row.pk, []) if row else [],
            }
        )
    for entry in history:
        if entry.action.startswith("message_"):
            continue
        entries.append(
            {
                "kind": "step",
                "at": entry.at,
                "entry": entry,
                "who": entry.actor_label,
                "did": steps.did(entry.action),
                "moved": _moved(entry),
                "reason": entry.params.get("reason") or entry.params.get("review_notes") or entry.params.get("summary"),
                "emails": emails.get(entry.pk, []),
            }
        )
    entries.extend({"kind": "email", "at": n.created_at, "emails": [n]} for n in loose)
    entries.sort(key=lambda item: item["at"])
    return entries


def _moved(entry: TransitionLog) -> str:
    """Medically reviewed → Quoted; empty when the step left the state as it was."""
    if not entry.from_state or entry.from_state == entry.to_state:
        return ""
    labels = dict(State.choices)
    return f"{labels.get(entry.from_state, entry.from_state)} → {labels.get(entry.to_state, entry.to_state)}"


def _person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


# ---- downloads: staff of the application's office only, as attachments ----


@require_GET
@staff_page
def document(request: HttpRequest, reference: str, document_id: int) -> HttpResponse:
    application = _lookup(request, reference)
    found = application.documents.exclude(file="").filter(pk=document_id).first() if application else None
    return _file(downloads.document_download(found)) if found else not_found(request)


@require_GET
@staff_page
def consent_scan(request: HttpRequest, reference: str, signature_id: int) -> HttpResponse:
    application = _lookup(request, reference)
    found = application.signatures.exclude(scan="").filter(pk=signature_id).first() if application else None
    return _file(downloads.consent_scan_download(found)) if found else not_found(request)


@require_GET
@staff_page
def consent_pdf(request: HttpRequest, reference: str, signature_id: int) -> HttpResponse:
    application = _lookup(request, reference)
    found = application.signatures.exclude(pdf="").filter(pk=signature_id).first() if application else None
    return _file(downloads.consent_pdf_download(found)) if found else not_found(request)


def _file(response: FileResponse) -> HttpResponse:
    # A streamed file where the staff pages' decorator expects a page: it only adds headers to it.
    return cast(HttpResponse, response)


def _lookup(request: HttpRequest, reference: str) -> Application | None:
    try:
        found = selectors.application_lookup(actor=request.actor, reference=reference)  # type: ignore[attr-defined]
    except Application.DoesNotExist:
        found = None
    return served(request, found)
