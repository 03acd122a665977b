"""The physician's review list (SPEC §8): applications awaiting medical review, most urgent first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from staff.views.common import page, staff_page


@staff_page
def reviews(request: HttpRequest) -> HttpResponse:
    return page(request, "staff/reviews.html", {"section": "reviews"})
