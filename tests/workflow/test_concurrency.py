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
from django.db import connection, transaction

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


def hold_until(monkeypatch: pytest.MonkeyPatch, module: Any, release: threading.Event, name: str = "record") -> None:
    """The winner stops inside its transaction (its row lock held) until `release` is set."""
    original = getattr(module, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=20)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, held)


def wait_until_locked(app: Application) -> None:
    """Until another transaction holds the application's row lock."""
    deadline = time.monotonic() + 10
    while True:
        with transaction.atomic():
            if not Application.objects.filter(pk=app.pk).select_for_update(skip_locked=True).exists():
                return
        assert time.monotonic() < deadline, "nobody took the row lock"
        time.sleep(0.01)


def test_a_transition_asked_while_another_runs_is_refused_without_waiting_for_it(
    monkeypatch: pytest.MonkeyPatch, delhi_physician: User
) -> None:
    app = submit(now=NOW)
    colleague = Actor.staff(make_staff("dr_kapoor", {"delhi": Membership.Role.PHYSICIAN}))
    release = threading.Event()
    hold_until(monkeypatch, transitions, release)
    winner: list[Any] = []

    def first() -> None:
        try:
            winner.append(
                services.application_approve_review(
                    application=app.pk, actor=Actor.staff(delhi_physician), review_notes="Eligible"
                )
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        # The first stops in `record`, after its locks.
        wait_until_locked(app)
        # The second is answered while the first still holds its transaction open: no queue behind it.
        with pytest.raises(Conflict, match="right now"):
            services.application_decline(application=app.pk, actor=colleague, reason="Not eligible")
        assert not release.is_set() and thread.is_alive()
    finally:
        release.set()
        thread.join(timeout=30)
    assert copy(app).state == "medically_reviewed"
    assert [log.action for log in TransitionLog.objects.filter(application=app).order_by("id")] == [
        "submit",
        "approve_review",
    ]


def test_a_transition_waits_for_a_message_being_posted_rather_than_refusing(
    monkeypatch: pytest.MonkeyPatch, delhi_physician: User, delhi_coordinator: User
) -> None:
    app = submit(now=NOW)
    release = threading.Event()
    hold_until(monkeypatch, actions, release)

    def post_note() -> None:
        try:
            services.message_post(application=app.pk, actor=Actor.staff(delhi_coordinator), kind="note", body="Hi")
        finally:
            connection.close()

    posting = threading.Thread(target=post_note)
    posting.start()
    wait_until_locked(app)
    threading.Timer(0.3, release.set).start()

    # Only transitions refuse each other at once; any other writer is waited for, as before.
    approved = services.application_approve_review(
        application=app.pk, actor=Actor.staff(delhi_physician), review_notes="Eligible"
    )
    posting.join(timeout=30)

    assert approved.state == "medically_reviewed"
    assert app.messages.count() == 1


def test_a_refusal_the_fresh_read_already_shows_takes_no_row_lock(delhi_physician: User) -> None:
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    app = advance(submit(now=NOW), "medically_reviewed", now=NOW)
    client = APIClient()
    client.force_authenticate(delhi_physician)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/v1/applications/{app.reference}/transitions/approve_review/", {"review_notes": "Again"}
        )

    assert response.status_code == 409
    assert not [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] or "advisory" in q["sql"]]


def test_fifty_concurrent_transitions_through_http_give_one_success_and_forty_nine_conflicts(
    threaded_server: str, delhi_physician: User
) -> None:
    import requests

    from security.tokens import token_issue

    app = submit(now=NOW)
    token = token_issue(user=delhi_physician)
    url = f"{threaded_server}/api/v1/applications/{app.reference}/transitions/approve_review/"
    racers = 50
    barrier = threading.Barrier(racers)
    answers: list[Any] = [None] * racers

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=20)
            response = requests.post(
                url,
                json={"review_notes": f"Eligible ({index})"},
                headers={"Authorization": f"Token {token}"},
                timeout=60,
            )
            answers[index] = (response.status_code, response.json()["code"] if response.status_code != 200 else "")
        except Exception as exc:  # the outcome is what the test inspects
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert all(isinstance(answer, tuple) for answer in answers), answers
    assert sorted(status for status, _ in answers) == [200] + [409] * (racers - 1)
    assert {code for status, code in answers if status == 409} == {"conflict"}
    assert TransitionLog.objects.filter(application=app, action="approve_review").count() == 1
