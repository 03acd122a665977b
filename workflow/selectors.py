"""Reads of applications that more than one interface needs: the staff queue, the detail, the dashboard.

Every read is scoped to the actor's offices; another office's application does not exist for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from notifications.models import Notification
from notifications.selectors import with_attachment_info
from offices.models import Office
from offices.roles import PHYSICIAN
from workflow.actors import Actor
from workflow.models import Application, FollowUpReview, Message, Quote, State, TransitionLog
from workflow.models.application import TERMINAL_STATES
from workflow.sla import BREACHED, DUE_SOON, STATUSES, status_filter

if TYPE_CHECKING:
    from offices.calendar import WorkingCalendar
    from workflow.models.application import ApplicationQuerySet

# ordering value -> ORDER BY. The first matches the index `queue_by_office_due`, the others
# `queue_by_office_received`, so that a page of one office's queue is an index range scan.
QUEUE_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "reply_due_at": (F("reply_due_at").asc(nulls_last=True), "id"),
    "received_at": ("received_at", "id"),
    "-received_at": ("-received_at", "-id"),
}
ASSIGNED_ME, ASSIGNED_NONE = "me", "none"


def application_queue(
    *,
    actor: Actor,
    now: datetime,
    office: str | None = None,
    state: str | None = None,
    assigned: str | None = None,
    sla: str | None = None,
    q: str | None = None,
    ordering: str = "reply_due_at",
) -> ApplicationQuerySet:
    """The applications of the actor's offices, filtered as SPEC §9 describes.

    A bad filter value raises ValidationError naming the filter. The rows carry their office and
    assignee, so a page costs the same number of queries whatever its size.
    """
    errors: dict[str, list[str]] = {}
    queryset = Application.objects.visible_to(actor).select_related("office", "assigned_to")
    if office:
        office_id = Office.objects.filter(code=office).values_list("pk", flat=True).first()
        if office_id is None:
            errors["office"] = [f"Unknown office {office!r}."]
        else:
            queryset = queryset.filter(office_id=office_id)
    if state:
        if state not in State.values:
            errors["state"] = [f"Choose one of {', '.join(State.values)}."]
        else:
            queryset = queryset.filter(state=state)
    if assigned:
        if assigned == ASSIGNED_ME:
            queryset = queryset.filter(assigned_to_id=actor.user.pk if actor.user else None)
        elif assigned == ASSIGNED_NONE:
            queryset = queryset.filter(assigned_to__isnull=True)
        elif assigned.isascii() and assigned.isdigit():
            queryset = queryset.filter(assigned_to_id=int(assigned))
        else:
            errors["assigned"] = ["Give me, none or a user id."]
    if sla:
        if sla not in STATUSES:
            errors["sla"] = [f"Choose one of {', '.join(STATUSES)}."]
        else:
            queryset = queryset.filter(status_filter(sla, now))
    if q and q.strip():
        text = q.strip()
        queryset = queryset.filter(
            Q(reference__icontains=text) | Q(full_name__icontains=text) | Q(email__icontains=text)
        )
    if ordering not in QUEUE_ORDERINGS:
        errors["ordering"] = [f"Choose one of {', '.join(QUEUE_ORDERINGS)}."]
    if errors:
        raise ValidationError(errors)
    return queryset.order_by(*QUEUE_ORDERINGS[ordering])


def assignable_staff(application: Application) -> QuerySet[User]:
    """Who an application can be assigned to: the active staff of its office, by username."""
    return (
        User.objects.filter(is_active=True, memberships__office_id=application.office_id)
        .order_by("username")
        .distinct()
    )


def office_calendars(office_ids: Iterable[int]) -> dict[int, WorkingCalendar]:
    """One working calendar per office, with every office's overrides read in one query."""
    offices = Office.objects.filter(pk__in=list(office_ids)).prefetch_related("overrides")
    return {office.pk: office.calendar() for office in offices}


def application_get(*, actor: Actor, reference: str) -> Application:
    """One application with everything its detail shows; DoesNotExist outside the actor's offices."""
    live_quotes = Quote.objects.filter(superseded_at__isnull=True).prefetch_related("items")
    return (
        Application.objects.visible_to(actor)
        .select_related("office", "assigned_to")
        .prefetch_related(
            "documents",
            "signatures",
            "treatment_days",
            "monitoring_checks",
            Prefetch("reviews", queryset=FollowUpReview.objects.prefetch_related("answers")),
            Prefetch("quotes", queryset=live_quotes, to_attr="live_quotes"),
        )
        .get(reference=reference)
    )


