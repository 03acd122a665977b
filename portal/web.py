"""What every patient page shares: the session bound to one application, the headers, the language.

A portal session is bound to exactly one application, the one whose private link was opened last
in this browser. Pages read that application from the session and from nowhere else: no portal URL
carries an application's id or reference, so no other application is reachable whatever is typed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import TypeAlias

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from portal.csrf import NO_REFERRER_VIEW
from workflow.api.views import IntakeThrottle
from workflow.models import Application
from workflow.selectors_portal import portal_application, portal_session_valid

SESSION_APPLICATION = "portal.application"
SESSION_OPENED_AT = "portal.opened_at"
SESSION_LANGUAGE = "portal.language"
SESSION_RECEIPT = "portal.receipt"
# A portal session lasts half a day from the link's opening; then the patient opens their link again.
# Short, because a link opens the application without a password, often on a shared phone.
SESSION_LIFETIME = timedelta(hours=12)

View: TypeAlias = Callable[..., HttpResponseBase]
# (request, application, **the URL's own arguments, such as a questionnaire step)
PatientView: TypeAlias = Callable[..., HttpResponseBase]


def patient_headers(view: View) -> View:
    """No caching of pages with personal data, and no Referer to anyone: the link's token never leaks."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response

    # Lets the page's own forms pass the CSRF origin check under that policy (portal/csrf.py).
    setattr(wrapper, NO_REFERRER_VIEW, True)
    return wrapper


def use_language(request: HttpRequest, default: str) -> str:
    """The patient's own choice (kept in the session), else `default`; active for the rest of the request."""
    languages = dict(settings.LANGUAGES)
    language = request.session.get(SESSION_LANGUAGE) or default
    if language not in languages:
        language = settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def bind_session(request: HttpRequest, application: Application, *, now: datetime) -> None:
    """After a link is opened: a new session key (no fixation), bound to this application only."""
    request.session.cycle_key()
    rotate_token(request)
    for key in (SESSION_APPLICATION, SESSION_OPENED_AT, SESSION_LANGUAGE):
        request.session.pop(key, None)
    request.session[SESSION_APPLICATION] = application.pk
    request.session[SESSION_OPENED_AT] = now.isoformat()
    request.session.set_expiry(SESSION_LIFETIME)


def unbind_session(request: HttpRequest) -> None:
    request.session.flush()


def session_application(request: HttpRequest, *, now: datetime) -> Application | None:
    application_id = request.session.get(SESSION_APPLICATION)
    opened = request.session.get(SESSION_OPENED_AT)
    if not isinstance(application_id, int) or not isinstance(opened, str):
        return None
    try:
        opened_at = datetime.fromisoformat(opened)
    except ValueError:
        return None
    if opened_at + SESSION_LIFETIME <= now or not portal_session_valid(
        application_id=application_id, opened_at=opened_at
    ):
        unbind_session(request)
        return None
    return portal_application(application_id=application_id)


def patient_page(view: PatientView) -> View:
    """A portal page: the session's application, in its language (or the patient's choice), no caching."""

    @patient_headers
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs: str) -> HttpResponseBase:
        application = session_application(request, now=timezone.now())
        if application is None:
            return redirect("portal:request_link")
        use_language(request, application.preferred_language)
        return view(request, application, **kwargs)

    return wrapper


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the intake throttle sees it (the same trusted-proxy setting), or None."""
    ident = IntakeThrottle().get_ident(request)  # type: ignore[arg-type]  # reads only META
    for candidate in (ident, request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(str(candidate).strip()))
        except ValueError:
            continue
    return None


def throttle_key_address(request: HttpRequest) -> str:
    """The string the intake throttle counts by, shared with the link requests' rate limit."""
    return str(IntakeThrottle().get_ident(request))  # type: ignore[arg-type]


def render_status(response: HttpResponse, status: int) -> HttpResponse:
    response.status_code = status
    return response
