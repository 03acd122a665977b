"""The queue page (SPEC §8): scoped, filtered, sorted by reply due time, SLA badges in the office's time."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.workflow.conftest import advance, submit
from workflow import services
from workflow.actors import Actor

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
# SPEC §2's first worked example: received Mon 23 Nov 10:00 in Delhi, due Thu 26 Nov 10:00 (24 Nov is a holiday).
RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def references(response) -> list[str]:
    return re.findall(r'class="ref">([A-Z]{3}-\d{4}-\d{5})<', response.content.decode())


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page():
    response = Client().get("/staff/?state=received")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=/staff/%3Fstate%3Dreceived"


def test_a_user_without_an_office_is_told_why_there_is_nothing_to_see(outsider):
    response = signed_in(outsider).get("/staff/")
    assert response.status_code == 403
    assert b"You are not a member of any office" in response.content
    assert b"Ask an office manager" in response.content


def test_a_coordinator_sees_only_the_applications_of_their_office(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False):
        mine = submit(country="IN")
        theirs = submit(country="DE", office="europe")
        response = signed_in(delhi_coordinator).get("/staff/")
    assert response.status_code == 200
    assert references(response) == [mine.reference]
    assert theirs.reference not in response.content.decode()


def test_it_is_sorted_by_reply_due_time_with_no_reply_owed_last(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False) as clock:
        first = submit()
        clock.shift(3600)
        second = submit()
        answered = submit()
        services.message_post(application=answered, actor=Actor.staff(delhi_coordinator), kind="reply", body="Hi")
        response = signed_in(delhi_coordinator).get("/staff/")
    assert references(response) == [first.reference, second.reference, answered.reference]


def test_received_order_is_offered_both_ways(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False) as clock:
        first = submit()
        clock.shift(3600)
        second = submit()
        client = signed_in(delhi_coordinator)
        newest = client.get("/staff/?ordering=-received_at")
        oldest = client.get("/staff/?ordering=received_at")
    assert references(newest) == [second.reference, first.reference]
    assert references(oldest) == [first.reference, second.reference]


def test_each_row_shows_its_due_time_in_the_office_zone_and_the_working_time_left(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False) as clock:
        submit()
        clock.move_to(datetime(2026, 11, 25, 10, 0, tzinfo=KOLKATA))  # one working day later (24th: holiday)
        html = signed_in(delhi_coordinator).get("/staff/").content.decode()
    assert 'due <time datetime="2026-11-26T04:30:00+00:00">Thu 26 Nov 2026, 10:00 IST</time>' in html
    assert "9 h working time left" in html  # 09:30–18:30 is nine hours a day
    assert "On track" in html


def test_an_overdue_application_says_how_much_working_time_is_over(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False) as clock:
        submit()
        clock.move_to(datetime(2026, 11, 26, 12, 30, tzinfo=KOLKATA))
        html = signed_in(delhi_coordinator).get("/staff/").content.decode()
    assert "Overdue" in html
    assert "2 h 30 min working time over" in html


def test_a_europe_row_is_in_berlin_time_with_the_zone_named(europe_coordinator):
    with time_machine.travel(datetime(2026, 12, 18, 16, 0, tzinfo=BERLIN), tick=False):
        submit(country="DE", office="europe")
        html = signed_in(europe_coordinator).get("/staff/").content.decode()
    assert "Tue 22 Dec 2026, 16:00 CET" in html


@pytest.fixture
def mixed_queue(delhi_coordinator):
    """Delhi: one breached, one due soon, one on track, one with no reply owed (quoted), assigned variously."""
    with time_machine.travel(datetime(2026, 11, 30, 9, 30, tzinfo=KOLKATA), tick=False) as clock:
        breached = submit(full_name="Rajesh Thapa", email="rajesh@example.org")
        clock.move_to(datetime(2026, 12, 1, 11, 0, tzinfo=KOLKATA))
        due_soon = submit(full_name="Farhana Akter", email="farhana@example.org")
        clock.move_to(datetime(2026, 12, 2, 17, 0, tzinfo=KOLKATA))
        on_track = submit(full_name="Ananya Iyer", email="ananya@example.org")
        quoted = advance(submit(full_name="Omar Khan", email="omar@example.org"), "quoted")
        services.application_assign(
            application=on_track, actor=Actor.staff(delhi_coordinator), user_id=delhi_coordinator.pk
        )
    return {"breached": breached, "due_soon": due_soon, "on_track": on_track, "quoted": quoted}


NOW = datetime(2026, 12, 2, 17, 30, tzinfo=KOLKATA)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sla=breached", ["breached"]),
        ("sla=due_soon", ["due_soon"]),
        ("sla=on_track", ["on_track"]),
        ("state=quoted", ["quoted"]),
        ("assigned=me", ["on_track"]),
        ("assigned=none", ["breached", "due_soon", "quoted"]),
        ("q=farhana", ["due_soon"]),
        ("q=omar%40example", ["quoted"]),
        ("office=delhi&sla=breached", ["breached"]),
    ],
)
def test_each_filter_narrows_the_queue(delhi_coordinator, mixed_queue, query, expected):
    with time_machine.travel(NOW, tick=False):
        response = signed_in(delhi_coordinator).get(f"/staff/?{query}")
    assert response.status_code == 200
    assert references(response) == [mixed_queue[name].reference for name in expected]


def test_searching_by_reference_finds_that_application(delhi_coordinator, mixed_queue):
    reference = mixed_queue["quoted"].reference
    with time_machine.travel(NOW, tick=False):
        response = signed_in(delhi_coordinator).get(f"/staff/?q={reference.lower()}")
    assert references(response) == [reference]


def test_the_filters_stay_in_the_form_and_in_every_link(delhi_coordinator, mixed_queue):
    with time_machine.travel(NOW, tick=False):
        html = signed_in(delhi_coordinator).get("/staff/?state=received&assigned=none&q=a").content.decode()
    assert '<option value="received" selected>' in html
    assert '<option value="none" selected>' in html
    # The SLA count links and the sort links keep the other filters.
    assert 'href="?state=received&amp;assigned=none&amp;q=a&amp;sla=breached"' in html
    assert 'ordering=received_at"' in html and "state=received&amp;assigned=none&amp;q=a&amp;ordering" in html


def test_the_counts_per_sla_status_ignore_the_sla_filter_but_keep_the_others(delhi_coordinator, mixed_queue):
    with time_machine.travel(NOW, tick=False):
        html = signed_in(delhi_coordinator).get("/staff/?sla=breached").content.decode()
    counts = dict(re.findall(r"sla-count--(\w+)\"[^>]*>\s*[^<]*<span class=\"sla-count__n\">(\d+)</span>", html))
    assert counts == {"breached": "1", "due_soon": "1", "on_track": "1"}
    with time_machine.travel(NOW, tick=False):
        html = signed_in(delhi_coordinator).get("/staff/?assigned=me").content.decode()
    counts = dict(re.findall(r"sla-count--(\w+)\"[^>]*>\s*[^<]*<span class=\"sla-count__n\">(\d+)</span>", html))
    assert counts == {"breached": "0", "due_soon": "0", "on_track": "1"}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("state=lost", "id_state", "Select a valid choice"),
        ("sla=late", "id_sla", "Select a valid choice"),
        ("office=mars", "id_office", "Select a valid choice"),
        ("assigned=7", "id_assigned", "Select a valid choice"),
        ("ordering=name", "id_ordering", "Select a valid choice"),
    ],
)
def test_a_bad_filter_is_a_form_error_with_a_link_to_its_field(delhi_coordinator, query, field, message):
    submit()
    response = signed_in(delhi_coordinator).get(f"/staff/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert f'href="#{field}"' in html
    assert message in html
    assert references(response) == []
    assert "<title>Error:" in html


def test_another_office_is_not_a_choice(delhi_coordinator):
    response = signed_in(delhi_coordinator).get("/staff/?office=europe")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_manager_of_both_offices_sees_both_and_can_pick_one(db):
    from tests.conftest import make_staff

    manager = make_staff("ravi", {"delhi": "manager", "europe": "manager"})
    with time_machine.travel(RECEIVED, tick=False):
        delhi_app = submit()
        europe_app = submit(country="DE", office="europe")
        client = signed_in(manager)
        both = client.get("/staff/")
        europe_only = client.get("/staff/?office=europe")
    assert set(references(both)) == {delhi_app.reference, europe_app.reference}
    assert references(europe_only) == [europe_app.reference]


def test_the_minute_refresh_returns_only_the_results_with_the_same_filters(delhi_coordinator, mixed_queue):
    with time_machine.travel(NOW, tick=False):
        response = signed_in(delhi_coordinator).get("/staff/?sla=due_soon", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-results"')
    assert "<html" not in html
    assert 'hx-get="/staff/?sla=due_soon"' in html
    assert 'hx-trigger="every 60s"' in html
    assert references(response) == [mixed_queue["due_soon"].reference]


def test_the_page_serves_htmx_from_our_own_static_files(delhi_coordinator):
    html = signed_in(delhi_coordinator).get("/staff/").content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    assert any("htmx" in src for src in scripts)


def test_pages_of_fifty_keep_the_filters(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False):
        for _ in range(51):
            submit()
        client = signed_in(delhi_coordinator)
        first = client.get("/staff/?state=received")
        second = client.get("/staff/?state=received&page=2")
    assert len(references(first)) == 50
    assert len(references(second)) == 1
    assert 'href="?state=received&amp;page=2"' in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def queries_for(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_the_page_runs_the_same_number_of_queries_whatever_its_size(delhi_coordinator, django_assert_max_num_queries):
    with time_machine.travel(RECEIVED, tick=False):
        first = submit()
        services.application_assign(
            application=first, actor=Actor.staff(delhi_coordinator), user_id=delhi_coordinator.pk
        )
        client = signed_in(delhi_coordinator)
        client.get("/staff/")  # the session's first read is not the page's
        one = queries_for(client, "/staff/")
        for number in range(40):
            if number % 2:
                submit(country="DE", office="europe")
                continue
            app = submit()
            if number % 4 == 0:
                services.application_assign(
                    application=app, actor=Actor.staff(delhi_coordinator), user_id=delhi_coordinator.pk
                )
        forty = queries_for(client, "/staff/")
        # A search collects its matches through the trigram indexes first: one query more, no more.
        with django_assert_max_num_queries(one + 1):
            client.get("/staff/?state=received&assigned=none&q=priya")
    assert forty == one


@pytest.mark.parametrize("query", ["q=priya", "sla=due_soon", ""], ids=["a search", "sla=due_soon", "no filter"])
@pytest.mark.parametrize("both_offices", [False, True], ids=["one office", "a manager of both offices"])
def test_each_kind_of_page_runs_the_same_queries_for_3_rows_as_for_60(delhi_coordinator, query, both_offices):
    from tests.conftest import make_staff

    user = make_staff("ravi", {"delhi": "manager", "europe": "manager"}) if both_offices else delhi_coordinator
    client = signed_in(user)

    def add(count: int) -> None:
        # Received at 10:00 on Monday: at 17:30 on Wednesday their reply is due soon (SPEC §2's example).
        with time_machine.travel(RECEIVED, tick=False):
            for number in range(count):
                europe = both_offices and number % 2
                submit(full_name=f"Priya Sharma {number}", country="DE" if europe else "IN")

    def queries() -> tuple[int, int]:
        with time_machine.travel(datetime(2026, 11, 25, 17, 30, tzinfo=KOLKATA), tick=False):
            client.get(f"/staff/?{query}")  # the session's first read is not the page's
            with CaptureQueriesContext(connection) as captured:
                response = client.get(f"/staff/?{query}")
        assert response.status_code == 200
        return len(captured.captured_queries), len(references(response))

    add(3)
    few, few_rows = queries()
    add(57)
    many, many_rows = queries()

    assert 0 < few_rows < many_rows
    assert many == few


def test_a_page_past_the_last_shows_the_last_page(delhi_coordinator):
    with time_machine.travel(RECEIVED, tick=False):
        for _ in range(51):
            submit()
        client = signed_in(delhi_coordinator)
        beyond = client.get("/staff/?page=9")
        garbage = client.get("/staff/?page=last-but-one")
    assert len(references(beyond)) == 1
    assert "Page 2 of 2" in beyond.content.decode()
    assert len(references(garbage)) == 50
