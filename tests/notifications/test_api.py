"""Failed notifications for staff (SPEC §6, §9): the list of their offices' failures, and a
manager's retry — through HTTP, with the project's error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import delivery
from notifications.models import Notification
from notifications.services import notification_retry
from tests.conftest import make_staff
from tests.workflow.conftest import submit
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import TransitionLog

pytestmark = pytest.mark.django_db

FAILED_URL = "/api/v1/notifications/failed/"


def retry_url(notification: Notification) -> str:
    return f"/api/v1/notifications/{notification.pk}/retry/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def failed(*, office: str = "delhi", minutes_ago: int = 0, email: str = "priya@example.org") -> Notification:
    """A patient acknowledgement the server refused."""
    country = "IN" if office == "delhi" else "DE"
    application = submit(office=office, country=country, email=email)
    row = Notification.objects.get(application=application, kind="intake_acknowledgement")
    Notification.objects.filter(pk=row.pk).update(
        status="failed",
        attempts=1,
        last_error="recipient refused: {'priya@example.org': (550, b'mailbox unavailable')}",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        next_attempt_at=timezone.now(),
    )
    row.refresh_from_db()
    return row


# ---- the list ----


def test_staff_see_the_failed_notifications_of_their_offices_newest_first(delhi_coordinator):
    older = failed(minutes_ago=30, email="old@example.org")
    newer = failed(minutes_ago=5, email="new@example.org")
    failed(office="europe", email="elsewhere@example.org")
    submit(email="fine@example.org")  # pending, not failed

    response = client_for(delhi_coordinator).get(FAILED_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]
    item = body["results"][0]
    assert item == {
        "id": newer.pk,
        "kind": "intake_acknowledgement",
        "audience": "patient",
        "recipient_email": "new@example.org",
        "subject": newer.subject,
        "application": newer.application.reference,
        "status": "failed",
        "attempts": 1,
        "last_error": newer.last_error,
        "created_at": item["created_at"],
        "sent_at": None,
        "attachments": [],
    }
    assert item["created_at"].startswith(newer.created_at.strftime("%Y-%m-%dT%H:%M"))


def test_a_member_of_both_offices_sees_the_failures_of_both(db):
    both = make_staff("sanjay", {"delhi": "manager", "europe": "coordinator"})
    failed()
    failed(office="europe", email="lena@example.de")
    assert client_for(both).get(FAILED_URL).json()["count"] == 2


def test_a_user_without_an_office_is_refused_and_an_anonymous_caller_must_authenticate(outsider):
    failed()
    response = client_for(outsider).get(FAILED_URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    anonymous = APIClient().get(FAILED_URL)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"


# ---- retry ----


def test_a_manager_sends_a_failed_notification_again(delhi_manager, published, django_capture_on_commit_callbacks):
    row = failed()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(delhi_manager).post(retry_url(row))
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at, row.claimed_at) == ("pending", 0, None, None)
    assert "550" in row.last_error  # kept until a new attempt replaces it
    assert published == [row.pk]
    log = TransitionLog.objects.get(application=row.application, action="retry_notification")
    assert log.actor == delhi_manager
    assert log.params == {"notification": row.pk, "kind": "intake_acknowledgement"}

    assert delivery.deliver(row.pk)[0] == delivery.SENT
    assert [m.to for m in mail.outbox] == [["priya@example.org"]]


def test_the_retry_is_published_only_after_it_commits(delhi_manager, published, django_capture_on_commit_callbacks):
    row = failed()
    with django_capture_on_commit_callbacks() as callbacks:
        notification_retry(notification=row, actor=Actor.staff(delhi_manager))
        assert published == []
    for callback in callbacks:
        callback()
    assert published == [row.pk]


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_physician"])
def test_other_roles_of_the_office_may_not_retry(request, persona, published):
    row = failed()
    response = client_for(request.getfixturevalue(persona)).post(retry_url(row))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    row.refresh_from_db()
    assert row.status == "failed"
    assert published == []


def test_a_manager_of_another_office_gets_404(europe_manager):
    row = failed()
    response = client_for(europe_manager).post(retry_url(row))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client_for(europe_manager).post("/api/v1/notifications/999999/retry/").status_code == 404


@pytest.mark.parametrize("status", ["pending", "sending", "sent"])
def test_only_a_failed_notification_can_be_sent_again(delhi_manager, status):
    row = failed()
    Notification.objects.filter(pk=row.pk).update(status=status)
    response = client_for(delhi_manager).post(retry_url(row))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert status in body["message"]


def test_the_service_raises_the_domain_errors_the_interfaces_turn_into_responses(
    delhi_coordinator, delhi_manager, europe_manager
):
    row = failed()
    with pytest.raises(NotAllowed):
        notification_retry(notification=row, actor=Actor.staff(delhi_coordinator))
    with pytest.raises(Notification.DoesNotExist):
        notification_retry(notification=row.pk, actor=Actor.staff(europe_manager))
    notification_retry(notification=row, actor=Actor.staff(delhi_manager))
    with pytest.raises(Conflict):
        notification_retry(notification=row, actor=Actor.staff(delhi_manager))


def test_both_endpoints_are_in_the_openapi_schema(delhi_coordinator):
    schema = client_for(delhi_coordinator).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "get" in paths["/api/v1/notifications/failed/"]
    retry = paths["/api/v1/notifications/{id}/retry/"]["post"]
    assert set(retry["responses"]) >= {"200", "403", "404", "409"}
