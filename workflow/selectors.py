"""Reads of applications that more than one interface needs: the staff queue, the detail, the dashboard.

Every read is scoped to the actor's offices; another office's application does not exist for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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

# ordering value -> ORDER BY. Each matches an index led by the office (`queue_by_office_due`,
# `queue_by_office_received` and the filters' own), so that a page of one office's queue is an index
# range scan; `QUEUE_SORT_COLUMNS` are the columns the order reads.
QUEUE_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "reply_due_at": (F("reply_due_at").asc(nulls_last=True), "id"),
    "received_at": ("received_at", "id"),
    "-received_at": ("-received_at", "-id"),
}
QUEUE_SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "reply_due_at": ("reply_due_at", "id"),
    "received_at": ("received_at", "id"),
    "-received_at": ("received_at", "id"),
}
ASSIGNED_ME, ASSIGNED_NONE = "me", "none"
# The queue counts its rows up to this many and says "1,000+" beyond (docs/performance.md): an exact
# count of a large office reads every row of it on every page.
QUEUE_COUNT_LIMIT = 1000
# Pages past this one are empty (a hundred million rows in): it keeps OFFSET within PostgreSQL's bigint.
QUEUE_MAX_PAGE = 1_000_000


def application_queue(*, actor: Actor, now: datetime, **filters: Any) -> ApplicationQuerySet:
    """The applications of the actor's offices, filtered as SPEC §9 describes (`office`, `state`,
    `assigned`, `sla`, `q`, `ordering`).

    A bad filter value raises ValidationError naming the filter. The rows carry their office and
    assignee. For a page, use `queue_page`: it keeps the index order when the actor has several offices.
    """
    return _queue(actor=actor, now=now, **filters)[0]


def _queue(
    *,
    actor: Actor,
    now: datetime,
    office: str | None = None,
    state: str | None = None,
    assigned: str | None = None,
    sla: str | None = None,
    q: str | None = None,
    ordering: str = "reply_due_at",
) -> tuple[ApplicationQuerySet, list[int]]:
    """The queue's queryset and the offices it can return rows of."""
    errors: dict[str, list[str]] = {}
    queryset = Application.objects.visible_to(actor).select_related("office", "assigned_to")
    office_ids = actor.office_ids
    if office:
        office_id = Office.objects.filter(code=office).values_list("pk", flat=True).first()
        if office_id is None:
            errors["office"] = [f"Unknown office {office!r}."]
        else:
            queryset = queryset.filter(office_id=office_id)
            office_ids = [pk for pk in office_ids if pk == office_id]
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
        # On PostgreSQL each of the three is served by a trigram index on UPPER(column)
        # (workflow/migrations/0009_queue_indexes.py), which is the expression `icontains` compares.
        queryset = queryset.filter(
            Q(reference__icontains=text) | Q(full_name__icontains=text) | Q(email__icontains=text)
        )
    if ordering not in QUEUE_ORDERINGS:
        errors["ordering"] = [f"Choose one of {', '.join(QUEUE_ORDERINGS)}."]
    if errors:
        raise ValidationError(errors)
    return queryset.order_by(*QUEUE_ORDERINGS[ordering]), office_ids


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue. `count` is exact up to QUEUE_COUNT_LIMIT; `count_capped` says there are more."""

    rows: list[Application]
    number: int
    size: int
    count: int
    count_capped: bool
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def num_pages(self) -> int | None:
        """None while the count is capped: nobody needs to know that page 12,000 is the last."""
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.size))


def capped_count(queryset: QuerySet[Any], limit: int = QUEUE_COUNT_LIMIT) -> tuple[int, bool]:
    """(rows, more): the rows counted up to `limit`, and whether there are more. Reads at most limit + 1."""
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    return min(counted, limit), counted > limit


def queue_page(
    *,
    actor: Actor,
    now: datetime,
    number: int,
    size: int,
    ordering: str = "reply_due_at",
    clamp: bool = False,
    **filters: Any,
) -> QueuePage:
    """A page of the queue (filters as `application_queue`): a capped count and the page's rows, in a
    fixed number of queries whatever the page's size. A page past the last one has no rows, unless
    `clamp` and the count is exact: then it is the last page.

    A queryset that spans several offices (`office_id IN (1, 2)`) loses the order of the per-office
    indexes: PostgreSQL would read and sort every row of both offices for one page. Here the page's
    ids come from a UNION ALL of one ordered query per office, which PostgreSQL merges in index order
    (Merge Append) and stops after the page; the rows are then read by primary key.
    """
    queryset, office_ids = _queue(actor=actor, now=now, ordering=ordering, **filters)
    count, capped = capped_count(queryset)
    number = min(number, QUEUE_MAX_PAGE)
    if clamp and not capped and (number - 1) * size >= count:
        number = max(1, -(-count // size))
    start = (number - 1) * size
    if len(office_ids) <= 1:
        rows = list(queryset[start : start + size + 1])
    else:
        columns = QUEUE_SORT_COLUMNS[ordering]
        per_office = [queryset.filter(office_id=pk).order_by().values_list("pk", *columns) for pk in office_ids]
        merged = per_office[0].union(*per_office[1:], all=True).order_by(*QUEUE_ORDERINGS[ordering])
        ids = [row[0] for row in merged[start : start + size + 1]]
        by_id = {application.pk: application for application in queryset.filter(pk__in=ids)}
        rows = [by_id[pk] for pk in ids if pk in by_id]
    return QueuePage(
        rows=rows[:size], number=number, size=size, count=count, count_capped=capped, has_next=len(rows) > size
    )


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
