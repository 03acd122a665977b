"""Private links (SPEC §7, §11): the exchange of a link for a session, fresh links, language, leaving."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_POST

from portal.forms import LinkRequestForm
from portal.web import (
    SESSION_LANGUAGE,
    bind_session,
    patient_headers,
    session_application,
    throttle_key_address,
    unbind_session,
    use_language,
)
from workflow import services
from workflow.services.portal import LANDINGS

TOO_MANY_REQUESTS = gettext_noop("Too many requests for a fresh link. Please try again in an hour.")


@patient_headers
def open_link(request: HttpRequest, token: str) -> HttpResponseBase:
    """Exchange the link's token for a session bound to its application, then drop the token from the URL.

    An unknown, expired, revoked or tampered token is a 404: there is nothing at that address, and
    crawlers and caches learn so; the page still offers to email a fresh link.
    """
    now = timezone.now()
    application = services.portal_link_resolve(token=token, now=now)
    if application is None:
        use_language(request, getattr(request, "LANGUAGE_CODE", "en"))
        context = {"form": LinkRequestForm(), "language_next": reverse("portal:request_link")}
        return render(request, "portal/link_invalid.html", context, status=404)
    bind_session(request, application, now=now)
    landing = request.GET.get("next", "status")
    return redirect(f"portal:{landing if landing in LANDINGS else 'status'}")


@patient_headers
def request_link(request: HttpRequest) -> HttpResponseBase:
    """Email a fresh link to the address on file. The answer is the same whether the address is known or not."""
    use_language(request, getattr(request, "LANGUAGE_CODE", "en"))
    form = LinkRequestForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        sent = services.portal_link_request(email=form.cleaned_data["email"], client=throttle_key_address(request))
        if not sent:
            context = {"form": LinkRequestForm(), "extra_errors": [gettext(TOO_MANY_REQUESTS)]}
            return render(request, "portal/link_request.html", context, status=429)
        return render(request, "portal/link_sent.html", {"days": settings.PORTAL_LINK_DAYS})
    return render(request, "portal/link_request.html", {"form": form})


@patient_headers
@require_POST
def set_language(request: HttpRequest) -> HttpResponseBase:
    """English or Deutsch, kept in the session for the form and the portal (no JavaScript needed)."""
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES):
        request.session[SESSION_LANGUAGE] = language
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if not (safe and target.startswith("/") and not target.startswith("//")):
        target = reverse("portal:status")
    return redirect(target)


@patient_headers
@require_POST
def leave(request: HttpRequest) -> HttpResponseBase:
    """End the portal session on this device (a shared phone, a library computer)."""
    application = session_application(request, now=timezone.now())
    default = application.preferred_language if application else getattr(request, "LANGUAGE_CODE", "en")
    language = use_language(request, default)
    unbind_session(request)
    request.session[SESSION_LANGUAGE] = language
    return render(request, "portal/left.html")
