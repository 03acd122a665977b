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
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from notifications.models import Notification
from notifications.selectors import with_attachment_info
from offices.calendar import WorkingCalendar
from offices.models import CalendarOverride, Office
from offices.roles import PHYSICIAN
from workflow.actors import Actor
from workflow.models import Application, FollowUpReview, Message, Quote, State, TransitionLog
from workflow.models.application import TERMINAL_STATES
from workflow.sla import BREACHED, DUE_SOON, STATUSES, status_filter

if TYPE_CHECKING:
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
# What a row of the queue shows (API summary, staff page) and its SLA needs, read as tuples: of the
# application's forty-odd columns (the protocol's JSON, the medical texts) a page reads these, and
# builds no model instance (an Application with its office and assignee per row was most of a page's
# time). The order is QueueRow's; the rows' offices are the actor's own instances.
QUEUE_ROW_COLUMNS = (
    "reference",
    "state",
    "office_id",
    "assigned_to_id",
    "assigned_to__first_name",
    "assigned_to__last_name",
    "assigned_to__username",
    "full_name",
    "country",
    "received_at",
    "reply_due_at",
    "reply_warn_at",
)
# The queue counts its rows up to this many and says "1,000+" beyond (docs/performance.md): an exact
# count of a large office reads every row of it on every page.
QUEUE_COUNT_LIMIT = 1000
# Pages past this one are empty (a hundred million rows in): it keeps OFFSET within PostgreSQL's bigint.
QUEUE_MAX_PAGE = 1_000_000


