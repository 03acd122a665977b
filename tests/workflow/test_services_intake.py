"""Intake (SPEC §3): references per office and year, staff-entered requests, and what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from tests.workflow.conftest import PATIENT_DEFAULTS, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application, ReferenceSequence, TransitionLog

# Wed 11 Mar 2026, 11:00 in Delhi.
NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def enter(user: User, **overrides: Any) -> Application:
    """An application staff enter from a phone call or an email."""
    return services.application_submit(actor=Actor.staff(user), **{**PATIENT_DEFAULTS, **overrides})


def test_references_count_up_per_office_and_year() -> None:
    delhi = [submit().reference for _ in range(3)]
    europe = [submit(country="DE").reference for _ in range(2)]

    assert delhi == ["DEL-2026-00001", "DEL-2026-00002", "DEL-2026-00003"]
    assert europe == ["EUR-2026-00001", "EUR-2026-00002"]


def test_a_new_year_restarts_the_numbering(time_machine: Any) -> None:
    time_machine.move_to(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), tick=False)
    last_of_2026 = [submit().reference for _ in range(2)]
    time_machine.move_to(datetime(2027, 1, 2, 6, 0, tzinfo=UTC), tick=False)

    first_of_2027 = submit().reference

    assert last_of_2026 == ["DEL-2026-00001", "DEL-2026-00002"]
    assert first_of_2027 == "DEL-2027-00001"
    assert set(ReferenceSequence.objects.values_list("year", "last_number")) == {(2026, 2), (2027, 1)}


def test_the_year_of_a_reference_is_the_offices_year(time_machine: Any) -> None:
    # 20:00 UTC on 31 Dec is already 01:30 on 1 Jan in Delhi, still 21:00 on 31 Dec in Berlin.
    time_machine.move_to(datetime(2026, 12, 31, 20, 0, tzinfo=UTC), tick=False)

    assert submit().reference == "DEL-2027-00001"
    assert submit(country="DE").reference == "EUR-2026-00001"


def test_a_staff_entered_request_is_numbered_in_the_year_it_was_received(delhi_coordinator: User) -> None:
    app = enter(delhi_coordinator, received_at=datetime(2025, 12, 30, 6, 0, tzinfo=UTC))

    assert app.reference == "DEL-2025-00001"
    assert app.received_at == datetime(2025, 12, 30, 6, 0, tzinfo=UTC)


def test_an_application_is_received_and_logged_as_the_patients(time_machine: Any) -> None:
    app = submit(country="in", office=None)

    assert (app.state, app.office.code, app.country, app.received_at) == ("received", "delhi", "IN", NOW)
    assert (app.privacy_notice_version, app.privacy_consent_at) == ("2026-01", NOW)
    log = TransitionLog.objects.get(application=app)
    assert (log.action, log.from_state, log.to_state, log.actor_kind, log.actor) == (
        "submit",
        "",
        "received",
        "patient",
        None,
    )
    assert log.params == {"office": "delhi", "channel": "form", "documents": 0}


def test_the_patient_may_choose_the_office_themselves() -> None:
    app = submit(country="IN", office="europe")

    assert app.office.code == "europe"
    assert app.reference.startswith("EUR-")


def test_staff_enter_a_request_for_their_own_office_with_the_time_it_arrived(delhi_coordinator: User) -> None:
    received = NOW - timedelta(days=2)

    app = enter(delhi_coordinator, received_at=received)

    assert app.received_at == received
    assert app.obligations.get().opened_at == received
    log = app.history.get()
    assert (log.actor_kind, log.actor, log.at) == ("user", delhi_coordinator, NOW)
    assert log.params == {"office": "delhi", "channel": "email", "documents": 0, "received_at": received.isoformat()}


def test_staff_may_not_enter_a_request_for_another_office(delhi_coordinator: User) -> None:
    with pytest.raises(ValidationError) as error:
        enter(delhi_coordinator, office="europe", received_at=NOW - timedelta(hours=1))

    assert "office" in error.value.message_dict
    assert not Application.objects.exists()


def test_a_time_received_in_the_future_is_refused(delhi_coordinator: User) -> None:
    with pytest.raises(ValidationError) as error:
        enter(delhi_coordinator, received_at=NOW + timedelta(minutes=1))

    assert "received_at" in error.value.message_dict
    assert not Application.objects.exists()


def test_only_staff_may_say_when_a_request_was_received(outsider: User) -> None:
    with pytest.raises(ValidationError) as patient_error:
        submit(received_at=NOW - timedelta(days=1))
    with pytest.raises(ValidationError) as outsider_error:
        enter(outsider, received_at=NOW - timedelta(days=1))

    assert "received_at" in patient_error.value.message_dict
    assert "received_at" in outsider_error.value.message_dict
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"privacy_consent": False}, "privacy_consent"),
        ({"country": "XX"}, "country"),
        ({"office": "mumbai"}, "office"),
        ({"preferred_language": "tlh"}, "preferred_language"),
        ({"date_of_birth": date(2026, 3, 12)}, "date_of_birth"),
        ({"diagnosis_date": date(2026, 3, 12)}, "diagnosis_date"),
        ({"email": "not-an-email"}, "email"),
        ({"sex": "unknown"}, "sex"),
    ],
    ids=[
        "no-privacy-consent",
        "unknown-country",
        "unknown-office",
        "language",
        "born-tomorrow",
        "diagnosed-tomorrow",
        "email",
        "sex",
    ],
)
def test_intake_refuses_bad_input_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        submit(**overrides)

    assert field in error.value.message_dict
    assert not Application.objects.exists()
    assert not TransitionLog.objects.exists()


def test_a_refused_application_uses_up_no_reference() -> None:
    with pytest.raises(ValidationError):
        submit(email="not-an-email")

    assert submit().reference == "DEL-2026-00001"
