"""One service per transition of SPEC §3, all run by `_run` the same way (SPEC §11):

lock the row scoped to the actor, re-check permission, state and conditions, run the fsm
transition, save (ConcurrentTransitionMixin backs up the lock), then side effects and history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

from babel.numbers import list_currencies
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from workflow.actors import Actor
from workflow.errors import ConditionsNotMet, Conflict, NotAllowed
from workflow.models import Application, Quote, QuoteItem, Reminder, State, TreatmentDay
from workflow.models.application import CONDITION_MESSAGES, TERMINAL_STATES
from workflow.services.aftercare_plan import plan_aftercare
from workflow.services.common import lock, now_or, record
from workflow.services.obligations import close_obligations
from workflow.services.reminders import cancel_reminders, plan_quote_expiry
from workflow.services.replies import answer_patient, writes_to_patient
from workflow.services.treatment import validate_protocol

# The transitions of SPEC §3, in its order. A name outside this type is a mypy error at the call.
TransitionName = Literal[
    "approve_review",
    "decline",
    "send_quote",
    "revise_quote",
    "admit",
    "discharge",
    "start_follow_up",
    "complete",
    "withdraw",
]
TRANSITION_NAMES: tuple[TransitionName, ...] = get_args(TransitionName)

# ISO 4217 codes, from the CLDR data Babel ships (Babel also compiles our translations).
ISO_4217 = frozenset(list_currencies())
QUOTE_VALIDITY_DAYS = 30
# How far ahead a quote may run or an admission be scheduled: beyond this a date is a typo, not a plan.
HORIZON = timedelta(days=366)
_AMOUNT = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
# The quote's total has the same column type as an item: a sum that does not fit is refused.
_TOTAL_LIMIT = Decimal("9999999999.99")
_DESCRIPTION_MAX = QuoteItem._meta.get_field("description").max_length or 200


def _fsm_transition(application: Application, name: str) -> Any:
    meta = getattr(getattr(application, name), "_django_fsm")  # noqa: B009 - the library's own attribute
    return meta


def _may(application: Application, name: str, actor: Actor) -> bool:
    # Every source of one of our transitions shares its permission; ask any of them.
    transition = next(iter(_fsm_transition(application, name).transitions.values()))
    return bool(transition.has_perm(application, actor))


def _check_role_and_state(application: Application, name: str, actor: Actor) -> Any:
    if not _may(application, name, actor):
        raise NotAllowed(f"Your role does not allow {name.replace('_', ' ')} in this office.")
    meta = _fsm_transition(application, name)
    if not meta.has_transition(application.state):
        raise Conflict(f"{name} is not possible from the state {application.state}.")
    return meta


def _check(application: Application, name: str, actor: Actor, now: datetime) -> None:
    application.as_of = now
    meta = _check_role_and_state(application, name, actor)
    transition = meta.get_transition(application.state)
    unmet = [CONDITION_MESSAGES.get(c.__name__, c.__name__) for c in transition.conditions if not c(application)]
    if unmet:
        raise ConditionsNotMet(unmet)


def transition_precheck(*, application: Application, name: TransitionName, actor: Actor) -> None:
    """Raise the refusal a transition gets from the role or the state, judged on `application` as read.

    For a caller that has just read the application (the API's transition views): a refusal its read
    already shows — most often another transition has moved the state on — is answered without the
    service's transaction and row lock, so that under contention the losers cost a read, not a lock
    wait. Passing says nothing: the service checks everything again under the lock. Not for an
    instance read earlier, whose state may be behind.
    """
    _check_role_and_state(application, name, actor)


# The first key of the advisory lock a running transition holds on its application (the second is
# the application's id); no other code takes advisory locks in this namespace.
TRANSITION_LOCK_NAMESPACE = 1_310


def _claim_transition(application: Application | int) -> None:
    """Refuse at once while another transition of the same application is running.

    Two transitions of one application at once always conflict (the second was asked of a state that
    is about to change), so the second need not wait for the first's row lock to learn it: without
    this every loser queues behind the winner's transaction and then behind each other (a lock convoy;
    docs/performance.md, "Writers"). Other writers (a message, an assignment) take only the row lock,
    and a transition still waits for them. Held until the transaction ends.
    """
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time anyway
    pk: int = application if isinstance(application, int) else application.pk
    with connection.cursor() as cursor:
        # The id modulo 2^31: the two-key form takes integers; two ids 2^31 apart would share a key.
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s::integer, %s::integer)", [TRANSITION_LOCK_NAMESPACE, pk % 2**31]
        )
        (claimed,) = cursor.fetchone()
    if not claimed:
        raise Conflict("Someone else is changing this application right now; reload and try again.")


def _run(
    application: Application | int,
    *,
    name: TransitionName,
    actor: Actor,
    now: datetime | None,
    params: dict[str, Any],
    change: Callable[[Application], None],
    after: Callable[[Application, datetime], None] | None = None,
) -> Application:
    now = now_or(now)
    try:
        with transaction.atomic():
            _claim_transition(application)
            locked = lock(application, actor)
            _check(locked, name, actor, now)
            from_state = locked.state
            change(locked)
            locked.save()
            if after is not None:
                after(locked, now)
            log = record(locked, action=name, actor=actor, at=now, from_state=from_state, params=params)
            if writes_to_patient(name):
                answer_patient(locked, step=name, history=log, now=now)
            if locked.state in TERMINAL_STATES:
                close_obligations(locked, at=now)
            if from_state == State.QUOTED and locked.state != State.QUOTED:
                # Admitted or withdrawn: no quote or consent reminder applies any more.
                cancel_reminders(locked, at=now, reason=name)
    except (TransitionNotAllowed, ConcurrentTransition) as exc:
        raise Conflict("The application was changed by someone else; reload and try again.") from exc
    return locked


def available_transitions(
    application: Application, actor: Actor, *, now: datetime | None = None
) -> list[TransitionName]:
    """The transitions this actor may run now: permitted, from this state, with conditions met."""
    application.as_of = now_or(now)
    names = {t.name for t in application.get_available_user_state_transitions(actor)}  # type: ignore[attr-defined]
    return sorted(name for name in TRANSITION_NAMES if name in names)


def _user(actor: Actor) -> Any:
    return actor.user if actor.kind == "user" else None


def _required(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: ["This field is required."]})
    return value


def application_approve_review(
    *,
    application: Application | int,
    actor: Actor,
    review_notes: str,
    protocol: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> Application:
    notes = _required(review_notes, "review_notes")
    if protocol is not None:
        protocol = validate_protocol(protocol)
    return _run(
        application,
        name="approve_review",
        actor=actor,
        now=now,
        params={"review_notes": notes, "protocol": protocol},
        change=lambda app: app.approve_review(review_notes=notes, protocol=protocol, by=_user(actor)),
    )


def application_decline(
    *, application: Application | int, actor: Actor, reason: str, now: datetime | None = None
) -> Application:
    reason = _required(reason, "reason")
    return _run(
        application,
        name="decline",
        actor=actor,
        now=now,
        params={"reason": reason},
        change=lambda app: app.decline(reason=reason, by=_user(actor)),
    )


def _quote_terms(
    application: Application | int,
    items: list[dict[str, Any]],
    currency: str | None,
    valid_until: date | None,
    now: datetime,
) -> tuple[list[tuple[str, Decimal]], str | None, date | None]:
    errors: dict[str, list[str]] = {}
    lines: list[tuple[str, Decimal]] = []
    if not items:
        errors["items"] = ["A quote needs at least one line item."]
    for index, item in enumerate(items):
        description = str(item.get("description", "")).strip() if isinstance(item, dict) else ""
        try:
            # The columns' own limits, so that a bad amount is a field error and never a database error.
            amount = _AMOUNT.clean(item.get("amount")) if isinstance(item, dict) else None
        except ValidationError:
            amount = None
        if not description or len(description) > _DESCRIPTION_MAX or amount is None:
            errors.setdefault("items", []).append(
                f"Item {index + 1}: a description (at most {_DESCRIPTION_MAX} characters) and an amount above 0"
                " with at most two decimals."
            )
            continue
        lines.append((description, amount))
    if lines and sum(amount for _, amount in lines) > _TOTAL_LIMIT:
        errors.setdefault("items", []).append(f"The total cannot exceed {_TOTAL_LIMIT}.")
    if currency is not None and currency.upper() not in ISO_4217:
        errors["currency"] = ["A currency is a three-letter ISO 4217 code, e.g. EUR or INR."]
    # `valid_until` in the past is checked against the office's date, once the office is known (_create_quote).
    if errors:
        raise ValidationError(errors)
    return lines, currency.upper() if currency else None, valid_until


def _create_quote(
    app: Application,
    *,
    lines: list[tuple[str, Decimal]],
    currency: str | None,
    valid_until: date | None,
    notes: str,
    actor: Actor,
    now: datetime,
) -> Quote:
    today = timezone.localdate(now, app.office.tz)
    if valid_until is not None and valid_until < today:
        raise ValidationError({"valid_until": ["The quote cannot expire in the past."]})
    if valid_until is not None and valid_until > today + HORIZON:
        raise ValidationError({"valid_until": ["A quote cannot be valid for more than a year."]})
    quote = Quote.objects.create(
        application=app,
        currency=currency or app.office.currency,
        total=sum((amount for _, amount in lines), Decimal("0")),
        valid_until=valid_until or today + timedelta(days=QUOTE_VALIDITY_DAYS),
        notes=notes,
        created_at=now,
        created_by=_user(actor),
    )
    QuoteItem.objects.bulk_create(
        QuoteItem(quote=quote, description=description, amount=amount, position=position)
        for position, (description, amount) in enumerate(lines)
    )
    return quote


def _run_quote(
    application: Application | int,
    *,
    name: Literal["send_quote", "revise_quote"],
    actor: Actor,
    items: list[dict[str, Any]],
    currency: str | None,
    valid_until: date | None,
    notes: str,
    now: datetime | None,
) -> Application:
    moment = now_or(now)
    lines, code, until = _quote_terms(application, items, currency, valid_until, moment)

    def change(app: Application) -> None:
        if name == "send_quote":
            app.send_quote()
        else:
            app.revise_quote()

    def after(app: Application, at: datetime) -> None:
        # Revising supersedes the live quote, and its expiry reminder, before the new one becomes live.
        app.quotes.filter(superseded_at__isnull=True).update(superseded_at=at)
        cancel_reminders(app, at=at, reason="quote superseded", kind=Reminder.Kind.QUOTE_EXPIRING)
        quote = _create_quote(app, lines=lines, currency=code, valid_until=until, notes=notes, actor=actor, now=at)
        plan_quote_expiry(app, quote, now=at)

    params = {
        "items": [{"description": d, "amount": str(a)} for d, a in lines],
        "currency": code,
        "valid_until": until.isoformat() if until else None,
        "notes": notes,
    }
    return _run(application, name=name, actor=actor, now=moment, params=params, change=change, after=after)


def application_send_quote(
    *,
    application: Application | int,
    actor: Actor,
    items: list[dict[str, Any]],
    currency: str | None = None,
    valid_until: date | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Application:
    """medically_reviewed → quoted: the first quote, emailed to the patient."""
    return _run_quote(
        application,
        name="send_quote",
        actor=actor,
        items=items,
        currency=currency,
        valid_until=valid_until,
        notes=notes,
        now=now,
    )


def application_revise_quote(
    *,
    application: Application | int,
    actor: Actor,
    items: list[dict[str, Any]],
    currency: str | None = None,
    valid_until: date | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Application:
    """quoted → quoted: a new quote that supersedes the live one, emailed to the patient."""
    return _run_quote(
        application,
        name="revise_quote",
        actor=actor,
        items=items,
        currency=currency,
        valid_until=valid_until,
        notes=notes,
        now=now,
    )


def application_admit(*, application: Application | int, actor: Actor, now: datetime | None = None) -> Application:
    def after(app: Application, at: datetime) -> None:
        assert app.admission_date is not None  # noqa: S101 - the admit condition guarantees it
        TreatmentDay.objects.bulk_create(
            TreatmentDay(
                application=app,
                day=entry["day"],
                date=app.admission_date + timedelta(days=entry["day"] - 1),
                activities=entry["activities"],
            )
            for entry in app.protocol
        )

    moment = now_or(now)
    return _run(
        application,
        name="admit",
        actor=actor,
        now=moment,
        params={},
        change=lambda app: app.admit(at=moment),
        after=after,
    )


def application_discharge(
    *,
    application: Application | int,
    actor: Actor,
    discharge_date: date,
    summary: str,
    now: datetime | None = None,
) -> Application:
    summary = _required(summary, "summary")
    moment = now_or(now)

    def change(app: Application) -> None:
        today = timezone.localdate(moment, app.office.tz)
        if discharge_date > today:
            raise ValidationError({"discharge_date": ["The discharge date cannot be in the future."]})
        if app.admission_date and discharge_date < app.admission_date:
            raise ValidationError({"discharge_date": ["The discharge date cannot be before the admission date."]})
        app.discharge(discharge_date=discharge_date, summary=summary)
        # The checks, the five reviews and the automatic start (SPEC §5), before the summary email lists them.
        plan_aftercare(app, now=moment)

    return _run(
        application,
        name="discharge",
        actor=actor,
        now=moment,
        params={"discharge_date": discharge_date.isoformat(), "summary": summary},
        change=change,
    )


def application_start_follow_up(
    *, application: Application | int, actor: Actor, now: datetime | None = None
) -> Application:
    return _run(
        application, name="start_follow_up", actor=actor, now=now, params={}, change=lambda a: a.start_follow_up()
    )


def application_complete(*, application: Application | int, actor: Actor, now: datetime | None = None) -> Application:
    moment = now_or(now)
    return _run(
        application, name="complete", actor=actor, now=moment, params={}, change=lambda a: a.complete(at=moment)
    )


def application_withdraw(
    *, application: Application | int, actor: Actor, reason: str, now: datetime | None = None
) -> Application:
    reason = _required(reason, "reason")
    return _run(
        application,
        name="withdraw",
        actor=actor,
        now=now,
        params={"reason": reason},
        change=lambda app: app.withdraw(reason=reason),
    )
