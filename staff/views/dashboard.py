"""The dashboard (SPEC §8): SLA compliance, the funnel across states, follow-up adherence."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from staff.views.common import page, staff_page


@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    return page(request, "staff/dashboard.html", {"section": "dashboard"})
