"""The application queue (SPEC §8): the office's work, most urgent reply first."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from offices.models import Office
from staff.forms import QueueFilterForm
from staff.views.common import page, staff_page
from workflow import selectors
from workflow import sla as sla_rules

PAGE_SIZE = 50


@staff_page
def queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    offices = list(Office.objects.filter(pk__in=actor.office_ids).order_by("code"))
    form = QueueFilterForm(request.GET or None, offices=offices)
    valid = form.is_valid() or not form.is_bound
    filters: dict[str, str] = form.filters() if form.is_bound and valid else {}
    ordering = (form.cleaned_data.get("ordering") if form.is_bound and valid else "") or "reply_due_at"
    rows = selectors.application_queue(actor=actor, now=now).none()
    counts: dict[str, int] = {}
    if valid:
        try:
            rows = selectors.application_queue(actor=actor, now=now, ordering=ordering, **filters)
            # The counts beside the SLA filter: the same filters, whichever SLA status is picked.
            unfiltered = {name: value for name, value in filters.items() if name != "sla"}
            counts = selectors.application_queue(actor=actor, now=now, **unfiltered).aggregate(
                **{status: Count("pk", filter=sla_rules.status_filter(status, now)) for status in sla_rules.STATUSES}
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
            valid = False
    paginator = Paginator(rows, PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    calendars = selectors.office_calendars(actor.office_ids)
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
        for application in page_obj.object_list
    ]
    context: dict[str, Any] = {
        "section": "queue",
        "form": form,
        "page_has_errors": not valid,
        "page_obj": page_obj,
        "entries": entries,
        "counts": [(status, counts.get(status, 0)) for status in sla_rules.STATUSES],
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


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