def application_queue(*, actor: Actor, now: datetime, **filters: Any) -> ApplicationQuerySet:
    """The applications of the actor's offices, filtered as SPEC §9 describes (`office`, `state`,
    `assigned`, `sla`, `q`, `ordering`).

    A bad filter value raises ValidationError naming the filter. For a page, use `queue_page`: it keeps
    the index order when the actor has several offices, and reads only what a row shows.
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
    queryset = Application.objects.visible_to(actor)
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
        # (workflow/migrations/0010_queue_indexes.py), which is the expression `icontains` compares.
        queryset = queryset.filter(
            Q(reference__icontains=text) | Q(full_name__icontains=text) | Q(email__icontains=text)
        )
    if ordering not in QUEUE_ORDERINGS:
        errors["ordering"] = [f"Choose one of {', '.join(QUEUE_ORDERINGS)}."]
    if errors:
        raise ValidationError(errors)
    return queryset.order_by(*QUEUE_ORDERINGS[ordering]), office_ids


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row of the queue: what the API's summary and the staff page show, and what its SLA needs.

    `office` is the actor's instance of it, the same for every row of one office."""

    reference: str
    state: str
    office: Office
    assigned_to_id: int | None
    # As User.get_full_name() or the username; None when nobody is assigned.
    assigned_to_name: str | None
    full_name: str
    country: str
    received_at: datetime
    reply_due_at: datetime | None
    reply_warn_at: datetime | None

    @property
    def office_id(self) -> int:
        return self.office.pk

    def get_state_display(self) -> str:
        return str(State(self.state).label)


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue. `count` is exact up to QUEUE_COUNT_LIMIT; `count_capped` says there are more."""

    rows: list[QueueRow]
    number: int
    size: int
    count: int
    count_capped: bool
    has_next: bool
    # office id -> its working calendar, for the offices of the page's rows (the SLA's working time left).
    calendars: dict[int, WorkingCalendar]

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


# The same orders in SQL, for the candidates below (constants: nothing of the request goes in).
_CANDIDATE_ORDER = {
    "reply_due_at": "reply_due_at ASC NULLS LAST, id ASC",
    "received_at": "received_at ASC, id ASC",
    "-received_at": "received_at DESC, id DESC",
}
# How many matching rows a search collects before it trusts the order's index instead: a term
# rarer than this is found through its trigram index and sorted; a commoner one is dense enough for
# the index walk to meet a page of matches quickly.
QUEUE_SEARCH_BUDGET = 10_000


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
    """A page of the queue (filters as `application_queue`) with its capped count, in a fixed number of
    queries whatever the page's size: one, two for a search. A page past
    the last one has no rows, unless `clamp` and the count is exact: then it is the last page (that
    costs a query or two more, on that wrong address only).

    One office: the page in the order's index, with the capped count beside it in the same statement.
    Several offices: `office_id IN (1, 2)` loses the index order (PostgreSQL would sort every row of
    both), so the rows are those of a UNION ALL of one ordered query per office, each limited to the
    rows up to the page's end: the statement sorts those few.
    A search (`q`): first, up to QUEUE_SEARCH_BUDGET + 1 matches in no order, which the planner finds
    through the trigram indexes (a term that matches nothing is absent from them), with the page's ids
    among them; then the rows. A term commoner than the budget is dense enough for the paths above.
    """
    queryset, office_ids = _queue(actor=actor, now=now, ordering=ordering, **filters)
    number = min(number, QUEUE_MAX_PAGE)
    start = (number - 1) * size
    # The trigram indexes and the statement below are PostgreSQL's; elsewhere a search takes the ordinary path.
    if (filters.get("q") or "").strip() and connection.vendor == "postgresql":
        limited = queryset.order_by().values_list("pk", *QUEUE_SORT_COLUMNS[ordering])[: QUEUE_SEARCH_BUDGET + 1]
        found, ids = _candidates(limited, ordering, start, size)
        if found <= QUEUE_SEARCH_BUDGET:
            if clamp and found and start >= found:
                return queue_page(
                    actor=actor, now=now, number=-(-found // size), size=size, ordering=ordering, **filters
                )
            return _page(_by_ids(queryset, ids), offices=actor.offices, number=number, size=size, found=found)
    counted = queryset.annotate(queue_found=_capped_count_sql(queryset))
    if len(office_ids) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # Each office's part is ordered and limited by its own index; the statement then sorts those
        # few ids, instead of every row of both offices. (SQLite, the local default, cannot limit the
        # parts of a UNION: there the page reads both offices in one range, as it may at that size.)
        per_office = [queryset.filter(office_id=pk).values_list("pk")[: start + size + 1] for pk in office_ids]
        counted = counted.filter(pk__in=per_office[0].union(*per_office[1:], all=True))
    values = list(counted.values_list(*QUEUE_ROW_COLUMNS, "queue_found")[start : start + size + 1])
    if values:
        found = int(values[0][-1])
    else:
        counted_rows, more = capped_count(queryset) if number > 1 else (0, False)
        if clamp and counted_rows and not more:
            last = -(-counted_rows // size)
            return queue_page(actor=actor, now=now, number=last, size=size, ordering=ordering, **filters)
        found = counted_rows + (1 if more else 0)
    return _page(values, offices=actor.offices, number=number, size=size, found=found)


def _page(
    values: list[tuple[Any, ...]], *, offices: Mapping[int, Office], number: int, size: int, found: int
) -> QueuePage:
    """The page of `values` (QUEUE_ROW_COLUMNS first, in the queue's order; one more than `size` when a
    next page exists) with the calendars of its offices: one query (their overrides), none if empty."""
    values = values[: size + 1]
    rows = [
        QueueRow(
            reference=reference,
            state=state,
            office=offices[office_id],
            assigned_to_id=assigned_to_id,
            assigned_to_name=(f"{first_name} {last_name}".strip() or username) if assigned_to_id else None,
            full_name=full_name,
            country=country,
            received_at=received_at,
            reply_due_at=reply_due_at,
            reply_warn_at=reply_warn_at,
        )
        for (
            reference,
            state,
            office_id,
            assigned_to_id,
            first_name,
            last_name,
            username,
            full_name,
            country,
            received_at,
            reply_due_at,
            reply_warn_at,
            *_,
        ) in values[:size]
    ]
    return QueuePage(
        rows=rows,
        number=number,
        size=size,
        count=min(found, QUEUE_COUNT_LIMIT),
        count_capped=found > QUEUE_COUNT_LIMIT,
        has_next=len(values) > size,
        calendars=calendars_of({row.office_id: row.office for row in rows}),
    )


def _capped_count_sql(queryset: QuerySet[Any]) -> RawSQL:
    """The capped count as a scalar subquery, to ride along the page's own statement (PostgreSQL runs it
    once, as an InitPlan). At most QUEUE_COUNT_LIMIT + 1 rows are read."""
    sql, params = queryset.order_by().values("pk")[: QUEUE_COUNT_LIMIT + 1].query.sql_with_params()
    return RawSQL(f"SELECT count(*) FROM ({sql}) AS capped", params)  # noqa: S608, S611 - the ORM's own SQL


def queue_sla_counts(*, actor: Actor, now: datetime, **filters: Any) -> dict[str, tuple[int, bool]]:
    """Per SLA status, (applications, more than that?) under the other filters, each capped like the
    queue's count; one statement of three scalar subqueries."""
    base = application_queue(actor=actor, now=now, **{name: value for name, value in filters.items() if name != "sla"})
    parts: list[str] = []
    params: list[Any] = []
    for status in STATUSES:
        sql, part_params = (
            base.filter(status_filter(status, now))
            .order_by()
            .values("pk")[: QUEUE_COUNT_LIMIT + 1]
            .query.sql_with_params()
        )
        parts.append(f"(SELECT count(*) FROM ({sql}) AS capped)")  # noqa: S608 - the ORM's own SQL
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)  # noqa: S608 - the ORM's own SQL and parameters
        counted = cursor.fetchone()
    return {
        status: (min(int(n), QUEUE_COUNT_LIMIT), int(n) > QUEUE_COUNT_LIMIT)
        for status, n in zip(STATUSES, counted, strict=True)
    }


