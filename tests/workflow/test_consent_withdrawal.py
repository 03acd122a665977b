"""SPEC §5: a consent signature can be withdrawn; it stays on record, and admission needs a new one."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import ConditionsNotMet, Conflict, NotAllowed
from workflow.models import ConsentSignature, TransitionLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():
    """A quoted Delhi application whose patient accepted, is scheduled for today, and signed."""
    application = advance(submit(), "quoted")
    coordinator = office_staff(application.office)["coordinator"]
    services.quote_accept(application=application, actor=coordinator)
    services.admission_schedule(
        application=application, actor=coordinator, admission_date=application.received_at.date()
    )
    signature = services.consent_sign_portal(
        application=application, signer_name="Priya Sharma", ip_address="203.0.113.9", user_agent="test"
    )
    return application, signature


def test_the_patient_withdraws_a_consent_and_admission_is_refused_until_a_new_signature(signed):
    application, signature = signed
    services.consent_withdraw(application=application, actor=Actor.patient(), signature_id=signature.pk)

    signature.refresh_from_db()
    assert signature.withdrawn_at is not None
    coordinator = office_staff(application.office)["coordinator"]
    with pytest.raises(ConditionsNotMet, match="unwithdrawn consent signature"):
        services.application_admit(application=application, actor=coordinator)

    services.consent_sign_portal(
        application=application, signer_name="Priya Sharma", ip_address="203.0.113.9", user_agent="test"
    )
    assert services.application_admit(application=application, actor=coordinator).state == "admitted"
    assert ConsentSignature.objects.filter(application=application).count() == 2


def test_staff_record_a_withdrawal_by_phone_over_http_and_it_is_in_the_history(signed, delhi_coordinator):
    application, signature = signed
    client = APIClient()
    client.force_authenticate(delhi_coordinator)

    response = client.post(
        f"/api/v1/applications/{application.reference}/consent-signatures/{signature.pk}/withdraw/",
        {"reason": "Called to withdraw"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["withdrawn_at"] is not None
    entry = TransitionLog.objects.filter(application=application, action="withdraw_consent").get()
    assert (entry.actor, entry.params["reason"]) == (delhi_coordinator, "Called to withdraw")


def test_withdrawing_twice_is_a_conflict(signed):
    application, signature = signed
    services.consent_withdraw(application=application, actor=Actor.patient(), signature_id=signature.pk)
    with pytest.raises(Conflict):
        services.consent_withdraw(application=application, actor=Actor.patient(), signature_id=signature.pk)


def test_a_physician_may_not_record_a_withdrawal_and_nothing_changes(signed):
    application, signature = signed
    with pytest.raises(NotAllowed):
        services.consent_withdraw(
            application=application, actor=office_staff(application.office)["physician"], signature_id=signature.pk
        )
    signature.refresh_from_db()
    assert signature.withdrawn_at is None


def test_a_signature_of_another_application_or_office_is_not_found(signed, europe_coordinator, delhi_coordinator):
    application, signature = signed
    other = submit()
    client = APIClient()
    client.force_authenticate(delhi_coordinator)
    wrong_application = client.post(
        f"/api/v1/applications/{other.reference}/consent-signatures/{signature.pk}/withdraw/", {}, format="json"
    )
    assert wrong_application.status_code == 404
    client.force_authenticate(europe_coordinator)
    other_office = client.post(
        f"/api/v1/applications/{application.reference}/consent-signatures/{signature.pk}/withdraw/", {}, format="json"
    )
    assert other_office.status_code == 404
