"""What every staff page shares: who is asking, and the page around the content."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from offices.models import Office
from offices.roles import MANAGER, PHYSICIAN
from workflow.actors import Actor

View = Callable[..., HttpResponse]


class StaffRequest(HttpRequest):
    actor: Actor


def staff_page(view: View) -> View:
    """Signed in, with a role in at least one office: else the page that says why there is nothing here.

    Pages carry personal data: no browser or proxy keeps a copy (never_cache: no-store).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = Actor.staff(request.user)
        if not actor.is_staff_member:
            return render(request, "staff/no_office.html", {"section": None}, status=403)
        request.actor = actor  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    offices: list[Office] | None = None,
) -> HttpResponse:
    """Render a staff page with the navigation's facts about the user. `offices`: the actor's, when the
    view has read them already (by code)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    roles = set(actor.roles.values())
    if offices is None:
        offices = list(Office.objects.filter(pk__in=actor.office_ids).order_by("code"))
    context = {
        "actor": actor,
        "is_physician": PHYSICIAN in roles,
        "is_manager": MANAGER in roles,
        "offices_label": ", ".join(f"{office.name} ({actor.roles[office.pk]})" for office in offices),
        **context,
    }
    return render(request, template, context, status=status)
