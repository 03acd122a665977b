"""Actions that are not transitions (SPEC §3, §4): messages, assignment and office transfer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from offices.models import Membership, Office
from tests.conftest import make_staff
from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, Message, ReplyObligation, TransitionLog

# Wed 11 Mar 2026, 11:00 in Delhi.
NOW = datetime(2026, 3, 11, 5, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def coordinator(delhi_coordinator: User) -> Actor:
    return Actor.staff(delhi_coordinator)


def open_obligations(app: Application) -> list[ReplyObligation]:
    return list(app.obligations.filter(satisfied_at__isnull=True, closed_at__isnull=True))


def fresh(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


# ---------------------------------------------------------------- messages


def test_a_reply_is_emailed_to_the_patient_and_satisfies_the_open_obligation(
    application: Application, coordinator: Actor, time_machine: Any
) -> None:
    time_machine.move_to(NOW + timedelta(hours=3), tick=False)

    message = services.message_post(application=application, actor=coordinator, kind="reply", body="  Thank you.  ")

    assert (message.direction, message.channel, message.body) == ("outbound", "email", "Thank you.")
    assert (message.author, message.created_at) == (coordinator.user, NOW + timedelta(hours=3))
    obligation = application.obligations.get()
    assert (obligation.satisfied_at, obligation.satisfied_by) == (NOW + timedelta(hours=3), message)
    assert fresh(application).reply_due_at is None
    log = application.history.get(action="message_reply")
    assert (log.actor, log.params, log.from_state, log.to_state) == (
        coordinator.user,
        {"message": message.pk},
        "received",
        "received",
    )


def test_an_internal_note_does_not_satisfy_the_obligation(application: Application, coordinator: Actor) -> None:
    due = fresh(application).reply_due_at

    message = services.message_post(application=application, actor=coordinator, kind="note", body="Call back Monday")

    assert message.direction == "internal"
    assert len(open_obligations(application)) == 1
    assert fresh(application).reply_due_at == due is not None
    assert application.history.filter(action="message_note").exists()


def test_a_physician_may_write_to_the_patient(application: Application, delhi_physician: User) -> None:
    services.message_post(application=application, actor=Actor.staff(delhi_physician), kind="reply", body="Hello")

    assert open_obligations(application) == []


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [("reply", "", "body"), ("note", "   ", "body"), ("sms", "Hello", "kind")],
    ids=["empty-reply", "blank-note", "unknown-kind"],
)
def test_a_bad_message_is_refused_naming_the_field(
    kind: str, body: str, field: str, application: Application, coordinator: Actor
) -> None:
    with pytest.raises(ValidationError) as error:
        services.message_post(application=application, actor=coordinator, kind=kind, body=body)

    assert field in error.value.message_dict
    assert not Message.objects.exists()
    assert len(open_obligations(application)) == 1


def test_staff_of_the_other_office_cannot_write_on_the_application(
    application: Application, europe_coordinator: User
) -> None:
    with pytest.raises(Application.DoesNotExist):
        services.message_post(
            application=application, actor=Actor.staff(europe_coordinator), kind="reply", body="Hello"
        )

    assert not Message.objects.exists()


def test_the_patient_cannot_post_as_staff(application: Application) -> None:
    with pytest.raises(NotAllowed):
        services.message_post(application=application, actor=Actor.patient(), kind="reply", body="Hello")


def test_an_inbound_message_while_an_obligation_is_open_opens_no_second_one(
    application: Application, time_machine: Any
) -> None:
    obligation = application.obligations.get()
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)

    message = services.message_receive(application=application, actor=Actor.patient(), body="Any news?")

    assert (message.direction, message.channel, message.author) == ("inbound", "portal", None)
    assert open_obligations(application) == [obligation]
    assert fresh(application).reply_due_at == obligation.due_at
    log = application.history.get(action="message_inbound")
    assert (log.actor_kind, log.params) == ("patient", {"message": message.pk, "channel": "portal"})


def test_an_inbound_message_after_a_reply_opens_a_new_obligation(
    application: Application, coordinator: Actor, time_machine: Any
) -> None:
    services.message_post(application=application, actor=coordinator, kind="reply", body="Hello")
    time_machine.move_to(NOW + timedelta(days=1), tick=False)

    message = services.message_receive(application=application, actor=Actor.patient(), body="Thank you, one question")

    [obligation] = open_obligations(application)
    assert (obligation.opened_at, obligation.opened_by) == (NOW + timedelta(days=1), message)
    assert fresh(application).reply_due_at == obligation.due_at
    assert application.obligations.count() == 2


def test_staff_record_a_phone_call_at_the_time_it_was_received(
    application: Application, coordinator: Actor, time_machine: Any
) -> None:
    services.message_post(application=application, actor=coordinator, kind="reply", body="Hello")
    time_machine.move_to(NOW + timedelta(hours=5), tick=False)

    message = services.message_receive(
        application=application,
        actor=coordinator,
        body="Patient called about travel dates",
        channel="phone",
        received_at=NOW + timedelta(hours=1),
    )

    assert (message.channel, message.author, message.created_at) == (
        "phone",
        coordinator.user,
        NOW + timedelta(hours=1),
    )
    assert open_obligations(application)[0].opened_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "Hi", "channel": "fax"}, "channel"),
        ({"body": "Hi", "received_at": NOW + timedelta(minutes=5)}, "received_at"),
    ],
    ids=["empty", "unknown-channel", "in-the-future"],
)
def test_a_bad_inbound_message_is_refused_naming_the_field(
    arguments: dict[str, Any], field: str, application: Application, coordinator: Actor
) -> None:
    with pytest.raises(ValidationError) as error:
        services.message_receive(application=application, actor=coordinator, **arguments)

    assert field in error.value.message_dict
    assert not Message.objects.exists()


# ---------------------------------------------------------------- assign


def test_a_coordinator_assigns_a_member_of_the_office_and_it_is_logged(
    application: Application, coordinator: Actor, delhi_physician: User
) -> None:
    result = services.application_assign(application=application, actor=coordinator, user_id=delhi_physician.pk)

    assert result.assigned_to == fresh(application).assigned_to == delhi_physician
    log = application.history.get(action="assign")
    assert (log.actor, log.params) == (coordinator.user, {"from": None, "to": delhi_physician.pk})


def test_assigning_nobody_unassigns_and_is_logged(
    application: Application, coordinator: Actor, delhi_manager: User
) -> None:
    services.application_assign(application=application, actor=coordinator, user_id=delhi_manager.pk)

    services.application_assign(application=application, actor=coordinator, user_id=None)

    assert fresh(application).assigned_to is None
    assert [log.params for log in application.history.filter(action="assign")] == [
        {"from": None, "to": delhi_manager.pk},
        {"from": delhi_manager.pk, "to": None},
    ]


def test_a_manager_may_reassign(application: Application, delhi_manager: User, delhi_coordinator: User) -> None:
    services.application_assign(application=application, actor=Actor.staff(delhi_manager), user_id=delhi_coordinator.pk)

    assert fresh(application).assigned_to == delhi_coordinator


@pytest.mark.parametrize("persona", ["europe_coordinator", "outsider"])
def test_only_a_member_of_the_applications_office_can_be_assigned(
    persona: str, application: Application, coordinator: Actor, request: pytest.FixtureRequest
) -> None:
    other = request.getfixturevalue(persona)

    with pytest.raises(ValidationError) as error:
        services.application_assign(application=application, actor=coordinator, user_id=other.pk)

    assert "user" in error.value.message_dict
    assert fresh(application).assigned_to is None
    assert not application.history.filter(action="assign").exists()


def test_an_inactive_member_cannot_be_assigned(
    application: Application, coordinator: Actor, delhi_manager: User
) -> None:
    delhi_manager.is_active = False
    delhi_manager.save()

    with pytest.raises(ValidationError):
        services.application_assign(application=application, actor=coordinator, user_id=delhi_manager.pk)


def test_a_physician_may_not_assign(application: Application, delhi_physician: User) -> None:
    with pytest.raises(NotAllowed):
        services.application_assign(
            application=application, actor=Actor.staff(delhi_physician), user_id=delhi_physician.pk
        )

    assert fresh(application).assigned_to is None


def test_staff_of_the_other_office_cannot_assign(application: Application, europe_manager: User) -> None:
    with pytest.raises(Application.DoesNotExist):
        services.application_assign(application=application, actor=Actor.staff(europe_manager), user_id=None)


# ---------------------------------------------------------------- transfer


def test_a_transfer_moves_the_case_to_the_other_office_and_is_logged(
    application: Application, coordinator: Actor, europe: Office
) -> None:
    result = services.application_transfer(application=application, actor=coordinator, office_code="europe")

    assert result.office == fresh(application).office == europe
    assert fresh(application).state == "received"
    log = application.history.get(action="transfer")
    assert (log.actor, log.params, log.from_state, log.to_state) == (
        coordinator.user,
        {"from": "delhi", "to": "europe"},
        "received",
        "received",
    )


def test_a_transfer_keeps_the_open_obligations_deadline(application: Application, coordinator: Actor) -> None:
    obligation = application.obligations.get()
    due = fresh(application).reply_due_at

    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    assert application.obligations.get() == obligation
    reread = application.obligations.get()
    assert (reread.due_at, reread.warn_at, reread.opened_at) == (
        obligation.due_at,
        obligation.warn_at,
        obligation.opened_at,
    )
    assert fresh(application).reply_due_at == due == obligation.due_at


def test_a_transfer_unassigns_an_assignee_who_does_not_work_at_the_new_office(
    application: Application, coordinator: Actor, delhi_coordinator: User
) -> None:
    services.application_assign(application=application, actor=coordinator, user_id=delhi_coordinator.pk)

    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    assert fresh(application).assigned_to is None


def test_a_transfer_keeps_an_assignee_who_works_at_both_offices(application: Application, coordinator: Actor) -> None:
    both = make_staff("nina", {"delhi": Membership.Role.COORDINATOR, "europe": Membership.Role.COORDINATOR})
    services.application_assign(application=application, actor=coordinator, user_id=both.pk)

    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    assert fresh(application).assigned_to == both


def test_after_a_transfer_the_old_offices_staff_can_no_longer_lock_it(
    application: Application, coordinator: Actor, delhi_physician: User, europe_coordinator: User
) -> None:
    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    with pytest.raises(Application.DoesNotExist):
        services.application_approve_review(
            application=application.pk, actor=Actor.staff(delhi_physician), review_notes="Fine"
        )
    with pytest.raises(Application.DoesNotExist):
        services.message_post(application=application.pk, actor=coordinator, kind="note", body="Still mine?")
    # The new office's staff can.
    services.message_post(
        application=application.pk, actor=Actor.staff(europe_coordinator), kind="note", body="Ours now"
    )


def test_acting_on_a_copy_read_before_the_transfer_is_a_conflict(
    application: Application, coordinator: Actor, delhi_physician: User
) -> None:
    stale = fresh(application)
    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    with pytest.raises(Conflict):
        services.application_approve_review(application=stale, actor=Actor.staff(delhi_physician), review_notes="Ok")

    assert fresh(application).state == "received"


def test_transferring_a_copy_read_before_someone_else_transferred_it_is_a_conflict(
    application: Application, coordinator: Actor
) -> None:
    # A manager of both offices still sees the case after the move, so the lock finds it.
    both = Actor.staff(make_staff("ravi", {"delhi": Membership.Role.MANAGER, "europe": Membership.Role.MANAGER}))
    stale = fresh(application)
    services.application_transfer(application=application, actor=coordinator, office_code="europe")

    with pytest.raises(Conflict):
        services.application_transfer(application=stale, actor=both, office_code="europe")

    assert application.history.filter(action="transfer").count() == 1


@pytest.mark.parametrize("state", ["declined", "withdrawn", "completed"])
def test_a_closed_case_cannot_be_transferred(state: str, delhi_manager: User) -> None:
    app = advance(submit(), state)

    with pytest.raises(Conflict):
        services.application_transfer(application=app, actor=Actor.staff(delhi_manager), office_code="europe")

    assert fresh(app).office.code == "delhi"
    assert not app.history.filter(action="transfer").exists()


@pytest.mark.parametrize("code", ["delhi", "mumbai"], ids=["same-office", "unknown-office"])
def test_a_transfer_needs_another_known_office(code: str, application: Application, coordinator: Actor) -> None:
    with pytest.raises(ValidationError) as error:
        services.application_transfer(application=application, actor=coordinator, office_code=code)

    assert "office" in error.value.message_dict
    assert not application.history.filter(action="transfer").exists()


def test_a_physician_may_not_transfer(application: Application, delhi_physician: User) -> None:
    with pytest.raises(NotAllowed):
        services.application_transfer(application=application, actor=Actor.staff(delhi_physician), office_code="europe")

    assert fresh(application).office.code == "delhi"


def test_staff_of_the_other_office_cannot_pull_a_case_over(application: Application, europe_manager: User) -> None:
    with pytest.raises(Application.DoesNotExist):
        services.application_transfer(application=application, actor=Actor.staff(europe_manager), office_code="europe")

    assert TransitionLog.objects.filter(action="transfer").count() == 0


def test_a_portal_signature_of_a_text_other_than_the_current_one_is_refused_under_the_lock() -> None:
    app = advance(submit(), "quoted")
    shown = services.actions.current_consent_document(app.preferred_language).sha256

    with pytest.raises(Conflict, match="consent document changed"):
        services.consent_sign_portal(
            application=app, signer_name=app.full_name, ip_address=None, user_agent="t", expected_sha256="0" * 64
        )
    signature = services.consent_sign_portal(
        application=app, signer_name=app.full_name, ip_address=None, user_agent="t", expected_sha256=shown
    )

    assert signature.document_sha256 == shown
    assert app.signatures.count() == 1
