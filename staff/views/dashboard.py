"""The dashboard (SPEC §8): SLA compliance per week, the funnel across states, follow-up adherence.

Everyone with an office sees the figures of their own offices, read-only (there is nothing to change
here). The managers of an office also see its open work per assignee. The figures come from the
reports and selectors that the API uses; this module only picks the period and lays them out, and
each chart (`chart`) is drawn from exactly the rows its table shows.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from offices.models import Office
from offices.roles import MANAGER
from staff import charts
from staff.views.common import page, staff_page
from workflow import selectors
from workflow.actors import Actor
from workflow.models import State
from workflow.reports import iso_weeks, sla_report_weekly
from workflow.reports_follow_up import follow_up_report

DEFAULT_WEEKS = 8
WEEK_CHOICES = (4, 8, 13, 26, 52)
CHARTS = ("sla", "funnel", "follow-up")


class DashboardForm(forms.Form):
    """Which of the user's offices, over how many weeks: in the URL, so a bookmark keeps them."""

    office = forms.ChoiceField(label=gettext_lazy("Office"), required=False)
    weeks = forms.TypedChoiceField(
        label=gettext_lazy("Period"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_WEEKS,  # type: ignore[arg-type]  # the stubs want a str; Django takes any value
        choices=[(n, ngettext_lazy("Last %(n)d week", "Last %(n)d weeks", "n") % {"n": n}) for n in WEEK_CHOICES],
        initial=DEFAULT_WEEKS,
    )

    def __init__(self, *args: Any, offices: list[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["office"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", _("All my offices")), *((office.code, office.name) for office in offices)]


@dataclass
class OfficeFigures:
    office: Office
    zone: str  # "Asia/Kolkata (IST)"
    start: date
    end: date
    sla: list[dict[str, Any]]
    funnel: list[dict[str, Any]]
    follow_up: list[dict[str, Any]]
    workload: list[dict[str, Any]] | None  # None: not a manager of this office


def _zone(office: Office, now: datetime) -> str:
    return f"{office.timezone} ({now.astimezone(office.tz).tzname()})"


def _sla(offices: list[Office], weeks: int, now: datetime) -> dict[int, list[dict[str, Any]]]:
    rows = sla_report_weekly(offices=offices, weeks=weeks, now=now)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_code.setdefault(row["office"], []).append(row)
    return {office.pk: by_code.get(office.code, []) for office in offices}


def _funnel(actor: Actor, offices: list[Office], weeks: int, now: datetime) -> dict[int, list[dict[str, Any]]]:
    periods = {office: _period(office, weeks, now) for office in offices}
    counts = selectors.application_funnel(actor=actor, periods=periods)
    labels = dict(State.choices)
    return {
        office.pk: [
            {"state": state, "label": _(labels[state]), "count": counts[office.pk][state]}
            for state in selectors.FUNNEL_STATES
        ]
        for office in offices
    }


def _follow_up(offices: list[Office], weeks: int, now: datetime) -> dict[int, list[dict[str, Any]]]:
    result = {}
    for office in offices:
        start, end = _period(office, weeks, now)
        report = follow_up_report(offices=[office], start=start, end=end)
        result[office.pk] = [
            {**row, "label": ngettext("%(n)d month", "%(n)d months", row["months"]) % {"n": row["months"]}}
            for row in report["rows"]
        ]
    return result


def _period(office: Office, weeks: int, now: datetime) -> tuple[date, date]:
    periods = iso_weeks(office=office, now=now, weeks=weeks)
    return periods[0][0], periods[-1][1]


def _offices(actor: Actor) -> list[Office]:
    # The calendars' overrides come along: the reply times are working hours.
    return list(Office.objects.filter(pk__in=actor.office_ids).prefetch_related("overrides").order_by("code"))


@staff_page
def dashboard(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    offices = _offices(actor)
    form = DashboardForm(request.GET or None, offices=offices)
    valid = form.is_valid() or not form.is_bound
    code = form.cleaned_data.get("office") if form.is_bound and valid else ""
    weeks = (form.cleaned_data.get("weeks") if form.is_bound and valid else None) or DEFAULT_WEEKS
    shown = [office for office in offices if not code or office.code == code] if valid else []
    sla, funnel, follow_up = _sla(shown, weeks, now), _funnel(actor, shown, weeks, now), _follow_up(shown, weeks, now)
    managed = [office for office in shown if actor.role_in(office.pk) == MANAGER]
    workload: dict[str, list[dict[str, Any]]] = {office.code: [] for office in managed}
    for row in selectors.open_work_by_assignee(actor=actor, offices=managed, now=now) if managed else []:
        workload[row["office"]].append(row)
    figures = [
        OfficeFigures(
            office=office,
            zone=_zone(office, now),
            start=_period(office, weeks, now)[0],
            end=_period(office, weeks, now)[1],
            sla=sla[office.pk],
            funnel=funnel[office.pk],
            follow_up=follow_up[office.pk],
            workload=workload.get(office.code),
        )
        for office in shown
    ]
    context = {
        "section": "dashboard",
        "form": form,
        "page_has_errors": not valid,
        "figures": figures,
        "weeks": weeks,
        "manages_any": bool(managed),
    }
    return page(request, "staff/dashboard.html", context, status=200 if valid else 400)


@staff_page
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """One chart of one of the user's offices, as an SVG image; another office's does not exist."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if name not in CHARTS:
        raise Http404
    offices = _offices(actor)
    office = next((office for office in offices if office.code == request.GET.get("office")), None)
    if office is None:
        raise Http404
    form = DashboardForm(request.GET, offices=offices)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose a period from the list."))
    weeks = form.cleaned_data["weeks"] or DEFAULT_WEEKS
    now = timezone.now()
    if name == "sla":
        svg = charts.sla_chart(
            _sla([office], weeks, now)[office.pk],
            title=_("%(office)s: replies by the promised time, per week") % {"office": office.name},
        )
    elif name == "funnel":
        svg = charts.funnel_chart(
            _funnel(actor, [office], weeks, now)[office.pk],
            title=_("%(office)s: applications received, by state now") % {"office": office.name},
        )
    else:
        svg = charts.follow_up_chart(
            _follow_up([office], weeks, now)[office.pk],
            title=_("%(office)s: follow-up reviews due, per review point") % {"office": office.name},
        )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    # The image's own policy: nothing to load, nothing to run, only its own stylesheet (by hash).
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
        for css in charts.stylesheets(svg)
    )
    response["Content-Security-Policy"] = f"default-src 'none'; style-src {hashes}; frame-ancestors 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