# Where the patient stands with the live quote (`quote_status`).
QuoteStatus = Literal["live", "accepted", "expired", "closed"]


def quote_status(application: Application, *, now: datetime) -> QuoteStatus | None:
    """For the pages that show the quote: `live` (it can be accepted now), `accepted`, `expired` (past its
    last valid day in the office's calendar, not accepted: it cannot be accepted any more, a revised one
    can be asked for), `closed` (the application left the quote stage without accepting it), or None
    when there is no quote. `accept_quote` is offered and allowed exactly when this says `live`.
    """
    quote = application.quotes.filter(superseded_at__isnull=True).first()
    if quote is None:
        return None
    if quote.accepted_at is not None:
        return "accepted"
    if application.state != State.QUOTED:
        return "closed"
    if quote.expired(timezone.localdate(now, application.office.tz)):
        return "expired"
    return "live"


def application_lookup(*, actor: Actor, reference: str) -> Application:
    """Just the application (and its office), for actions and sub-resources; scoped like the rest."""
    return Application.objects.visible_to(actor).select_related("office").get(reference=reference)


def application_history(*, application: Application) -> list[TransitionLog]:
    """The timeline in the order it happened."""
    return list(TransitionLog.objects.filter(application=application).select_related("actor").order_by("at", "id"))


def application_notifications(*, application: Application) -> list[Notification]:
    return list(with_attachment_info(Notification.objects.filter(application=application)).order_by("created_at", "id"))


def application_messages(*, application: Application) -> list[Message]:
    return list(Message.objects.filter(application=application).select_related("author").order_by("created_at", "id"))


def applications_awaiting_review(*, actor: Actor) -> ApplicationQuerySet:
    """The physician's review list: received applications of the offices where the actor is a physician,
    most urgent reply first (the queue's order, index `queue_by_office_due`), with their office."""
    offices = [office_id for office_id, role in actor.roles.items() if role == PHYSICIAN]
    return (
        Application.objects.visible_to(actor)
        .filter(office_id__in=offices, state=State.RECEIVED)
        .select_related("office", "assigned_to")
        .prefetch_related("documents")
        .order_by(*QUEUE_ORDERINGS["reply_due_at"])
    )


# The funnel's columns: the main path in order, then the two ways out of it.
FUNNEL_STATES: tuple[str, ...] = (
    State.RECEIVED,
    State.MEDICALLY_REVIEWED,
    State.QUOTED,
    State.ADMITTED,
    State.DISCHARGED,
    State.IN_FOLLOW_UP,
    State.COMPLETED,
    State.DECLINED,
    State.WITHDRAWN,
)


def application_funnel(*, actor: Actor, periods: Mapping[Office, tuple[date, date]]) -> dict[int, dict[str, int]]:
    """Per office (id): how many of the applications received in its period (office-local days,
    inclusive) stand in each state now, every state of `FUNNEL_STATES` present. One grouped query;
    offices outside the actor's are left out.
    """
    visible = set(actor.office_ids)
    offices = [office for office in periods if office.pk in visible]
    funnel = {office.pk: dict.fromkeys(FUNNEL_STATES, 0) for office in offices}
    if not offices:
        return funnel
    received = Q()
    for office in offices:
        start, end = periods[office]
        received |= Q(
            office_id=office.pk,
            received_at__gte=datetime.combine(start, time.min, tzinfo=office.tz),
            received_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=office.tz),
        )
    counts = (
        Application.objects.visible_to(actor)
        .filter(received)
        .values("office_id", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in counts:
        funnel[row["office_id"]][row["state"]] = row["n"]
    return funnel


def open_work_by_assignee(*, actor: Actor, offices: Iterable[Office], now: datetime) -> list[dict[str, Any]]:
    """Open applications per office and assignee (None: unassigned), with how many replies are overdue
    or due soon; office code, then username, unassigned last. One grouped query.
    """
    office_ids = [office.pk for office in offices if office.pk in set(actor.office_ids)]
    rows = (
        Application.objects.visible_to(actor)
        .filter(office_id__in=office_ids)
        .exclude(state__in=TERMINAL_STATES)
        .values("office__code", "assigned_to_id", "assigned_to__username")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=status_filter(BREACHED, now)),
            due_soon=Count("pk", filter=status_filter(DUE_SOON, now)),
        )
        .order_by("office__code", F("assigned_to__username").asc(nulls_last=True))
    )
    return [
        {
            "office": row["office__code"],
            "assignee": row["assigned_to__username"],
            "open": row["open"],
            "overdue": row["overdue"],
            "due_soon": row["due_soon"],
        }
        for row in rows
    ]
