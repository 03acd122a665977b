"""Each transition service of SPEC §3: allowed, wrong state, wrong role, other office, bad input.

Every refusal must leave the application exactly as it was: same state, no history row, no
quote, no treatment day, the same reply obligations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, TransitionLog
from workflow.models.application import default_protocol

# Wed 11 Mar 2026, 11:00 in Delhi: a working day in both offices.
NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)
TODAY = date(2026, 3, 11)
ITEMS = [{"description": "Seven-day protocol", "amount": "4000.00"}, {"description": "Stay", "amount": "500"}]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def staff(user: User) -> Actor:
    return Actor.staff(user)


def snapshot(app: Application) -> dict[str, Any]:
    fresh = Application.objects.get(pk=app.pk)
    return {
        "state": fresh.state,
        "office": fresh.office_id,
        "history": list(fresh.history.values_list("pk", flat=True)),
        "quotes": list(fresh.quotes.values_list("pk", "superseded_at", "accepted_at")),
        "treatment_days": fresh.treatment_days.count(),
        "obligations": list(fresh.obligations.values_list("pk", "satisfied_at", "closed_at")),
        "reply_due_at": fresh.reply_due_at,
        "fields": (
            fresh.review_notes,
            fresh.protocol,
            fresh.reviewed_by_id,
            fresh.decline_reason,
            fresh.withdraw_reason,
            fresh.admitted_at,
            fresh.discharge_date,
            fresh.discharge_summary,
            fresh.closed_at,
        ),
    }


def last_log(app: Application) -> TransitionLog:
    return TransitionLog.objects.filter(application=app).order_by("-id")[0]


def in_state(state: str, **submit_args: Any) -> Application:
    return advance(submit(**submit_args), state)


# ---------------------------------------------------------------- approve_review


def test_a_physician_approves_a_received_application_with_the_default_protocol(delhi_physician: User) -> None:
    app = submit()

    result = services.application_approve_review(
        application=app, actor=staff(delhi_physician), review_notes="Eligible: active SLE"
    )

    fresh = Application.objects.get(pk=app.pk)
    assert result.state == fresh.state == "medically_reviewed"
    assert fresh.review_notes == "Eligible: active SLE"
    assert fresh.reviewed_by == delhi_physician
    assert fresh.protocol == default_protocol()
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state) == ("approve_review", "received", "medically_reviewed")
    assert (log.actor_kind, log.actor, log.at) == ("user", delhi_physician, NOW)
    assert log.params == {"review_notes": "Eligible: active SLE", "protocol": None}


def test_a_physician_may_approve_with_a_protocol_of_their_own(delhi_physician: User) -> None:
    protocol = [{"day": 1, "activities": ["admission", "IV injection"]}, {"day": 2, "activities": ["discharge"]}]

    services.application_approve_review(
        application=submit(), actor=staff(delhi_physician), review_notes="Shorter stay", protocol=protocol
    )

    fresh = Application.objects.get()
    assert fresh.protocol == protocol
    assert last_log(fresh).params["protocol"] == protocol


def test_approving_a_review_twice_is_a_conflict(delhi_physician: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_approve_review(application=app, actor=staff(delhi_physician), review_notes="Again")

    assert snapshot(app) == before


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_only_a_physician_may_approve_a_review(persona: str, request: pytest.FixtureRequest) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_approve_review(
            application=app, actor=staff(request.getfixturevalue(persona)), review_notes="Looks fine"
        )

    assert snapshot(app) == before


@pytest.mark.parametrize("actor", [Actor.patient(), Actor.system()], ids=["patient", "system"])
def test_neither_the_patient_nor_the_system_may_approve_a_review(actor: Actor) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_approve_review(application=app, actor=actor, review_notes="Looks fine")

    assert snapshot(app) == before


def test_a_physician_of_the_other_office_cannot_even_find_the_application(europe_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_approve_review(application=app, actor=staff(europe_physician), review_notes="Fine")

    assert snapshot(app) == before


def test_an_outsider_cannot_even_find_the_application(outsider: User) -> None:
    app = submit()

    with pytest.raises(Application.DoesNotExist):
        services.application_approve_review(application=app.pk, actor=staff(outsider), review_notes="Fine")

    assert Application.objects.get(pk=app.pk).state == "received"


@pytest.mark.parametrize("notes", ["", "   "])
def test_approve_review_needs_review_notes(notes: str, delhi_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_approve_review(application=app, actor=staff(delhi_physician), review_notes=notes)

    assert "review_notes" in error.value.message_dict
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "protocol",
    [
        [],
        [{"day": 2, "activities": ["rest"]}],
        [{"day": 1, "activities": []}],
        [{"day": 1, "activities": ["IV"]}, {"day": 3, "activities": ["rest"]}],
        ["day one"],
    ],
    ids=["empty", "not-from-day-1", "no-activities", "gap", "not-a-dict"],
)
def test_approve_review_refuses_a_malformed_protocol(protocol: list[Any], delhi_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_approve_review(
            application=app, actor=staff(delhi_physician), review_notes="Fine", protocol=protocol
        )

    assert "protocol" in error.value.message_dict
    assert snapshot(app) == before


# ---------------------------------------------------------------- decline


def test_a_physician_declines_a_received_application_with_a_reason(delhi_physician: User) -> None:
    app = submit()

    services.application_decline(application=app, actor=staff(delhi_physician), reason="Not eligible: pregnancy")

    fresh = Application.objects.get(pk=app.pk)
    assert fresh.state == "declined"
    assert fresh.decline_reason == "Not eligible: pregnancy"
    assert fresh.reviewed_by == delhi_physician
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state) == ("decline", "received", "declined")
    assert (log.actor_kind, log.actor) == ("user", delhi_physician)
    assert log.params == {"reason": "Not eligible: pregnancy"}


def test_declining_a_reviewed_application_is_a_conflict(delhi_physician: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_decline(application=app, actor=staff(delhi_physician), reason="Changed my mind")

    assert snapshot(app) == before


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_only_a_physician_may_decline(persona: str, request: pytest.FixtureRequest) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_decline(application=app, actor=staff(request.getfixturevalue(persona)), reason="No")

    assert snapshot(app) == before


def test_the_patient_may_not_decline_their_own_application() -> None:
    app = submit()

    with pytest.raises(NotAllowed):
        services.application_decline(application=app, actor=Actor.patient(), reason="No")


def test_a_physician_of_the_other_office_cannot_decline(europe_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_decline(application=app, actor=staff(europe_physician), reason="No")

    assert snapshot(app) == before


def test_decline_needs_a_reason(delhi_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_decline(application=app, actor=staff(delhi_physician), reason=" ")

    assert "reason" in error.value.message_dict
    assert snapshot(app) == before


# ---------------------------------------------------------------- send_quote


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_office_staff_send_a_quote_after_the_review(persona: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(persona)
    app = in_state("medically_reviewed")

    services.application_send_quote(application=app, actor=staff(user), items=ITEMS, notes="Flights not included")

    fresh = Application.objects.get(pk=app.pk)
    assert fresh.state == "quoted"
    quote = fresh.quotes.get()
    assert (quote.total, quote.currency, quote.notes, quote.created_by) == (4500, "INR", "Flights not included", user)
    assert [(i.description, i.amount, i.position) for i in quote.items.all()] == [
        ("Seven-day protocol", 4000, 0),
        ("Stay", 500, 1),
    ]
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor) == ("send_quote", "medically_reviewed", "quoted", user)
    assert log.params == {
        "items": [{"description": "Seven-day protocol", "amount": "4000.00"}, {"description": "Stay", "amount": "500"}],
        "currency": None,
        "valid_until": None,
        "notes": "Flights not included",
    }


def test_sending_a_quote_before_the_medical_review_is_a_conflict(delhi_coordinator: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_send_quote(application=app, actor=staff(delhi_coordinator), items=ITEMS)

    assert snapshot(app) == before


def test_sending_a_second_quote_is_a_conflict_revise_it_instead(delhi_coordinator: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_send_quote(application=app, actor=staff(delhi_coordinator), items=ITEMS)

    assert snapshot(app) == before


def test_a_physician_may_not_send_a_quote(delhi_physician: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_send_quote(application=app, actor=staff(delhi_physician), items=ITEMS)

    assert snapshot(app) == before


@pytest.mark.parametrize("actor", [Actor.patient(), Actor.system()], ids=["patient", "system"])
def test_neither_the_patient_nor_the_system_may_send_a_quote(actor: Actor) -> None:
    app = in_state("medically_reviewed")

    with pytest.raises(NotAllowed):
        services.application_send_quote(application=app, actor=actor, items=ITEMS)

    assert not app.quotes.exists()


def test_a_coordinator_of_the_other_office_cannot_send_a_quote(europe_coordinator: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_send_quote(application=app, actor=staff(europe_coordinator), items=ITEMS)

    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"description": "Protocol", "amount": "0"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "-10"}]}, "items"),
        ({"items": [{"description": "", "amount": "10"}]}, "items"),
        ({"items": [{"description": "Protocol"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "ten"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "NaN"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "Infinity"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "1e30"}]}, "items"),
        ({"items": [{"description": "Protocol", "amount": "10.005"}]}, "items"),
        ({"items": [{"description": "x" * 201, "amount": "10"}]}, "items"),
        ({"items": ["Protocol 4500"]}, "items"),
        ({"items": ITEMS, "currency": "EURO"}, "currency"),
        ({"items": ITEMS, "currency": "E1R"}, "currency"),
        ({"items": ITEMS, "valid_until": TODAY - timedelta(days=1)}, "valid_until"),
    ],
    ids=[
        "no-items",
        "zero-amount",
        "negative-amount",
        "no-description",
        "no-amount",
        "amount-not-a-number",
        "amount-nan",
        "amount-infinite",
        "amount-too-large",
        "amount-sub-cent",
        "description-too-long",
        "item-not-an-object",
        "currency-four-letters",
        "currency-with-digit",
        "expired",
    ],
)
def test_send_quote_refuses_bad_terms_naming_the_field(
    terms: dict[str, Any], field: str, delhi_coordinator: User
) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_send_quote(application=app, actor=staff(delhi_coordinator), **terms)

    assert field in error.value.message_dict
    assert snapshot(app) == before


def test_a_quote_valid_until_today_in_delhi_is_not_in_the_past_even_when_utc_is_still_yesterday(
    delhi_coordinator: User, time_machine: Any
) -> None:
    app = in_state("medically_reviewed")
    time_machine.move_to(datetime(2026, 3, 11, 19, 0, tzinfo=UTC), tick=False)  # 00:30 on 12 Mar in Delhi

    services.application_send_quote(
        application=app, actor=staff(delhi_coordinator), items=ITEMS, valid_until=date(2026, 3, 12)
    )

    assert app.quotes.get().valid_until == date(2026, 3, 12)


def test_a_quote_that_expired_yesterday_in_delhi_is_refused_even_when_it_is_still_that_day_in_utc(
    delhi_coordinator: User, time_machine: Any
) -> None:
    app = in_state("medically_reviewed")
    time_machine.move_to(datetime(2026, 3, 11, 19, 0, tzinfo=UTC), tick=False)  # 00:30 on 12 Mar in Delhi
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_send_quote(
            application=app, actor=staff(delhi_coordinator), items=ITEMS, valid_until=date(2026, 3, 11)
        )

    assert "valid_until" in error.value.message_dict
    assert snapshot(app) == before


# ---------------------------------------------------------------- revise_quote


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_office_staff_revise_a_quote(persona: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(persona)
    app = in_state("quoted")

    services.application_revise_quote(
        application=app, actor=staff(user), items=[{"description": "Protocol", "amount": "3900"}], currency="usd"
    )

    fresh = Application.objects.get(pk=app.pk)
    assert fresh.state == "quoted"
    live = fresh.quotes.get(superseded_at__isnull=True)
    assert (live.total, live.currency) == (3900, "USD")
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor) == ("revise_quote", "quoted", "quoted", user)
    assert log.params["currency"] == "USD"
    assert log.params["items"] == [{"description": "Protocol", "amount": "3900"}]


def test_revising_a_quote_that_was_never_sent_is_a_conflict(delhi_coordinator: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_revise_quote(application=app, actor=staff(delhi_coordinator), items=ITEMS)

    assert snapshot(app) == before


def test_a_physician_may_not_revise_a_quote(delhi_physician: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_revise_quote(application=app, actor=staff(delhi_physician), items=ITEMS)

    assert snapshot(app) == before


def test_a_coordinator_of_the_other_office_cannot_revise_a_quote(europe_coordinator: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_revise_quote(application=app, actor=staff(europe_coordinator), items=ITEMS)

    assert snapshot(app) == before


def test_revise_quote_refuses_bad_terms_and_keeps_the_old_quote_live(delhi_coordinator: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_revise_quote(
            application=app, actor=staff(delhi_coordinator), items=[{"description": "Protocol", "amount": "0"}]
        )

    assert "items" in error.value.message_dict
    assert snapshot(app) == before
    assert app.quotes.filter(superseded_at__isnull=True).count() == 1


# ---------------------------------------------------------------- admit (the conditions: test_services_admit.py)


def test_admitting_an_application_without_a_quote_is_a_conflict(delhi_coordinator: User) -> None:
    app = in_state("medically_reviewed")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_admit(application=app, actor=staff(delhi_coordinator))

    assert snapshot(app) == before


def test_a_physician_may_not_admit(delhi_physician: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_admit(application=app, actor=staff(delhi_physician))

    assert snapshot(app) == before


@pytest.mark.parametrize("actor", [Actor.patient(), Actor.system()], ids=["patient", "system"])
def test_neither_the_patient_nor_the_system_may_admit(actor: Actor) -> None:
    app = in_state("quoted")

    with pytest.raises(NotAllowed):
        services.application_admit(application=app, actor=actor)


def test_a_coordinator_of_the_other_office_cannot_admit(europe_coordinator: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_admit(application=app, actor=staff(europe_coordinator))

    assert snapshot(app) == before


# ---------------------------------------------------------------- discharge


@pytest.mark.parametrize("persona", ["delhi_physician", "delhi_coordinator", "delhi_manager"])
def test_a_physician_coordinator_or_manager_discharges_an_admitted_patient(
    persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    app = in_state("admitted")

    services.application_discharge(application=app, actor=staff(user), discharge_date=TODAY, summary="Tolerated well")

    fresh = Application.objects.get(pk=app.pk)
    assert (fresh.state, fresh.discharge_date, fresh.discharge_summary) == ("discharged", TODAY, "Tolerated well")
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor) == ("discharge", "admitted", "discharged", user)
    assert log.params == {"discharge_date": "2026-03-11", "summary": "Tolerated well"}


def test_discharging_a_patient_who_was_never_admitted_is_a_conflict(delhi_physician: User) -> None:
    app = in_state("quoted")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_discharge(
            application=app, actor=staff(delhi_physician), discharge_date=TODAY, summary="Fine"
        )

    assert snapshot(app) == before


@pytest.mark.parametrize("actor", [Actor.patient(), Actor.system()], ids=["patient", "system"])
def test_neither_the_patient_nor_the_system_may_discharge(actor: Actor) -> None:
    app = in_state("admitted")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_discharge(application=app, actor=actor, discharge_date=TODAY, summary="Fine")

    assert snapshot(app) == before


def test_a_physician_of_the_other_office_cannot_discharge(europe_physician: User) -> None:
    app = in_state("admitted")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_discharge(
            application=app, actor=staff(europe_physician), discharge_date=TODAY, summary="Fine"
        )

    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("discharge_date", "summary", "field"),
    [
        (TODAY + timedelta(days=1), "Fine", "discharge_date"),
        (TODAY - timedelta(days=1), "Fine", "discharge_date"),
        (TODAY, "", "summary"),
    ],
    ids=["in-the-future", "before-admission", "no-summary"],
)
def test_discharge_refuses_bad_input_naming_the_field(
    discharge_date: date, summary: str, field: str, delhi_physician: User
) -> None:
    app = in_state("admitted")  # admitted today
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_discharge(
            application=app, actor=staff(delhi_physician), discharge_date=discharge_date, summary=summary
        )

    assert field in error.value.message_dict
    assert snapshot(app) == before


# ---------------------------------------------------------------- start_follow_up


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_office_staff_start_the_follow_up(persona: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(persona)
    app = in_state("discharged")

    services.application_start_follow_up(application=app, actor=staff(user))

    assert Application.objects.get(pk=app.pk).state == "in_follow_up"
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor_kind, log.actor) == (
        "start_follow_up",
        "discharged",
        "in_follow_up",
        "user",
        user,
    )
    assert log.params == {}


def test_the_system_actor_may_start_the_follow_up() -> None:
    # No job runs this yet: the test only shows the transition is open to the system actor.
    app = in_state("discharged")

    services.application_start_follow_up(application=app, actor=Actor.system())

    assert Application.objects.get(pk=app.pk).state == "in_follow_up"
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor_kind, log.actor) == (
        "start_follow_up",
        "discharged",
        "in_follow_up",
        "system",
        None,
    )
    assert log.actor_label == "system"


def test_starting_the_follow_up_before_discharge_is_a_conflict(delhi_coordinator: User) -> None:
    app = in_state("admitted")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_start_follow_up(application=app, actor=staff(delhi_coordinator))

    assert snapshot(app) == before


def test_a_physician_may_not_start_the_follow_up(delhi_physician: User) -> None:
    app = in_state("discharged")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_start_follow_up(application=app, actor=staff(delhi_physician))

    assert snapshot(app) == before


def test_the_patient_may_not_start_the_follow_up() -> None:
    app = in_state("discharged")

    with pytest.raises(NotAllowed):
        services.application_start_follow_up(application=app, actor=Actor.patient())


def test_a_coordinator_of_the_other_office_cannot_start_the_follow_up(europe_coordinator: User) -> None:
    app = in_state("discharged")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_start_follow_up(application=app, actor=staff(europe_coordinator))

    assert snapshot(app) == before


# ---------------------------------------------------------------- complete


def test_a_manager_completes_the_follow_up(delhi_manager: User) -> None:
    app = in_state("in_follow_up")

    services.application_complete(application=app, actor=staff(delhi_manager))

    fresh = Application.objects.get(pk=app.pk)
    assert (fresh.state, fresh.closed_at) == ("completed", NOW)
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor) == (
        "complete",
        "in_follow_up",
        "completed",
        delhi_manager,
    )


def test_the_system_actor_may_complete_the_follow_up() -> None:
    # No job runs this yet: the test only shows the transition is open to the system actor.
    app = in_state("in_follow_up")

    services.application_complete(application=app, actor=Actor.system())

    fresh = Application.objects.get(pk=app.pk)
    assert (fresh.state, fresh.closed_at) == ("completed", NOW)
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state, log.actor_kind, log.actor) == (
        "complete",
        "in_follow_up",
        "completed",
        "system",
        None,
    )
    assert log.actor_label == "system"


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_physician"])
def test_a_coordinator_or_physician_may_not_complete(persona: str, request: pytest.FixtureRequest) -> None:
    app = in_state("in_follow_up")
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_complete(application=app, actor=staff(request.getfixturevalue(persona)))

    assert snapshot(app) == before


def test_the_patient_may_not_complete() -> None:
    app = in_state("in_follow_up")

    with pytest.raises(NotAllowed):
        services.application_complete(application=app, actor=Actor.patient())


def test_completing_before_the_follow_up_started_is_a_conflict(delhi_manager: User) -> None:
    app = in_state("discharged")
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_complete(application=app, actor=staff(delhi_manager))

    assert snapshot(app) == before


def test_a_manager_of_the_other_office_cannot_complete(europe_manager: User) -> None:
    app = in_state("in_follow_up")
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_complete(application=app, actor=staff(europe_manager))

    assert snapshot(app) == before


# ---------------------------------------------------------------- withdraw


@pytest.mark.parametrize("state", ["received", "medically_reviewed", "quoted"])
def test_the_patient_withdraws_from_the_portal_before_admission(state: str) -> None:
    app = in_state(state)

    services.application_withdraw(application=app, actor=Actor.patient(), reason="Found treatment nearer home")

    fresh = Application.objects.get(pk=app.pk)
    assert (fresh.state, fresh.withdraw_reason) == ("withdrawn", "Found treatment nearer home")
    log = last_log(app)
    assert (log.action, log.from_state, log.to_state) == ("withdraw", state, "withdrawn")
    assert (log.actor_kind, log.actor, log.actor_label) == ("patient", None, "patient")
    assert log.params == {"reason": "Found treatment nearer home"}


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_manager"])
def test_office_staff_record_a_withdrawal(persona: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(persona)
    app = submit()

    services.application_withdraw(application=app, actor=staff(user), reason="Patient phoned")

    assert Application.objects.get(pk=app.pk).state == "withdrawn"
    assert (last_log(app).actor_kind, last_log(app).actor) == ("user", user)


@pytest.mark.parametrize("state", ["admitted", "declined", "withdrawn"])
def test_withdrawing_after_admission_or_a_final_state_is_a_conflict(state: str) -> None:
    app = in_state(state)
    before = snapshot(app)

    with pytest.raises(Conflict):
        services.application_withdraw(application=app, actor=Actor.patient(), reason="Changed my mind")

    assert snapshot(app) == before


def test_a_physician_may_not_withdraw_an_application(delhi_physician: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(NotAllowed):
        services.application_withdraw(application=app, actor=staff(delhi_physician), reason="No")

    assert snapshot(app) == before


def test_the_system_may_not_withdraw_an_application() -> None:
    app = submit()

    with pytest.raises(NotAllowed):
        services.application_withdraw(application=app, actor=Actor.system(), reason="No")


def test_a_coordinator_of_the_other_office_cannot_withdraw(europe_coordinator: User) -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(Application.DoesNotExist):
        services.application_withdraw(application=app, actor=staff(europe_coordinator), reason="No")

    assert snapshot(app) == before


def test_withdraw_needs_a_reason() -> None:
    app = submit()
    before = snapshot(app)

    with pytest.raises(ValidationError) as error:
        services.application_withdraw(application=app, actor=Actor.patient(), reason="")

    assert "reason" in error.value.message_dict
    assert snapshot(app) == before


# ---------------------------------------------------------------- the whole path


def test_the_main_path_leaves_one_history_row_per_step_in_order() -> None:
    app = in_state("completed")

    steps = list(app.history.values_list("action", "from_state", "to_state"))

    assert steps == [
        ("submit", "", "received"),
        ("approve_review", "received", "medically_reviewed"),
        ("send_quote", "medically_reviewed", "quoted"),
        ("accept_quote", "quoted", "quoted"),
        ("schedule_admission", "quoted", "quoted"),
        ("sign_consent", "quoted", "quoted"),
        ("admit", "quoted", "admitted"),
        ("discharge", "admitted", "discharged"),
        ("start_follow_up", "discharged", "in_follow_up"),
        ("complete", "in_follow_up", "completed"),
    ]


def test_available_transitions_follow_the_role_and_the_state(
    delhi_physician: User, delhi_coordinator: User, delhi_manager: User
) -> None:
    received = submit()
    quoted = in_state("quoted")

    assert services.available_transitions(received, staff(delhi_physician)) == ["approve_review", "decline"]
    assert services.available_transitions(received, staff(delhi_coordinator)) == ["withdraw"]
    assert services.available_transitions(received, Actor.patient()) == ["withdraw"]
    # admit's conditions are not met yet (no accepted quote), so it is not offered.
    assert services.available_transitions(quoted, staff(delhi_manager)) == ["revise_quote", "withdraw"]
    assert services.available_transitions(quoted, staff(delhi_physician)) == []
