"""The application page (SPEC §8): details, documents, protocol, timeline, and what the user may do now."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from staff.views.common import page, staff_page
from workflow import selectors
from workflow.models import Application


@staff_page
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        application = selectors.application_get(actor=request.actor, reference=reference)  # type: ignore[attr-defined]
    except Application.DoesNotExist as exc:
        raise Http404("No application with this reference is visible to you.") from exc
    return page(request, "staff/application.html", {"section": "queue", "application": application})
