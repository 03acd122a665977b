"""What every staff page shares: who is asking, and the page around the content."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from offices.roles import MANAGER, PHYSICIAN
from security import access_log
from workflow.actors import Actor
from workflow.models import Application

View = Callable[..., HttpResponse]

# The access log's `what` of a page, where its URL name does not say it.
ACCESS_LOG_WHAT = {"application": "detail"}


class StaffRequest(HttpRequest):
    actor: Actor


def served(request: HttpRequest, application: Application | None) -> Application | None:
    """Remember the application a page is about, for the access log (staff_page records it)."""
    request.served_application = application  # type: ignore[attr-defined]
    return application


def staff_page(view: View) -> View:
    """Signed in, with a role in at least one office: else the page that says why there is nothing here.

    Pages carry personal data: no browser or proxy keeps a copy (never_cache: no-store). Each answer
    goes to the access log here (docs/security.md): a GET of a page or file about an application
    (see `served`) is a read; a 403, or a 404 about an application, is a refusal.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = Actor.staff(request.user)
        if not actor.is_staff_member:
            response = render(request, "staff/no_office.html", {"section": None}, status=403)
        else:
            request.actor = actor  # type: ignore[attr-defined]
            response = view(request, *args, **kwargs)
        name = request.resolver_match.url_name if request.resolver_match else None
        access_log.record_outcome(
            request=request,
            status=response.status_code,
            what=ACCESS_LOG_WHAT.get(name or "", name or "page"),
            channel=access_log.Channel.WEB,
            application=getattr(request, "served_application", None),
            reference=kwargs.get("reference"),
        )
        return response

    return never_cache(login_required(wrapper))


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a staff page with the navigation's facts about the user."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    roles = set(actor.roles.values())
    context = {
        "actor": actor,
        "is_physician": PHYSICIAN in roles,
        "is_manager": MANAGER in roles,
        "offices_label": ", ".join(f"{office.name} ({actor.roles[office.pk]})" for office in actor.offices.values()),
        **context,
    }
    return render(request, template, context, status=status)
