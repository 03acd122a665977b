"""The application page (SPEC §8): what it shows, and that it offers exactly what the services allow.

Personas: asha (Delhi coordinator), dr_rao (Delhi physician), meera (Delhi manager), jonas (Europe
coordinator), who should never see a Delhi application.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from notifications.models import Notification
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.models import Application

pytestmark = pytest.mark.django_db


def page_of(client: Client, application: Application) -> str:
    response = client.get(f"/staff/applications/{application.reference}/")
    assert response.status_code == 200
    return response.content.decode()


def offered(html: str) -> set[str]:
    return set(re.findall(r'data-step="([a-z_]+)"', html))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


STATES = ["received", "medically_reviewed", "quoted", "admitted", "discharged", "in_follow_up", "declined"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ["coordinator", "physician", "manager"])
def test_the_page_offers_exactly_the_available_transitions_and_actions(role: str, state: str) -> None:
    application = advance(submit(), state)
    actor = office_staff(application.office)[role]
    assert actor.user is not None
    now = timezone.now()
    expected = {
        *services.available_transitions(application, actor, now=now),
        *services.available_actions(application, actor, now=now),
    }

    html = page_of(signed_in(actor.user), application)

    assert offered(html) == expected
    assert expected, "every role has at least the conversation to offer"


def test_a_quoted_application_offers_the_quote_steps_the_services_allow(delhi_coordinator: User) -> None:
    application = advance(submit(), "quoted")

    steps = offered(page_of(signed_in(delhi_coordinator), application))

    assert {"revise_quote", "accept_quote", "record_paper_consent", "withdraw"} <= steps
    assert "schedule_admission" not in steps  # only after the patient accepts
    assert "admit" not in steps


def test_a_coordinator_is_never_offered_approve_review_and_a_physician_is(
    delhi_coordinator: User, delhi_physician: User
) -> None:
    application = submit()

    assert "approve_review" not in offered(page_of(signed_in(delhi_coordinator), application))
    assert {"approve_review", "decline"} <= offered(page_of(signed_in(delhi_physician), application))


def test_it_shows_the_patient_and_times_in_the_offices_zone(delhi_coordinator: User) -> None:
    application = submit()

    html = page_of(signed_in(delhi_coordinator), application)

    local = application.received_at.astimezone(application.office.tz)
    assert f"{local:%a %d %b %Y, %H:%M} IST" in html
    for fact in ("Priya Sharma", "priya@example.org", "Systemic lupus erythematosus", "Hydroxychloroquine 200 mg"):
        assert fact in html


def test_the_reply_promise_badge_says_overdue_with_the_local_due_time(delhi_coordinator: User) -> None:
    application = submit(now=timezone.now() - timedelta(days=8))

    html = page_of(signed_in(delhi_coordinator), application)

    assert application.reply_due_at is not None
    due = application.reply_due_at.astimezone(application.office.tz)
    assert "Overdue" in html
    assert f"{due:%a %d %b %Y, %H:%M} IST" in html
    assert "working time over" in html


def test_before_the_review_the_protocol_is_a_day_table_and_after_admission_the_dated_schedule(
    delhi_coordinator: User,
) -> None:
    application = submit()
    html = page_of(signed_in(delhi_coordinator), application)
    assert "Treatment protocol" in html
    assert "lumbar puncture (LP) injection" in html
    assert '"activities"' not in html  # readable, never the raw JSON

    admitted = advance(application, "admitted")
    services.treatment_day_complete(
        application=admitted, actor=office_staff(admitted.office)["coordinator"], day=1, notes="IV given, no reaction"
    )
    html = page_of(signed_in(delhi_coordinator), admitted)
    assert "Treatment schedule" in html
    assert admitted.admission_date is not None
    assert f"{admitted.admission_date:%a %d %b %Y}" in html
    assert "IV given, no reaction" in html


def test_the_quote_shows_its_items_total_validity_and_acceptance(delhi_coordinator: User) -> None:
    application = advance(submit(), "quoted")
    html = page_of(signed_in(delhi_coordinator), application)
    assert "4500.00 INR" in html
    assert "Waiting for the patient&#x27;s acceptance" in html or "Waiting for the patient's acceptance" in html
    assert "Valid until" in html

    services.quote_accept(application=application, actor=office_staff(application.office)["coordinator"])
    assert "Accepted" in page_of(signed_in(delhi_coordinator), application)


def test_aftercare_shows_the_checks_and_the_five_reviews(delhi_coordinator: User) -> None:
    application = advance(submit(), "discharged")

    html = page_of(signed_in(delhi_coordinator), application)

    assert "Monitoring checks" in html
    assert "24 h" in html and "48 h" in html
    for months in ("1 month", "3 months", "6 months", "12 months", "24 months"):
        assert months in html


def test_the_timeline_shows_steps_messages_notes_and_emails_with_their_delivery_status_in_time_order(
    delhi_coordinator: User,
) -> None:
    application = submit(now=timezone.now() - timedelta(hours=3))
    staff = office_staff(application.office)
    services.message_receive(
        application=application,
        actor=staff["coordinator"],
        body="Called to ask about the dates",
        channel="phone",
        received_at=timezone.now() - timedelta(hours=2),
    )
    services.message_post(application=application, actor=staff["coordinator"], kind="note", body="Wants June")
    services.message_post(application=application, actor=staff["coordinator"], kind="reply", body="June works")
    Notification.objects.filter(application=application, kind="outbound_message").update(status="failed")
    Notification.objects.filter(application=application, kind="intake_acknowledgement").update(
        status="sent", sent_at=timezone.now()
    )

    html = page_of(signed_in(delhi_coordinator), application)

    timeline = html[html.index('id="timeline-title"') :]
    order = [
        timeline.index("submitted the application"),
        timeline.index("Called to ask about the dates"),
        timeline.index("Wants June"),
        timeline.index("June works"),
    ]
    assert order == sorted(order)
    assert "From the patient" in timeline and "Phone" in timeline
    assert "Internal note" in timeline
    assert "Failed" in timeline and "Sent" in timeline and "Pending" in timeline


def test_another_offices_application_is_a_staff_404_page(europe_coordinator: User) -> None:
    application = submit()

    response = signed_in(europe_coordinator).get(f"/staff/applications/{application.reference}/")

    assert response.status_code == 404
    assert "Application not found" in response.content.decode()
    assert "Priya" not in response.content.decode()


def test_an_unknown_reference_is_the_same_404_page(delhi_coordinator: User) -> None:
    response = signed_in(delhi_coordinator).get("/staff/applications/DEL-2026-99999/")

    assert response.status_code == 404
    assert "Application not found" in response.content.decode()


def test_signed_out_it_sends_to_the_sign_in_page() -> None:
    application = submit()

    response = Client().get(f"/staff/applications/{application.reference}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_the_page_is_not_cached(delhi_coordinator: User) -> None:
    application = submit()

    response = signed_in(delhi_coordinator).get(f"/staff/applications/{application.reference}/")

    assert "no-store" in response["Cache-Control"]


def test_the_page_carries_no_inline_style_or_script(delhi_physician: User) -> None:
    html = page_of(signed_in(delhi_physician), submit())

    assert "style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None


def test_the_page_reads_the_same_number_of_queries_whatever_the_timeline_length(
    delhi_coordinator: User, django_assert_max_num_queries: object
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    application = submit()
    actor = Actor.staff(delhi_coordinator)
    client = signed_in(delhi_coordinator)
    with CaptureQueriesContext(connection) as short:
        page_of(client, application)
    for number in range(6):
        services.message_post(application=application, actor=actor, kind="note", body=f"note {number}")
        services.message_post(application=application, actor=actor, kind="reply", body=f"reply {number}")
    with CaptureQueriesContext(connection) as long:
        page_of(client, application)

    assert len(long) == len(short)
