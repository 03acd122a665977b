"""The dashboard (SPEC §8): the reports' figures per office, as charts and tables, for the user's offices.

The dataset is built through the services at frozen times; the page's tables are compared with what
the reports (`sla_report`, `follow_up_report`) and the funnel selector give for the same periods.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from offices.models import Membership, Office
from tests.conftest import make_staff
from tests.workflow.conftest import advance, office_staff, submit
from workflow import selectors, services
from workflow.actors import Actor
from workflow.models import Application
from workflow.reports import iso_weeks, sla_report, sla_report_weekly
from workflow.reports_follow_up import follow_up_report
from workflow.services.aftercare_sweeps import follow_up_missed_sweep

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
BERLIN = ZoneInfo("Europe/Berlin")
# A Thursday: the 8 weeks shown run from Monday 12 October to Sunday 6 December 2026 (Delhi).
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=IST)
ANSWERS = services.Answers(overall_change=1, fatigue=4, joint_pain=3, flares=1, current_medications="HCQ")


def at(text: str, tz: ZoneInfo = IST) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def received(when: datetime, *, office: str = "delhi", **details: Any) -> Application:
    with time_machine.travel(when, tick=False):
        extra = {"country": "DE"} if office == "europe" else {}
        return submit(office=office, **{**extra, **details})


def reply(application: Application, when: datetime) -> None:
    coordinator = office_staff(application.office)["coordinator"]
    services.message_post(application=application, actor=coordinator, kind="reply", body="Hello", now=when)


def discharged_on(day: date) -> Application:
    admitted = datetime.combine(day - timedelta(days=6), datetime.min.time(), tzinfo=IST).replace(hour=10)
    app = advance(submit(now=admitted, office="delhi"), "admitted", now=admitted)
    return services.application_discharge(
        application=app,
        actor=office_staff(app.office)["physician"],
        discharge_date=day,
        summary="Tolerated well",
        now=datetime.combine(day, datetime.min.time(), tzinfo=IST).replace(hour=12),
    )


def build_dataset(extra: int = 0, *, weeks_later: int = 0) -> None:
    """Delhi: replies met, breached and pending across weeks, applications at several states, follow-up
    reviews answered, missed and pending. Europe: its own application, never to be seen from Delhi.
    `extra` more Delhi applications make the dataset larger without changing its shape; `weeks_later`
    moves it all by whole weeks (the browser test puts it around today's date)."""
    shift = timedelta(weeks=weeks_later)

    def t(text: str, tz: ZoneInfo = IST) -> datetime:
        return at(text, tz) + shift

    quick = received(t("2026-11-23 10:00"))
    reply(quick, t("2026-11-23 12:00"))
    late = received(t("2026-11-23 10:00"))
    reply(late, t("2026-11-26 11:00"))
    received(t("2026-11-25 10:00"))  # never answered: breached by now
    received(t("2026-12-02 15:00"))  # not yet due: pending
    with time_machine.travel(t("2026-11-10 10:00"), tick=False):
        advance(submit(), "quoted")
    with time_machine.travel(t("2026-11-04 10:00"), tick=False):
        advance(submit(), "declined")
    with time_machine.travel(t("2026-10-20 10:00"), tick=False):
        advance(submit(), "withdrawn")
    for n in range(extra):
        day = f"2026-11-{16 + n % 5:02d}"
        app = received(t(f"{day} 11:00"), full_name=f"Extra {n}")
        if n % 2:
            reply(app, t(f"{day} 15:00"))
    # Follow-up: the 1-month reviews fall due on 1 Nov (missed), 5 Nov (answered) and 25 Nov (pending).
    missed = discharged_on(date(2026, 10, 1) + shift)
    answered = discharged_on(date(2026, 10, 5) + shift)
    discharged_on(date(2026, 10, 25) + shift)
    review = answered.reviews.get(months=1)
    services.review_answer_submit(
        review=review,
        application=answered,
        actor=Actor.patient(),
        answers=ANSWERS,
        channel="portal",
        now=datetime.combine(review.due_date, datetime.min.time(), tzinfo=IST).replace(hour=15),
    )
    assert missed.reviews.get(months=1).due_date < (NOW + shift - timedelta(days=31)).date()
    follow_up_missed_sweep(NOW + shift)
    # Europe, in the same weeks.
    europe = received(t("2026-11-24 10:00", BERLIN), office="europe", full_name="Anna Berg")
    services.message_post(
        application=europe,
        actor=office_staff(europe.office)["coordinator"],
        kind="reply",
        body="Hallo",
        now=t("2026-11-24 11:00", BERLIN),
    )


class Tables(HTMLParser):
    """The page's figure tables: {data-figures: [[cell text, …] per body row]}, and the images' sources."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "table" and "data-figures" in attributes:
            self._table = attributes["data-figures"]
            self.tables.setdefault(self._table, [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table and self._in_body:
            self._row = []
        elif tag in {"th", "td"} and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"th", "td"} and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def shown(value: Any) -> str:
    return "–" if value is None else str(value)


def sign_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def dashboard(client: Client, **query: Any) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.get("/staff/dashboard/", query)


def chart(client: Client, name: str, **query: Any) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/staff/dashboard/charts/{name}.svg", query)


@pytest.fixture
def dataset() -> None:
    build_dataset()


def test_the_reply_promise_table_shows_the_sla_reports_figures_week_by_week(client, delhi_manager, dataset, delhi):
    response = dashboard(sign_in(client, delhi_manager))
    assert response.status_code == 200
    rows = tables_of(response.content.decode()).tables["sla"]
    weeks = iso_weeks(office=delhi, now=NOW, weeks=8)
    assert len(rows) == 8
    for (monday, sunday), row in zip(weeks, rows, strict=True):
        [report] = sla_report(offices=[delhi], start=monday, end=sunday, now=NOW)
        year, week, _ = monday.isocalendar()
        assert row[0].startswith(f"{year}-W{week:02d}")
        assert row[1:] == [
            str(report["opened"]),
            str(report["met"]),
            str(report["breached"]),
            str(report["pending"]),
            str(report["closed_unanswered"]),
            shown(report["percent_met"]),
            shown(report["median_reply_hours"]),
        ]
    # The week of 23 November as built: one met, two breached (one late, one never answered).
    w48 = next(row for row in rows if row[0].startswith("2026-W48"))
    assert w48[1:4] == ["3", "1", "2"]
    w49 = next(row for row in rows if row[0].startswith("2026-W49"))
    assert w49[4] == "1"


def test_the_weekly_sla_report_is_the_sla_report_of_each_week():
    build_dataset(extra=5)
    delhi = Office.objects.get(code="delhi")
    weekly = sla_report_weekly(offices=[delhi], weeks=8, now=NOW)
    assert [row["week"] for row in weekly] == [f"2026-W{n}" for n in range(42, 50)]
    for row in weekly:
        [report] = sla_report(offices=[delhi], start=row["from"], end=row["to"], now=NOW)
        assert {key: value for key, value in row.items() if key != "week"} == report
    assert sum(row["opened"] for row in weekly) >= 10


def test_the_funnel_counts_each_state_of_the_applications_received_in_the_period(client, delhi_coordinator, dataset):
    response = dashboard(sign_in(client, delhi_coordinator))
    rows = tables_of(response.content.decode()).tables["funnel"]
    delhi = Office.objects.get(code="delhi")
    start, end = iso_weeks(office=delhi, now=NOW, weeks=8)[0][0], iso_weeks(office=delhi, now=NOW, weeks=8)[-1][1]
    counts = selectors.application_funnel(actor=Actor.staff(delhi_coordinator), periods={delhi: (start, end)})
    assert [row[0] for row in rows] == [
        "Received",
        "Medically reviewed",
        "Quoted",
        "Admitted",
        "Discharged",
        "In follow-up",
        "Completed",
        "Declined",
        "Withdrawn",
    ]
    assert [int(row[1]) for row in rows] == [counts[delhi.pk][state] for state in selectors.FUNNEL_STATES]
    # As built: four received in the period, one quoted, one declined, one withdrawn; of the three
    # discharged patients, two applied in September, before the period, one on 19 October.
    by_state = dict(zip(selectors.FUNNEL_STATES, (int(row[1]) for row in rows), strict=True))
    assert (by_state["received"], by_state["quoted"], by_state["declined"], by_state["withdrawn"]) == (4, 1, 1, 1)
    assert by_state["discharged"] == 1


def test_the_funnel_is_one_grouped_query_and_leaves_out_offices_not_the_actors(delhi_coordinator, dataset):
    delhi, europe = Office.objects.get(code="delhi"), Office.objects.get(code="europe")
    period = (date(2026, 10, 1), date(2026, 12, 31))
    actor = Actor.staff(delhi_coordinator)
    with CaptureQueriesContext(connection) as queries:
        funnel = selectors.application_funnel(actor=actor, periods={delhi: period, europe: period})
    assert len(queries) == 1
    assert set(funnel) == {delhi.pk}
    # The two patients who applied in September are before the period.
    since = datetime(2026, 10, 1, tzinfo=IST)
    assert sum(funnel[delhi.pk].values()) == Application.objects.filter(office=delhi, received_at__gte=since).count()
    assert Application.objects.filter(office=delhi, received_at__lt=since).count() == 2


def test_the_follow_up_table_shows_the_outcome_reports_due_answered_missed_and_pending(
    client, delhi_physician, dataset
):
    response = dashboard(sign_in(client, delhi_physician))
    rows = tables_of(response.content.decode()).tables["follow-up"]
    delhi = Office.objects.get(code="delhi")
    weeks = iso_weeks(office=delhi, now=NOW, weeks=8)
    report = follow_up_report(offices=[delhi], start=weeks[0][0], end=weeks[-1][1])
    assert [row[0] for row in rows] == ["1 month", "3 months", "6 months", "12 months", "24 months"]
    assert [row[1:] for row in rows] == [
        [str(r["due"]), str(r["answered"]), str(r["missed"]), str(r["pending"]), shown(r["response_rate"])]
        for r in report["rows"]
    ]
    assert rows[0][1:] == ["3", "1", "1", "1", "50.0"]


def test_another_offices_figures_never_appear(client, europe_coordinator, dataset):
    response = dashboard(sign_in(client, europe_coordinator))
    html = response.content.decode()
    assert "Delhi" not in html.split('<main id="main"', 1)[1]
    parsed = tables_of(html)
    assert sum(int(row[1]) for row in parsed.tables["sla"]) == 1  # Europe's one obligation
    assert sum(int(row[1]) for row in parsed.tables["funnel"]) == 1
    assert all("office=europe" in image["src"] for image in parsed.images)
    # Asking for Delhi by name is a form error, not Delhi's figures.
    refused = dashboard(client, office="delhi")
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert 'data-figures="sla"' not in refused.content.decode()
    # And Delhi's charts do not exist for them.
    assert chart(client, "sla", office="delhi").status_code == 404


def test_a_user_of_two_offices_sees_both_and_can_pick_one(client, dataset):
    both = make_staff("nina", {"delhi": Membership.Role.COORDINATOR, "europe": Membership.Role.COORDINATOR})
    html = dashboard(sign_in(client, both)).content.decode()
    assert 'id="office-delhi"' in html and 'id="office-europe"' in html
    assert "Asia/Kolkata (IST)" in html and "Europe/Berlin (CET)" in html
    only_europe = dashboard(client, office="europe", weeks="4").content.decode()
    assert 'id="office-delhi"' not in only_europe
    assert len(tables_of(only_europe).tables["sla"]) == 4


def test_managers_also_see_the_open_work_per_assignee(client, delhi_manager, dataset):
    delhi = Office.objects.get(code="delhi")
    manager = office_staff(delhi)["manager"]
    app = Application.objects.filter(office=delhi, state="received").order_by("received_at").first()
    services.application_assign(application=app, actor=manager, user_id=delhi_manager.pk, now=NOW)
    response = dashboard(sign_in(client, delhi_manager))
    html = response.content.decode()
    assert "data-manager-only" in html
    rows = tables_of(html).tables["workload"]
    expected = selectors.open_work_by_assignee(actor=Actor.staff(delhi_manager), offices=[delhi], now=NOW)
    assert [row[0] for row in rows] == [r["assignee"] or "Nobody" for r in expected]
    assert [row[1:] for row in rows] == [[str(r["open"]), str(r["overdue"]), str(r["due_soon"])] for r in expected]
    assert rows[0][0] == "meera" and rows[0][1] == "1"
    assert rows[-1][0] == "Nobody"


@pytest.mark.parametrize("persona", ["delhi_coordinator", "delhi_physician"])
def test_coordinators_and_physicians_read_the_charts_but_not_the_work_per_assignee(client, request, persona, dataset):
    user = request.getfixturevalue(persona)
    response = dashboard(sign_in(client, user))
    html = response.content.decode()
    assert response.status_code == 200
    assert set(tables_of(html).tables) == {"sla", "funnel", "follow-up"}
    assert "data-manager-only" not in html
    assert "shown to the office&#x27;s managers" in html or "shown to the office's managers" in html
    assert '<form method="post"' not in html.split('<main id="main"', 1)[1]


def test_an_outsider_is_told_they_have_no_office_and_sees_no_figure(client, outsider, dataset):
    response = dashboard(sign_in(client, outsider))
    assert response.status_code == 403
    assert "data-figures" not in response.content.decode()
    assert chart(client, "sla", office="delhi").status_code == 403


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login(client):
    response = client.get("/staff/dashboard/charts/sla.svg", {"office": "delhi"})
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


@pytest.mark.parametrize("name", ["sla", "funnel", "follow-up"])
def test_each_chart_is_a_valid_svg_with_no_script_and_no_outside_reference(client, delhi_coordinator, dataset, name):
    response = chart(sign_in(client, delhi_coordinator), name, office="delhi", weeks="8")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own response
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in svg
    assert "<!--" not in svg
    assert set(re.findall(r"https?://[^\s\"'<>)]*", svg)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert " style=" not in svg
    policy = response["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "unsafe" not in policy


def test_the_sla_chart_draws_the_tables_figures(client, delhi_coordinator, dataset):
    sign_in(client, delhi_coordinator)
    rows = tables_of(dashboard(client).content.decode()).tables["sla"]
    svg = chart(client, "sla", office="delhi").content.decode()
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own response
    ns = {"svg": "http://www.w3.org/2000/svg"}
    labels = [text.text for text in root.iterfind(".//svg:g[@class='axis x always_show']//svg:text", ns)] or [
        text.text for text in root.iterfind(".//svg:g[@class='axis x']//svg:text", ns)
    ]
    assert labels == [row[0].split()[0].split("-")[1] for row in rows]  # "2026-W49 30 Nov – 6 Dec": "W49"
    # pygal writes each bar's value in its <desc class="value">: per series (met, breached, pending,
    # closed unanswered), one per week, in the table's order.
    series = [
        [float(desc.text or 0) for desc in serie.iterfind(".//svg:desc[@class='value']", ns)]
        for serie in root.iterfind(".//svg:g[@class='plot']/svg:g", ns)
        if "series" in (serie.get("class") or "")
    ]
    assert series == [[float(row[column]) for row in rows] for column in (2, 3, 4, 5)]


def test_a_period_that_is_not_offered_is_a_form_error_naming_the_field(client, delhi_coordinator):
    response = dashboard(sign_in(client, delhi_coordinator), weeks="9999")
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'href="#id_weeks"' in html
    assert chart(client, "sla", office="delhi", weeks="abc").status_code == 400
    assert chart(client, "pie", office="delhi").status_code == 404


def test_the_dashboard_runs_the_same_number_of_queries_whatever_the_data_size(
    client, delhi_manager, django_assert_max_num_queries
):
    sign_in(client, delhi_manager)
    build_dataset()
    with django_assert_max_num_queries(16) as small:
        assert dashboard(client).status_code == 200
    build_dataset(extra=30)
    assert Application.objects.count() > 40
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert dashboard(client).status_code == 200


def test_a_week_starts_at_monday_midnight_in_the_offices_zone_across_the_clock_change(europe):
    # Berlin leaves summer time on Sunday 25 October 2026. Monday 26 October, 00:30 in Berlin is still
    # Sunday in UTC: it belongs to week 44, the week that Monday begins.
    sunday_night = received(at("2026-10-25 23:30", BERLIN), office="europe", full_name="Late Sunday")
    monday_early = received(at("2026-10-26 00:30", BERLIN), office="europe", full_name="Early Monday")
    assert monday_early.received_at.astimezone(ZoneInfo("UTC")).date() == date(2026, 10, 25)
    assert sunday_night.received_at < monday_early.received_at
    weekly = {row["week"]: row for row in sla_report_weekly(offices=[europe], weeks=8, now=NOW)}
    assert (weekly["2026-W43"]["opened"], weekly["2026-W44"]["opened"]) == (1, 1)
    for row in weekly.values():
        [report] = sla_report(offices=[europe], start=row["from"], end=row["to"], now=NOW)
        assert row["opened"] == report["opened"]


def test_a_manager_of_one_office_and_coordinator_of_another_sees_the_work_per_person_of_the_first_only(client, dataset):
    user = make_staff("ravi", {"delhi": Membership.Role.MANAGER, "europe": Membership.Role.COORDINATOR})
    html = dashboard(sign_in(client, user)).content.decode()
    assert 'id="office-delhi"' in html and 'id="office-europe"' in html
    assert html.count("data-manager-only") == 1
    assert "Open applications in Delhi by assignee" in html
    assert "Open applications in Europe by assignee" not in html


def test_a_chart_runs_the_same_number_of_queries_whatever_the_data_size(
    client, delhi_coordinator, django_assert_max_num_queries
):
    sign_in(client, delhi_coordinator)
    build_dataset()
    counts = {}
    for name in ("sla", "funnel", "follow-up"):
        with django_assert_max_num_queries(12) as queries:
            assert chart(client, name, office="delhi").status_code == 200
        counts[name] = len(queries.captured_queries)
    build_dataset(extra=30)
    for name in ("sla", "funnel", "follow-up"):
        with django_assert_max_num_queries(counts[name]):
            assert chart(client, name, office="delhi").status_code == 200
