"""The outcome report (SPEC §5): a hand-built cohort whose figures are written out below, by hand.

The cohort is built row by row (reviews and answer versions), not through the sweeps, so that each
row's status is exactly the one the expected figures assume.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from offices.models import Office
from tests.workflow.conftest import office_staff, submit
from workflow import services
from workflow.models import Application, FollowUpReview, QuestionnaireAnswer
from workflow.models.application import DEFAULT_PROTOCOL
from workflow.reports_follow_up import DEFINITIONS, follow_up_report, protocol_key

pytestmark = pytest.mark.django_db

VARIANT = [
    {"day": 1, "activities": ["admission", "consent (ICF) process", "IV injection"]},
    {"day": 2, "activities": ["lumbar puncture (LP) injection"]},
    {"day": 3, "activities": ["rest", "discharge"]},
]


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def review(application: Application, months: int, due: date) -> FollowUpReview:
    return FollowUpReview.objects.create(
        application=application,
        months=months,
        due_date=due,
        window_opens=due - timedelta(days=7),
        window_closes=due + timedelta(days=30),
        invite_at=noon(due),
        remind_at=noon(due + timedelta(days=7)),
        overdue_at=noon(due + timedelta(days=14)),
        closes_at=noon(due + timedelta(days=31)),
    )


def answer(row: FollowUpReview, version: int, change: int, fatigue: int, joint_pain: int) -> None:
    at = noon(row.due_date) + timedelta(days=version)
    QuestionnaireAnswer.objects.create(
        review=row,
        version=version,
        overall_change=change,
        fatigue=fatigue,
        joint_pain=joint_pain,
        flares=0,
        channel="portal",
        submitted_at=at,
    )
    FollowUpReview.objects.filter(pk=row.pk, answered_at__isnull=True).update(answered_at=at)


def missed(row: FollowUpReview) -> None:
    FollowUpReview.objects.filter(pk=row.pk).update(missed_at=noon(row.window_closes + timedelta(days=1)))


def patient(name: str, *, protocol: list[dict[str, Any]] | None = None, **details: Any) -> Application:
    app = submit(full_name=name, email=f"{name.lower()}@example.org", **details)
    if protocol is not None:
        services.application_approve_review(
            application=app, actor=office_staff(app.office)["physician"], review_notes="Eligible", protocol=protocol
        )
    return app


@pytest.fixture
def cohort() -> None:
    """Delhi: five patients on the standard protocol, one on a variant; Europe: one patient.

    1-month reviews due in 2026 —
      Asha     standard  answered "much better" (+2), fatigue 3, joint pain 4
      Bina     standard  answered "a little worse" (−1), fatigue 8, joint pain 5; corrected (version 2)
                         to "a little better" (+1), fatigue 6, joint pain 5: version 2 counts
      Chandra  standard  answered "no change" (0), fatigue 5, joint pain 2
      Dev      standard  missed
      Esha     standard  pending (its window still open)
      Gita     variant   answered "very much better" (+3), fatigue 1, joint pain 1
    Asha's 3-month review is missed; Farah's 1-month review is due in 2027, outside the period.
    Europe: Hanna answered "much worse" (−2), fatigue 7, joint pain 7.
    """
    asha, bina, chandra, dev, esha = (patient(name) for name in ("Asha", "Bina", "Chandra", "Dev", "Esha"))
    gita = patient("Gita", protocol=VARIANT)
    farah = patient("Farah")
    hanna = patient("Hanna", country="DE")
    answer(review(asha, 1, date(2026, 3, 10)), 1, +2, 3, 4)
    missed(review(asha, 3, date(2026, 5, 10)))
    bina_1 = review(bina, 1, date(2026, 3, 12))
    answer(bina_1, 1, -1, 8, 5)
    answer(bina_1, 2, +1, 6, 5)
    answer(review(chandra, 1, date(2026, 4, 1)), 1, 0, 5, 2)
    missed(review(dev, 1, date(2026, 4, 2)))
    review(esha, 1, date(2026, 12, 20))
    answer(review(gita, 1, date(2026, 6, 1)), 1, +3, 1, 1)
    answer(review(farah, 1, date(2027, 1, 5)), 1, +3, 0, 0)
    answer(review(hanna, 1, date(2026, 3, 10)), 1, -2, 7, 7)


def changes(row: dict[str, Any]) -> dict[int, int]:
    return {point["value"]: point["count"] for point in row["overall_change"]}


def delhi_report(**kwargs: Any) -> dict[str, Any]:
    return follow_up_report(
        offices=[Office.objects.get(code="delhi")], start=date(2026, 1, 1), end=date(2026, 12, 31), **kwargs
    )


def test_the_report_counts_every_due_review_and_gives_both_improvement_shares(cohort: None) -> None:
    report = delhi_report()
    rows = {row["months"]: row for row in report["rows"]}
    assert list(rows) == [1, 3, 6, 12, 24]

    one = rows[1]
    assert (one["due"], one["answered"], one["missed"], one["pending"]) == (6, 4, 1, 1)
    assert one["response_rate"] == 80.0  # 4 / (4 + 1)
    # Bina counts once, with her corrected answer (+1), not her first (−1).
    assert changes(one) == {-3: 0, -2: 0, -1: 0, 0: 1, 1: 1, 2: 1, 3: 1}
    assert one["unknown"] == 2  # Dev missed, Esha pending: in the row, not dropped
    assert one["improved"] == 3  # Bina +1, Asha +2, Gita +3
    assert one["improved_of_answered"] == 75.0  # 3 / 4
    assert one["improved_of_due"] == 50.0  # 3 / 6: Dev and Esha count as not known to be improved
    assert one["fatigue"] == {"median": 4.0, "n": 4}  # 1, 3, 5, 6
    assert one["joint_pain"] == {"median": 3.0, "n": 4}  # 1, 2, 4, 5

    three = rows[3]
    assert (three["due"], three["answered"], three["missed"], three["pending"]) == (1, 0, 1, 0)
    assert three["response_rate"] == 0.0
    assert (three["improved_of_answered"], three["improved_of_due"]) == (None, 0.0)
    assert three["fatigue"] == {"median": None, "n": 0}

    assert rows[24]["due"] == 0
    assert (rows[24]["response_rate"], rows[24]["improved_of_due"]) == (None, None)
    assert report["definitions"] == DEFINITIONS
    assert "never dropped" in report["definitions"]["improved_of_due"]


def test_split_by_protocol_names_the_standard_protocol_and_a_variant_by_its_day_plan(cohort: None) -> None:
    report = delhi_report(split_protocol=True)
    variant = protocol_key(VARIANT)
    assert variant.startswith("variant-") and len(variant) == len("variant-") + 10
    assert protocol_key(DEFAULT_PROTOCOL) == "standard"
    rows = {(row["protocol"], row["months"]): row for row in report["rows"]}
    assert sorted({protocol for protocol, _ in rows}) == ["standard", variant]

    standard = rows[("standard", 1)]
    assert (standard["due"], standard["answered"], standard["missed"], standard["pending"]) == (5, 3, 1, 1)
    assert standard["response_rate"] == 75.0  # 3 / (3 + 1)
    assert standard["improved"] == 2  # Asha, Bina
    assert standard["improved_of_answered"] == 66.7  # 2 / 3
    assert standard["improved_of_due"] == 40.0  # 2 / 5
    assert standard["fatigue"] == {"median": 5, "n": 3}  # 3, 5, 6
    assert standard["joint_pain"] == {"median": 4, "n": 3}  # 2, 4, 5

    other = rows[(variant, 1)]
    assert (other["due"], other["answered"], other["improved_of_answered"], other["improved_of_due"]) == (
        1,
        1,
        100.0,
        100.0,
    )
    # Each day plan is shown once, beside its key.
    assert report["protocols"] == [
        {"key": "standard", "standard": True, "day_plan": DEFAULT_PROTOCOL},
        {"key": variant, "standard": False, "day_plan": VARIANT},
    ]


def test_the_same_day_plan_gets_the_same_key_whatever_the_order_of_its_keys() -> None:
    reordered = [{"activities": day["activities"], "day": day["day"]} for day in VARIANT]
    assert protocol_key(reordered) == protocol_key(VARIANT)
    assert protocol_key(VARIANT[:2]) != protocol_key(VARIANT)


# ---- over HTTP ----


def api_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_reads_the_report_with_its_definitions_over_http(cohort: None, delhi_manager: Any) -> None:
    response = api_for(delhi_manager).get("/api/v1/reports/follow-up/", {"from": "2026-01-01", "to": "2026-12-31"})
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["split"]) == ("2026-01-01", "2026-12-31", None)
    assert set(body["definitions"]) >= {"response_rate", "improved_of_answered", "improved_of_due", "overall_change"}
    one = body["rows"][0]
    assert (one["office"], one["months"], one["due"], one["improved_of_answered"], one["improved_of_due"]) == (
        "delhi",
        1,
        6,
        75.0,
        50.0,
    )
    assert one["overall_change"][4] == {"value": 1, "label": "a little better", "count": 1}
    assert [row["office"] for row in body["rows"]] == ["delhi"] * 5  # Hanna's Europe review is not here


def test_split_protocol_over_http(cohort: None, delhi_manager: Any) -> None:
    response = api_for(delhi_manager).get(
        "/api/v1/reports/follow-up/", {"from": "2026-01-01", "to": "2026-12-31", "split": "protocol"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["split"] == "protocol"
    assert [p["key"] for p in body["protocols"]] == ["standard", protocol_key(VARIANT)]
    assert len(body["rows"]) == 10  # two protocols × five review points


def test_the_report_is_for_managers_only(delhi_coordinator: Any) -> None:
    response = api_for(delhi_coordinator).get("/api/v1/reports/follow-up/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_manager_cannot_read_another_offices_outcomes(delhi_manager: Any) -> None:
    response = api_for(delhi_manager).get("/api/v1/reports/follow-up/", {"office": "europe"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-01", "to": "2026-11-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ({"split": "office"}, "split"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(delhi_manager: Any, params: dict[str, str], field: str) -> None:
    response = api_for(delhi_manager).get("/api/v1/reports/follow-up/", params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_without_a_period_the_report_covers_the_365_days_up_to_today(delhi_manager: Any) -> None:
    with time_machine.travel(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False):
        response = api_for(delhi_manager).get("/api/v1/reports/follow-up/")
    assert response.status_code == 200
    assert (response.json()["from"], response.json()["to"]) == ("2025-11-25", "2026-11-24")
