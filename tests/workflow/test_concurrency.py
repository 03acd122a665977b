"""Two people acting on one application at once (SPEC §3, §11): exactly one wins, the other gets a
conflict, and nothing is half-applied. Real threads with their own PostgreSQL connections.

Each winner is slowed down inside its transaction (after its write, before its commit), so the loser
really arrives while the row is locked rather than after the winner is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from offices.models import Membership
from tests.conftest import make_staff
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, TransitionLog
from workflow.services import actions, intake, transitions

NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)
HOLD = 0.3  # seconds the winner keeps its transaction open

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def slow_down(monkeypatch: pytest.MonkeyPatch, module: Any, name: str = "record") -> None:
    original = getattr(module, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(HOLD)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each outcome is a result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as exc:  # the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck"
    return outcomes


def one_winner(outcomes: list[Any]) -> Any:
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(loser, Conflict) for loser in losers), losers
    return winners[0]


def copy(app: Application) -> Application:
    """Each racer reads the application on its own, as two browser sessions would."""
    return Application.objects.get(pk=app.pk)


def test_two_physicians_approving_the_same_review_one_wins_the_other_gets_a_conflict(
    monkeypatch: pytest.MonkeyPatch, delhi_physician: User
) -> None:
    app = submit(now=NOW)
    colleague = make_staff("dr_kapoor", {"delhi": Membership.Role.PHYSICIAN})
    a, b = copy(app), copy(app)
    slow_down(monkeypatch, transitions)

    outcomes = race(
        lambda: services.application_approve_review(
            application=a, actor=Actor.staff(delhi_physician), review_notes="Eligible (rao)"
        ),
        lambda: services.application_approve_review(
            application=b, actor=Actor.staff(colleague), review_notes="Eligible (kapoor)"
        ),
    )

    winner = one_winner(outcomes)
    fresh = copy(app)
    assert (fresh.state, fresh.review_notes) == ("medically_reviewed", winner.review_notes)
    assert TransitionLog.objects.filter(application=app, action="approve_review").count() == 1
    assert TransitionLog.objects.filter(application=app).count() == 2  # submit + the winner


def test_approve_and_decline_at_once_leave_exactly_one_decision(
    monkeypatch: pytest.MonkeyPatch, delhi_physician: User
) -> None:
    app = submit(now=NOW)
    colleague = make_staff("dr_kapoor", {"delhi": Membership.Role.PHYSICIAN})
    a, b = copy(app), copy(app)
    slow_down(monkeypatch, transitions)

    outcomes = race(
        lambda: services.application_approve_review(
            application=a, actor=Actor.staff(delhi_physician), review_notes="Eligible"
        ),
        lambda: services.application_decline(application=b, actor=Actor.staff(colleague), reason="Not eligible"),
    )

    winner = one_winner(outcomes)
    fresh = copy(app)
    assert fresh.state == winner.state
    decisions = list(
        TransitionLog.objects.filter(application=app, action__in=["approve_review", "decline"]).values_list(
            "action", "to_state"
        )
    )
    assert len(decisions) == 1
    assert decisions[0][1] == fresh.state
    # The loser wrote nothing: a declined application keeps no review notes, an approved one no reason.
    assert not (fresh.review_notes and fresh.decline_reason)
    # Either decision emails the patient, and so answers the promise, once.
    assert fresh.obligations.get().satisfied_by_action == ("decline" if fresh.state == "declined" else "approve_review")


def test_two_coordinators_transferring_the_same_case_one_wins_the_other_gets_a_conflict(
    monkeypatch: pytest.MonkeyPatch, delhi_coordinator: User
) -> None:
    app = submit(now=NOW)
    first = Actor.staff(delhi_coordinator)
    second = Actor.staff(make_staff("vikram", {"delhi": Membership.Role.COORDINATOR}))
    a, b = copy(app), copy(app)
    slow_down(monkeypatch, actions)

    outcomes = race(
        lambda: services.application_transfer(application=a, actor=first, office_code="europe"),
        lambda: services.application_transfer(application=b, actor=second, office_code="europe"),
    )

    one_winner(outcomes)
    assert copy(app).office.code == "europe"
    assert TransitionLog.objects.filter(application=app, action="transfer").count() == 1


def test_two_coordinators_sending_a_quote_at_once_leave_one_live_quote(
    monkeypatch: pytest.MonkeyPatch, delhi_coordinator: User, delhi_manager: User
) -> None:
    app = advance(submit(now=NOW), "medically_reviewed", now=NOW)
    a, b = copy(app), copy(app)
    slow_down(monkeypatch, transitions)
    items = [{"description": "Protocol", "amount": "4500"}]

    outcomes = race(
        lambda: services.application_send_quote(application=a, actor=Actor.staff(delhi_coordinator), items=items),
        lambda: services.application_send_quote(application=b, actor=Actor.staff(delhi_manager), items=items),
    )

    one_winner(outcomes)
    assert app.quotes.count() == 1
    assert TransitionLog.objects.filter(application=app, action="send_quote").count() == 1


def test_a_quote_accepted_twice_at_once_is_accepted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    app = advance(submit(now=NOW), "quoted", now=NOW)
    slow_down(monkeypatch, actions)

    outcomes = race(
        lambda: services.quote_accept(application=app.pk, actor=Actor.patient(), now=NOW),
        lambda: services.quote_accept(application=app.pk, actor=Actor.patient(), now=NOW),
    )

    accepted = one_winner(outcomes)
    assert app.quotes.get().accepted_at == accepted.accepted_at
    assert TransitionLog.objects.filter(application=app, action="accept_quote").count() == 1


@pytest.mark.parametrize("earlier", [0, 3], ids=["first-of-the-year", "sequence-exists"])
def test_concurrent_intakes_for_one_office_get_distinct_consecutive_references(
    earlier: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(earlier):
        submit(now=NOW)
    slow_down(monkeypatch, intake)
    racers = 4

    outcomes = race(*[lambda: submit(now=NOW) for _ in range(racers)])

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    references = sorted(o.reference for o in outcomes)
    assert references == [f"DEL-2026-{n:05d}" for n in range(earlier + 1, earlier + racers + 1)]
    assert Application.objects.count() == earlier + racers
