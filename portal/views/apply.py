"""The public application form (SPEC §1, §3, §7): the same intake service and throttle as the API."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import ngettext

from portal.forms import ApplicationForm
from portal.web import SESSION_RECEIPT, patient_headers, use_language
from workflow import services
from workflow.actors import Actor
from workflow.api.views import IntakeEmailThrottle, IntakeThrottle
from workflow.selectors_portal import portal_application


def _form_page(
    request: HttpRequest, form: ApplicationForm, *, status: int = 200, **context: object
) -> HttpResponseBase:
    retyped = form.is_bound and bool(form.errors or context.get("extra_errors"))
    return render(request, "portal/apply.html", {"form": form, "files_again": retyped, **context}, status=status)


@patient_headers
def apply(request: HttpRequest) -> HttpResponseBase:
    use_language(request, getattr(request, "LANGUAGE_CODE", "en"))
    if request.method != "POST":
        form = ApplicationForm(initial={"preferred_language": translation.get_language(), "office": ""})
        return _form_page(request, form)

    # The API's intake throttle: the same rate, and the same counter per client address, so that a
    # form submission and an API intake count together.
    throttle = IntakeThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # reads META and user only
        minutes = max(1, math.ceil((throttle.wait() or 60) / 60))
        message = ngettext(
            "There have been too many applications from your connection. Please try again in %(count)s minute.",
            "There have been too many applications from your connection. Please try again in %(count)s minutes.",
            minutes,
        ) % {"count": minutes}
        kept = ApplicationForm(initial=ApplicationForm.initial_from(request.POST))
        return _form_page(request, kept, status=429, extra_errors=[message], files_again=True)

    form = ApplicationForm(request.POST, request.FILES)
    if form.is_valid():
        # The API's per-email throttle, counted together with it; a refusal is a message beside the field.
        email_throttle = IntakeEmailThrottle(form.cleaned_data["email"])
        if email_throttle.refused(request):
            minutes = max(1, math.ceil((email_throttle.wait() or 60) / 60))
            message = ngettext(
                "There have been too many applications with this email address. Please try again in %(count)s minute.",
                "There have been too many applications with this email address. Please try again in %(count)s minutes.",
                minutes,
            ) % {"count": minutes}
            form.add_error("email", message)
            return _form_page(request, form, status=429)
        try:
            application = services.application_submit(actor=Actor.patient(), **form.service_arguments())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            request.session[SESSION_RECEIPT] = application.pk
            return redirect("portal:apply_received")
    return _form_page(request, form)


@patient_headers
def apply_received(request: HttpRequest) -> HttpResponseBase:
    use_language(request, getattr(request, "LANGUAGE_CODE", "en"))
    receipt = request.session.get(SESSION_RECEIPT)
    application = portal_application(application_id=receipt) if isinstance(receipt, int) else None
    if application is None:
        return redirect("portal:apply")
    return render(request, "portal/apply_received.html", {"application": application, "office": application.office})
