"""The outbox in the Django admin: read-only, scoped by office, with the same retry as the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from notifications.models import Notification
from tests.workflow.conftest import submit

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/notification/"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fail(notification: Notification) -> Notification:
    Notification.objects.filter(pk=notification.pk).update(status="failed", attempts=6, last_error="421 try later")
    notification.refresh_from_db()
    return notification


@pytest.fixture
def rows(db) -> dict[str, Notification]:
    delhi = submit(email="priya@example.org")
    europe = submit(office="europe", country="DE", email="lena@example.de")
    return {
        "delhi": fail(Notification.objects.get(application=delhi, kind="intake_acknowledgement")),
        "europe": fail(Notification.objects.get(application=europe, kind="intake_acknowledgement")),
    }


def test_office_staff_see_their_offices_notifications_with_filters_and_search(delhi_coordinator, rows):
    client = client_for(delhi_coordinator)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    content = page.content.decode()
    assert "priya@example.org" in content
    assert "lena@example.de" not in content
    assert [str(spec.title) for spec in page.context["cl"].filter_specs] == ["status", "kind", "audience"]
    assert client.get(CHANGELIST, {"status__exact": "sent"}).context["cl"].result_count == 0
    assert client.get(CHANGELIST, {"q": "priya@"}).context["cl"].result_count == 1
    assert client.get(CHANGELIST, {"q": rows["delhi"].dedup_key}).context["cl"].result_count == 1
    assert client.get(f"{CHANGELIST}{rows['europe'].pk}/change/").status_code in (302, 404)


def test_the_outbox_is_read_only_in_the_admin(delhi_manager, rows):
    client = client_for(delhi_manager)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    detail = client.get(f"{CHANGELIST}{rows['delhi'].pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.post(f"{CHANGELIST}{rows['delhi'].pk}/delete/").status_code == 403


def test_a_manager_sends_failed_notifications_again_from_the_admin(
    delhi_manager, rows, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(delhi_manager).post(
            CHANGELIST,
            {"action": "retry_failed", "_selected_action": [rows["delhi"].pk]},
            follow=True,
        )
    assert "1 notification(s) will be sent again." in response.content.decode()
    rows["delhi"].refresh_from_db()
    assert (rows["delhi"].status, rows["delhi"].attempts) == ("pending", 0)
    assert published == [rows["delhi"].pk]


def test_the_admin_action_refuses_what_the_api_refuses(delhi_coordinator, delhi_manager, rows, published):
    response = client_for(delhi_coordinator).post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": [rows["delhi"].pk]}, follow=True
    )
    assert "Only a manager of the office" in response.content.decode()
    Notification.objects.filter(pk=rows["delhi"].pk).update(status="sent")
    response = client_for(delhi_manager).post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": [rows["delhi"].pk]}, follow=True
    )
    assert "Only a failed notification can be sent again" in response.content.decode()
    assert published == []


def test_a_superuser_without_a_membership_sees_no_notification(rows, published):
    admin = User.objects.create_superuser("root", "root@clinic.example", "pw")
    client = client_for(admin)
    # Office membership, not the superuser flag, opens patient data (SPEC §1).
    assert client.get(CHANGELIST).status_code == 403
    response = client.get(f"{CHANGELIST}{rows['europe'].pk}/change/")
    assert response.status_code in (302, 403, 404)
    assert published == []
