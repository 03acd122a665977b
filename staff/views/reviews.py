"""The physician's review list (SPEC §8): applications awaiting medical review, most urgent reply first.

Approve and decline are inline, posted to the application's `act` endpoint (the same forms and
services as the application page) with `next` back here. The list is the physicians': another role
gets a page that says so, with no application on it.
"""

from __future__ import annotations

from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from offices.roles import PHYSICIAN
from staff import steps
from staff.views.common import page, staff_page
from workflow import selectors, services
from workflow import sla as sla_rules
from workflow.actors import Actor
from workflow.forms import TRANSITION_FORMS
from workflow.models import TransitionLog

# The inline forms; the services decide, and the application page offers the rest.
INLINE = ("approve_review", "decline")


@staff_page
def reviews(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if PHYSICIAN not in actor.roles.values():
        return page(request, "staff/reviews.html", {"section": "reviews", "physician": False}, status=403)
    now = timezone.now()
    applications = list(selectors.applications_awaiting_review(actor=actor))
    calendars = selectors.office_calendars({application.office_id for application in applications})
    seen = dict(
        TransitionLog.objects.filter(application__in=applications)
        .order_by()
        .values("application_id")
        .annotate(last=Max("id"))
        .values_list("application_id", "last")
    )
    here = reverse("staff:reviews")
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
            "seen": seen.get(application.pk, 0),
            "steps": [
                {
                    "name": name,
                    "title": steps.title(name),
                    "button": str(steps.STEPS[name].button),
                    "warning": steps.STEPS[name].warning,
                    # Ids unique on the page: one pair of forms per application.
                    "form": TRANSITION_FORMS[name](
                        application=application, prefix=name, auto_id=f"r{application.pk}-%s"
                    ),
                }
                for name in services.available_transitions(application, actor, now=now)
                if name in INLINE
            ],
        }
        for application in applications
    ]
    context = {"section": "reviews", "physician": True, "entries": entries, "next": here, "now": now}
    return page(request, "staff/reviews.html", context)
