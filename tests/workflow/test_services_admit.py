"""`admit` and its conditions (SPEC §3, §5): an accepted quote, an admission date that has come, and an
unwithdrawn signature of the current consent version. Each missing condition is named on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import ConditionsNotMet, Conflict
from workflow.models import Application, ConsentDocument, ConsentSignature, TransitionLog
from workflow.models.application import CONDITION_MESSAGES, DEFAULT_PROTOCOL

# Wed 11 Mar 2026, 11:00 in Delhi.
NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)
TODAY = date(2026, 3, 11)
NO_ACCEPTED_QUOTE = CONDITION_MESSAGES["has_accepted_quote"]
NO_DATE_YET = CONDITION_MESSAGES["admission_date_reached"]
NO_VALID_CONSENT = CONDITION_MESSAGES["has_valid_consent"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def coordinator(delhi_coordinator: User) -> Actor:
    return Actor.staff(delhi_coordinator)


@pytest.fixture
def quoted() -> Application:
    return advance(submit(), "quoted")


def accept(app: Application, actor: Actor) -> None:
    services.quote_accept(application=app, actor=actor)


def schedule(app: Application, actor: Actor, day: date = TODAY) -> None:
    services.admission_schedule(application=app, actor=actor, admission_date=day)


def sign(app: Application) -> ConsentSignature:
    return services.consent_sign_portal(
        application=app, signer_name="Priya Sharma", ip_address="203.0.113.9", user_agent="Firefox"
    )


def ready(app: Application, actor: Actor) -> None:
    accept(app, actor)
    schedule(app, actor)
    sign(app)


def refused_for(app: Application, actor: Actor) -> list[str]:
    history = app.history.count()
    with pytest.raises(ConditionsNotMet) as error:
        services.application_admit(application=app, actor=actor)
    fresh = Application.objects.get(pk=app.pk)
    assert fresh.state == "quoted"
    assert fresh.admitted_at is None
    assert not fresh.treatment_days.exists()
    assert fresh.history.count() == history
    return error.value.unmet


def test_admit_with_every_condition_met_fixes_the_seven_day_schedule_from_the_admission_date(
    quoted: Application, coordinator: Actor
) -> None:
    ready(quoted, coordinator)

    services.application_admit(application=quoted, actor=coordinator)

    fresh = Application.objects.get(pk=quoted.pk)
    assert (fresh.state, fresh.admitted_at) == ("admitted", NOW)
    days = list(fresh.treatment_days.values_list("day", "date", "activities"))
    assert days == [(d["day"], TODAY + timedelta(days=d["day"] - 1), d["activities"]) for d in DEFAULT_PROTOCOL]
    assert len(days) == 7
    assert days[-1][1] == date(2026, 3, 17)
    log = TransitionLog.objects.filter(application=quoted, action="admit").get()
    assert (log.from_state, log.to_state, log.actor_kind, log.actor) == ("quoted", "admitted", "user", coordinator.user)


def test_a_manager_may_admit_too(quoted: Application, coordinator: Actor, delhi_manager: User) -> None:
    ready(quoted, coordinator)

    services.application_admit(application=quoted, actor=Actor.staff(delhi_manager))

    assert Application.objects.get(pk=quoted.pk).state == "admitted"


def test_the_schedule_follows_the_protocol_the_physician_changed_at_review(
    coordinator: Actor, delhi_physician: User
) -> None:
    protocol = [
        {"day": 1, "activities": ["admission", "IV injection"]},
        {"day": 2, "activities": ["rest"]},
        {"day": 3, "activities": ["lumbar puncture (LP) injection", "discharge"]},
    ]
    app = services.application_approve_review(
        application=submit(), actor=Actor.staff(delhi_physician), review_notes="Short course", protocol=protocol
    )
    app = advance(app, "quoted")
    ready(app, coordinator)

    services.application_admit(application=app, actor=coordinator)

    assert list(app.treatment_days.values_list("day", "date", "activities")) == [
        (1, date(2026, 3, 11), ["admission", "IV injection"]),
        (2, date(2026, 3, 12), ["rest"]),
        (3, date(2026, 3, 13), ["lumbar puncture (LP) injection", "discharge"]),
    ]


def test_with_nothing_done_yet_admit_names_every_missing_condition(quoted: Application, coordinator: Actor) -> None:
    assert refused_for(quoted, coordinator) == [NO_ACCEPTED_QUOTE, NO_DATE_YET, NO_VALID_CONSENT]


def test_admit_is_refused_when_the_live_quote_is_not_accepted(quoted: Application, coordinator: Actor) -> None:
    ready(quoted, coordinator)
    # A revised quote replaces the accepted one; the patient has not accepted the new terms.
    services.application_revise_quote(
        application=quoted, actor=coordinator, items=[{"description": "Protocol", "amount": "5200"}]
    )

    assert refused_for(quoted, coordinator) == [NO_ACCEPTED_QUOTE]


def test_admit_is_refused_without_an_admission_date(quoted: Application, coordinator: Actor) -> None:
    accept(quoted, coordinator)
    sign(quoted)

    assert refused_for(quoted, coordinator) == [NO_DATE_YET]


def test_admit_is_refused_before_the_admission_date_and_allowed_on_it(
    quoted: Application, coordinator: Actor, time_machine: Any
) -> None:
    accept(quoted, coordinator)
    schedule(quoted, coordinator, TODAY + timedelta(days=3))
    sign(quoted)

    assert refused_for(quoted, coordinator) == [NO_DATE_YET]

    # 00:30 on 14 Mar in Delhi is still 13 Mar in UTC: the office's date is what counts.
    time_machine.move_to(datetime(2026, 3, 13, 19, 0, tzinfo=UTC), tick=False)
    services.application_admit(application=quoted, actor=coordinator)

    assert Application.objects.get(pk=quoted.pk).state == "admitted"
    assert quoted.treatment_days.get(day=1).date == date(2026, 3, 14)


def test_admit_is_refused_without_a_consent_signature(quoted: Application, coordinator: Actor) -> None:
    accept(quoted, coordinator)
    schedule(quoted, coordinator)

    assert refused_for(quoted, coordinator) == [NO_VALID_CONSENT]


def test_admit_is_refused_when_the_signature_was_withdrawn(quoted: Application, coordinator: Actor) -> None:
    ready(quoted, coordinator)
    ConsentSignature.objects.filter(application=quoted).update(withdrawn_at=NOW)

    assert refused_for(quoted, coordinator) == [NO_VALID_CONSENT]


def test_admit_is_refused_when_only_an_older_consent_version_was_signed(
    quoted: Application, coordinator: Actor
) -> None:
    ready(quoted, coordinator)
    assert quoted.signatures.get().document_version == 1
    ConsentDocument.objects.create(version=2, language="en", title="Informed consent, v2", text="Revised text")

    assert refused_for(quoted, coordinator) == [NO_VALID_CONSENT]

    signature = sign(quoted)
    assert (signature.document_version, signature.document_sha256) == (2, ConsentDocument.objects.get(version=2).sha256)
    services.application_admit(application=quoted, actor=coordinator)
    assert Application.objects.get(pk=quoted.pk).state == "admitted"


def test_conditions_not_met_is_a_kind_of_conflict(quoted: Application, coordinator: Actor) -> None:
    with pytest.raises(Conflict) as error:
        services.application_admit(application=quoted, actor=coordinator)

    assert error.value.code == "conditions_not_met"
    assert NO_VALID_CONSENT in str(error.value)


def test_admitting_twice_is_a_conflict_and_does_not_duplicate_the_schedule(
    quoted: Application, coordinator: Actor
) -> None:
    ready(quoted, coordinator)
    services.application_admit(application=quoted, actor=coordinator)

    with pytest.raises(Conflict):
        services.application_admit(application=quoted, actor=coordinator)

    assert quoted.treatment_days.count() == 7
    assert quoted.history.filter(action="admit").count() == 1


def test_the_admission_is_scheduled_only_after_the_quote_is_accepted(quoted: Application, coordinator: Actor) -> None:
    with pytest.raises(Conflict):
        schedule(quoted, coordinator)

    assert Application.objects.get(pk=quoted.pk).admission_date is None
