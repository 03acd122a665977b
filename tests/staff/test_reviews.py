"""The physicians' review list (SPEC §8): received applications of their offices, most urgent reply first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from offices.models import Membership
from tests.conftest import make_staff
from tests.workflow.conftest import advance, submit
from workflow import selectors
from workflow.actors import Actor

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def references(html: str) -> list[str]:
    return re.findall(r'<h2 id="review-\d+"><a href="[^"]+" class="ref">([A-Z]+-\d+-\d+)</a>', html)


def test_it_lists_the_received_applications_of_the_physicians_offices_most_urgent_first(
    delhi_physician: User,
) -> None:
    now = timezone.now()
    recent = submit(full_name="Recent Patient", now=now - timedelta(minutes=5))
    oldest = submit(full_name="Oldest Patient", now=now - timedelta(days=6))
    middle = submit(full_name="Middle Patient", now=now - timedelta(days=1))
    reviewed = advance(submit(full_name="Reviewed Patient"), "medically_reviewed")
    europe = submit(full_name="Europe Patient", office="europe")

    response = signed_in(delhi_physician).get("/staff/reviews/")

    assert response.status_code == 200
    listed = references(response.content.decode())
    assert listed == [oldest.reference, middle.reference, recent.reference]
    assert reviewed.reference not in listed and europe.reference not in listed


def test_each_entry_carries_what_a_physician_needs_and_the_reply_promise(delhi_physician: User) -> None:
    submit(now=timezone.now() - timedelta(days=8), medical_history="Lupus nephritis class III, 2021. " * 30)

    html = signed_in(delhi_physician).get("/staff/reviews/").content.decode()

    assert "Systemic lupus erythematosus" in html
    assert "Sat 01 Jun 2019" in html  # diagnosis date
    assert "Hydroxychloroquine 200 mg" in html
    assert "Lupus nephritis class III" in html
    assert "…" in html  # a long history is cut short; the application page has it whole
    assert "Overdue" in html


def test_its_forms_approve_and_decline_through_the_step_endpoint_and_come_back(delhi_physician: User) -> None:
    application = submit()

    html = signed_in(delhi_physician).get("/staff/reviews/").content.decode()

    for name in ("approve_review", "decline"):
        assert f'action="{reverse("staff:act", args=[application.reference, name])}"' in html
    assert html.count('name="next" value="/staff/reviews/"') == 2
    assert f'id="r{application.pk}-approve_review-review_notes"' in html  # ids unique per application


def test_a_coordinator_gets_a_page_that_says_the_list_is_for_physicians(delhi_coordinator: User) -> None:
    application = submit()

    response = signed_in(delhi_coordinator).get("/staff/reviews/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "This list is for physicians" in html
    assert application.reference not in html


def test_a_physician_in_one_office_and_coordinator_in_the_other_sees_only_the_first() -> None:
    user = make_staff("dr_mixed", {"delhi": Membership.Role.COORDINATOR, "europe": Membership.Role.PHYSICIAN})
    delhi_case = submit()
    europe_case = submit(office="europe")

    listed = references(signed_in(user).get("/staff/reviews/").content.decode())

    assert listed == [europe_case.reference]
    assert delhi_case.reference not in listed
    assert [a.pk for a in selectors.applications_awaiting_review(actor=Actor.staff(user))] == [europe_case.pk]


def test_the_list_runs_a_fixed_number_of_queries_whatever_its_length(delhi_physician: User) -> None:
    client = signed_in(delhi_physician)
    submit()
    with CaptureQueriesContext(connection) as one:
        client.get("/staff/reviews/")
    for _ in range(6):
        submit()
    with CaptureQueriesContext(connection) as seven:
        response = client.get("/staff/reviews/")

    assert len(references(response.content.decode())) == 7
    assert len(seven) == len(one)
