"""The application queue (SPEC §8): the office's work, most urgent reply first."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from staff.forms import QueueFilterForm
from staff.views.common import page, staff_page
from workflow import selectors
from workflow import sla as sla_rules

PAGE_SIZE = 50


@staff_page
def queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    offices = list(actor.offices.values())
    form = QueueFilterForm(request.GET or None, offices=offices)
    valid = form.is_valid() or not form.is_bound
    filters: dict[str, str] = form.filters() if form.is_bound and valid else {}
    ordering = (form.cleaned_data.get("ordering") if form.is_bound and valid else "") or "reply_due_at"
    page_obj: selectors.QueuePage | None = None
    counts: dict[str, tuple[int, bool]] = {}
    if valid:
        try:
            page_obj = selectors.queue_page(
                actor=actor,
                now=now,
                number=_page_number(request),
                size=PAGE_SIZE,
                ordering=ordering,
                clamp=True,
                **filters,
            )
            # The counts beside the SLA filter: the same filters, whichever SLA status is picked; each
            # capped like the page's own, so that none reads every overdue row of a large office.
            counts = selectors.queue_sla_counts(actor=actor, now=now, **filters)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
            valid = False
            page_obj = None
    calendars = page_obj.calendars if page_obj else {}
    entries = [
        {
            "application": application,
            "sla": sla_rules.summary(
                office=application.office,
                calendar=calendars[application.office_id],
                due_at=application.reply_due_at,
                warn_at=application.reply_warn_at,
                now=now,
            ),
        }
        for application in (page_obj.rows if page_obj else [])
    ]
    context: dict[str, Any] = {
        "section": "queue",
        "form": form,
        "page_has_errors": not valid,
        "page_obj": page_obj,
        "entries": entries,
        "counts": [(status, *counts.get(status, (0, False))) for status in sla_rules.STATUSES],
        "count_limit": selectors.QUEUE_COUNT_LIMIT,
        "current_sla": filters.get("sla", ""),
        "ordering": ordering,
        "query": _query_without(request, "page"),
        "query_without_sla": _query_without(request, "page", "sla"),
        "query_without_ordering": _query_without(request, "page", "ordering"),
        "now": now,
        # One office's staff need no office column: it leaves room on a tablet.
        "multi_office": len(offices) > 1,
    }
    status = 200 if valid else 400
    if request.htmx:  # type: ignore[attr-defined]
        # The minute's refresh: just the results, with the filters the URL already carries.
        return render(request, "staff/_queue_results.html", context, status=status)
    return page(request, "staff/queue.html", context, status=status)


def _page_number(request: HttpRequest) -> int:
    """The `page` asked for; anything but a positive number is the first page, as Django's get_page does."""
    raw = request.GET.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 1


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