def _candidates(limited: QuerySet[Any], ordering: str, start: int, size: int) -> tuple[int, list[int]]:
    """(how many rows `limited` returns, the ids of rows start … start + size of them in the queue's order).

    Raw SQL around the ORM's own query: MATERIALIZED makes PostgreSQL collect the matches by the
    filter's best path first, instead of walking the order's index in the hope of meeting them.
    """
    sql, params = limited.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH candidates AS MATERIALIZED ({sql}) SELECT (SELECT count(*) FROM candidates), "  # noqa: S608 - ORM SQL and constants
            f"ARRAY(SELECT pk FROM candidates ORDER BY {_CANDIDATE_ORDER[ordering]} OFFSET %s LIMIT %s)",
            [*params, start, size + 1],
        )
        found, ids = cursor.fetchone()
    return int(found), list(ids)


def _by_ids(queryset: ApplicationQuerySet, ids: list[int]) -> list[tuple[Any, ...]]:
    """The row values of `ids` in the order of `ids`: one query by primary key."""
    if not ids:
        return []
    by_id = {row[-1]: row for row in queryset.order_by().filter(pk__in=ids).values_list(*QUEUE_ROW_COLUMNS, "pk")}
    return [by_id[pk] for pk in ids if pk in by_id]


def assignable_staff(application: Application) -> QuerySet[User]:
    """Who an application can be assigned to: the active staff of its office, by username."""
    return (
        User.objects.filter(is_active=True, memberships__office_id=application.office_id)
        .order_by("username")
        .distinct()
    )


def office_calendars(office_ids: Iterable[int]) -> dict[int, WorkingCalendar]:
    """One working calendar per office, with every office's overrides read in one query."""
    return calendars_of({office.pk: office for office in Office.objects.filter(pk__in=list(office_ids))})


def calendars_of(offices: Mapping[int, Office]) -> dict[int, WorkingCalendar]:
    """The working calendars of these offices (id -> office): one query for all their overrides, none
    for no office."""
    overrides: dict[int, dict[date, str]] = {pk: {} for pk in offices}
    if offices:
        # Written out: a queue page reads these on every request, and building the QuerySet cost
        # three times the query.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT office_id, date, kind FROM {CalendarOverride._meta.db_table} "  # noqa: S608 - the model's table
                f"WHERE office_id IN ({', '.join(['%s'] * len(offices))})",
                list(offices),
            )
            for office_id, day, kind in cursor.fetchall():
                overrides[office_id][day] = kind
    return {pk: WorkingCalendar.for_office(office, overrides=overrides[pk]) for pk, office in offices.items()}


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
