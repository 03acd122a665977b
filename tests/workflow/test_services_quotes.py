"""Quotes (SPEC §5): one live quote, totals from its items, office defaults, and the patient's acceptance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, Quote

# Wed 11 Mar 2026, 11:00 in Delhi, 06:30 in Berlin.
NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def coordinator(delhi_coordinator: User) -> Actor:
    return Actor.staff(delhi_coordinator)


@pytest.fixture
def reviewed() -> Application:
    return advance(submit(), "medically_reviewed")


def send(app: Application, actor: Actor, **terms: Any) -> Quote:
    terms.setdefault("items", [{"description": "Protocol", "amount": "4500"}])
    services.application_send_quote(application=app, actor=actor, **terms)
    return app.quotes.get(superseded_at__isnull=True)


def test_the_total_is_the_sum_of_the_items(reviewed: Application, coordinator: Actor) -> None:
    quote = send(
        reviewed,
        coordinator,
        items=[
            {"description": "Seven-day protocol", "amount": "3999.99"},
            {"description": "Investigations", "amount": Decimal("250.01")},
            {"description": "Room", "amount": 750},
        ],
    )

    assert quote.total == Decimal("5000.00")
    assert quote.compute_total() == quote.total
    assert list(quote.items.values_list("position", flat=True)) == [0, 1, 2]


def test_revising_supersedes_the_old_quote_and_leaves_exactly_one_live(
    reviewed: Application, coordinator: Actor, time_machine: Any
) -> None:
    first = send(reviewed, coordinator)
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)

    services.application_revise_quote(
        application=reviewed,
        actor=coordinator,
        items=[{"description": "Protocol", "amount": "4200"}, {"description": "Airport pickup", "amount": "80.50"}],
        notes="Discount agreed by phone",
    )

    first.refresh_from_db()
    assert first.superseded_at == NOW + timedelta(hours=2)
    live = reviewed.quotes.get(superseded_at__isnull=True)
    assert live.pk != first.pk
    assert (live.total, live.notes) == (Decimal("4280.50"), "Discount agreed by phone")
    assert [(i.description, i.amount) for i in live.items.all()] == [
        ("Protocol", Decimal("4200.00")),
        ("Airport pickup", Decimal("80.50")),
    ]
    assert reviewed.quotes.count() == 2
    # The superseded quote keeps its own items.
    assert [i.amount for i in first.items.all()] == [Decimal("4500.00")]


def test_each_revision_supersedes_only_the_live_quote(reviewed: Application, coordinator: Actor) -> None:
    send(reviewed, coordinator)
    for amount in ("4400", "4300", "4200"):
        services.application_revise_quote(
            application=reviewed, actor=coordinator, items=[{"description": "Protocol", "amount": amount}]
        )

    assert reviewed.quotes.count() == 4
    assert reviewed.quotes.filter(superseded_at__isnull=True).get().total == Decimal("4200")


def test_a_quote_is_valid_for_30_days_from_today_in_delhi(coordinator: Actor, time_machine: Any) -> None:
    app = advance(submit(), "medically_reviewed")
    # 01:30 on 12 Mar in Delhi, still 11 Mar in UTC.
    time_machine.move_to(datetime(2026, 3, 11, 20, 0, tzinfo=UTC), tick=False)

    quote = send(app, coordinator)

    assert quote.valid_until == date(2026, 4, 11)
    assert quote.currency == "INR"


def test_a_quote_is_valid_for_30_days_from_today_in_berlin(europe_coordinator: User, time_machine: Any) -> None:
    app = advance(submit(country="DE"), "medically_reviewed")
    assert app.office.code == "europe"
    # 00:30 on 12 Mar in Berlin, still 11 Mar in UTC.
    time_machine.move_to(datetime(2026, 3, 11, 23, 30, tzinfo=UTC), tick=False)

    quote = send(app, Actor.staff(europe_coordinator))

    assert quote.valid_until == date(2026, 4, 11)
    assert quote.currency == "EUR"


def test_explicit_currency_and_validity_are_kept(reviewed: Application, coordinator: Actor) -> None:
    quote = send(reviewed, coordinator, currency="usd", valid_until=date(2026, 3, 20))

    assert (quote.currency, quote.valid_until) == ("USD", date(2026, 3, 20))


def test_the_patient_accepts_the_live_quote(reviewed: Application, coordinator: Actor, time_machine: Any) -> None:
    quote = send(reviewed, coordinator)
    time_machine.move_to(NOW + timedelta(days=2), tick=False)

    services.quote_accept(application=reviewed, actor=Actor.patient())

    quote.refresh_from_db()
    assert quote.accepted_at == NOW + timedelta(days=2)
    log = reviewed.history.get(action="accept_quote")
    assert (log.actor_kind, log.actor, log.params) == ("patient", None, {"quote": quote.pk, "total": "4500.00"})


def test_staff_record_an_acceptance_received_by_phone(reviewed: Application, coordinator: Actor) -> None:
    send(reviewed, coordinator)

    services.quote_accept(application=reviewed, actor=coordinator)

    assert reviewed.history.get(action="accept_quote").actor == coordinator.user


def test_a_physician_may_not_record_a_quote_acceptance(
    reviewed: Application, coordinator: Actor, delhi_physician: User
) -> None:
    quote = send(reviewed, coordinator)

    with pytest.raises(NotAllowed):
        services.quote_accept(application=reviewed, actor=Actor.staff(delhi_physician))

    quote.refresh_from_db()
    assert quote.accepted_at is None


def test_staff_of_the_other_office_cannot_record_an_acceptance(
    reviewed: Application, coordinator: Actor, europe_coordinator: User
) -> None:
    send(reviewed, coordinator)

    with pytest.raises(Application.DoesNotExist):
        services.quote_accept(application=reviewed, actor=Actor.staff(europe_coordinator))


def test_a_quote_may_be_accepted_on_its_last_valid_day(
    reviewed: Application, coordinator: Actor, time_machine: Any
) -> None:
    send(reviewed, coordinator, valid_until=date(2026, 3, 20))
    time_machine.move_to(datetime(2026, 3, 20, 18, 0, tzinfo=UTC), tick=False)  # 23:30 on 20 Mar in Delhi

    quote = services.quote_accept(application=reviewed, actor=Actor.patient())

    assert quote.accepted_at is not None


def test_accepting_an_expired_quote_is_a_conflict(reviewed: Application, coordinator: Actor, time_machine: Any) -> None:
    quote = send(reviewed, coordinator, valid_until=date(2026, 3, 20))
    time_machine.move_to(datetime(2026, 3, 20, 19, 0, tzinfo=UTC), tick=False)  # 00:30 on 21 Mar in Delhi
    history = reviewed.history.count()

    with pytest.raises(Conflict, match="expired"):
        services.quote_accept(application=reviewed, actor=Actor.patient())

    quote.refresh_from_db()
    assert quote.accepted_at is None
    assert reviewed.history.count() == history


def test_accepting_a_quote_twice_is_a_conflict(reviewed: Application, coordinator: Actor) -> None:
    send(reviewed, coordinator)
    services.quote_accept(application=reviewed, actor=Actor.patient())
    history = reviewed.history.count()

    with pytest.raises(Conflict, match="already"):
        services.quote_accept(application=reviewed, actor=Actor.patient())

    assert reviewed.history.count() == history


def test_accepting_when_no_quote_was_sent_is_a_conflict(reviewed: Application) -> None:
    with pytest.raises(Conflict):
        services.quote_accept(application=reviewed, actor=Actor.patient())


def test_a_superseded_quote_is_never_the_one_accepted(reviewed: Application, coordinator: Actor) -> None:
    first = send(reviewed, coordinator)
    services.application_revise_quote(
        application=reviewed, actor=coordinator, items=[{"description": "Protocol", "amount": "4100"}]
    )

    accepted = services.quote_accept(application=reviewed, actor=Actor.patient())

    first.refresh_from_db()
    assert accepted.total == Decimal("4100")
    assert first.accepted_at is None
