"""Each application's timeline shows the emails it caused and whether they were delivered."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.workflow.conftest import advance, submit

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_history_shows_each_steps_notifications_with_their_delivery_status(delhi_coordinator, delhi_physician):
    application = advance(submit(), "medically_reviewed")
    Notification.objects.filter(kind="review_approved").update(status="failed", attempts=1, last_error="550 no")

    response = client_for(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/history/")

    assert response.status_code == 200
    submit_entry, approve_entry = response.json()
    assert {(n["kind"], n["recipient_email"]) for n in submit_entry["notifications"]} == {
        ("intake_acknowledgement", "priya@example.org"),
        ("new_application", delhi_coordinator.email),
        ("review_requested", delhi_physician.email),
    }
    assert {n["status"] for n in submit_entry["notifications"]} == {"pending"}
    [approved] = approve_entry["notifications"]
    assert (approved["kind"], approved["status"], approved["last_error"]) == ("review_approved", "failed", "550 no")


def test_a_reply_entry_shows_the_email_to_the_patient(delhi_coordinator):
    application = submit()
    client = client_for(delhi_coordinator)
    client.post(
        f"/api/v1/applications/{application.reference}/messages/", {"kind": "reply", "body": "Hello"}, format="json"
    )
    entries = client.get(f"/api/v1/applications/{application.reference}/history/").json()
    reply = next(e for e in entries if e["action"] == "message_reply")
    assert [n["kind"] for n in reply["notifications"]] == ["outbound_message"]


def test_the_notifications_endpoint_lists_every_email_of_the_application(delhi_coordinator, europe_coordinator):
    application = submit()
    response = client_for(delhi_coordinator).get(f"/api/v1/applications/{application.reference}/notifications/")
    assert response.status_code == 200
    assert sorted(n["kind"] for n in response.json()) == ["intake_acknowledgement", "new_application"]
    other = client_for(europe_coordinator).get(f"/api/v1/applications/{application.reference}/notifications/")
    assert other.status_code == 404
