"""SPEC §5: the physician changes the protocol before admission; staff mark each schedule day done with notes.

Each through the service and over HTTP (and the admin), with the roles, states and races the rules name.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, TransitionLog, TreatmentDay
from workflow.services import treatment

IST = ZoneInfo("Asia/Kolkata")
# A Monday in Delhi, inside opening hours.
START = datetime(2026, 11, 23, 10, 0, tzinfo=IST)
LATER = START + timedelta(hours=1)

SHORT = [
    {"day": 1, "activities": ["admission", "IV injection"]},
    {"day": 2, "activities": ["lumbar puncture (LP) injection"]},
    {"day": 3, "activities": ["rest", "discharge"]},
]


def at(state: str, *, office: str = "delhi") -> Application:
    country = "IN" if office == "delhi" else "DE"
    app = submit(now=START, office=office, country=country)
    return app if state == "received" else advance(app, state, now=START)


def staff(app: Application, role: str) -> Actor:
    return office_staff(app.office)[role]


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ---- the protocol before admission ----


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["medically_reviewed", "quoted"])
def test_a_physician_changes_the_protocol_before_admission_and_the_history_keeps_old_and_new(state: str) -> None:
    app = at(state)
    before = app.protocol

    changed = services.application_change_protocol(
        application=app, actor=staff(app, "physician"), protocol=SHORT, now=LATER
    )

    assert Application.objects.get(pk=app.pk).protocol == SHORT == changed.protocol
    entry = TransitionLog.objects.get(application=app, action="change_protocol")
    assert (entry.params["from"], entry.params["to"], entry.at) == (before, SHORT, LATER)
    assert (entry.from_state, entry.to_state) == (state, state)


@pytest.mark.django_db
def test_admit_dates_the_protocol_in_force_at_admission() -> None:
    app = at("quoted")
    coordinator = staff(app, "coordinator")
    services.application_change_protocol(application=app, actor=staff(app, "physician"), protocol=SHORT, now=START)
    services.quote_accept(application=app, actor=coordinator, now=START)
    services.admission_schedule(application=app, actor=coordinator, admission_date=START.date(), now=START)
    services.consent_sign_portal(
        application=app, signer_name=app.full_name, ip_address="203.0.113.9", user_agent="pytest", now=START
    )

    services.application_admit(application=app, actor=coordinator, now=LATER)

    days = list(app.treatment_days.order_by("day").values_list("day", "date", "activities"))
    assert days == [
        (1, START.date(), ["admission", "IV injection"]),
        (2, START.date() + timedelta(days=1), ["lumbar puncture (LP) injection"]),
        (3, START.date() + timedelta(days=2), ["rest", "discharge"]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["received", "admitted", "declined"])
def test_the_protocol_cannot_change_before_the_review_or_from_admission_on(state: str) -> None:
    app = at(state)
    before = Application.objects.get(pk=app.pk).protocol

    with pytest.raises(Conflict, match="after the medical review and before admission"):
        services.application_change_protocol(application=app, actor=staff(app, "physician"), protocol=SHORT)

    assert Application.objects.get(pk=app.pk).protocol == before
    assert "change_protocol" not in services.available_actions(app, staff(app, "physician"))


@pytest.mark.django_db
def test_only_a_physician_of_the_office_may_change_the_protocol(europe_physician: User) -> None:
    app = at("quoted")

    for role in ("coordinator", "manager"):
        assert "change_protocol" not in services.available_actions(app, staff(app, role))
        with pytest.raises(NotAllowed):
            services.application_change_protocol(application=app, actor=staff(app, role), protocol=SHORT)
    with pytest.raises(Application.DoesNotExist):
        services.application_change_protocol(application=app, actor=Actor.staff(europe_physician), protocol=SHORT)

    assert "change_protocol" in services.available_actions(app, staff(app, "physician"))
    assert not TransitionLog.objects.filter(action="change_protocol").exists()


BAD_PROTOCOLS = [
    pytest.param([], id="empty"),
    pytest.param([{"day": 2, "activities": ["rest"]}], id="not-numbered-from-1"),
    pytest.param([{"day": 1, "activities": []}], id="a-day-without-activities"),
    pytest.param([{"day": 1, "activities": ["  "]}], id="a-blank-activity"),
    pytest.param([{"day": 1, "activities": [7]}], id="an-activity-that-is-not-text"),
    pytest.param([{"day": 1, "activities": "rest"}], id="activities-not-a-list"),
    pytest.param({"day": 1}, id="not-a-list"),
    pytest.param([{"day": d, "activities": ["rest"]} for d in range(1, 32)], id="31-days"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", BAD_PROTOCOLS)
def test_a_changed_protocol_is_refused_exactly_where_a_reviewed_one_is(protocol: Any) -> None:
    reviewed, received = at("medically_reviewed"), at("received")

    with pytest.raises(ValidationError) as changed:
        services.application_change_protocol(
            application=reviewed, actor=staff(reviewed, "physician"), protocol=protocol
        )
    with pytest.raises(ValidationError) as approved:
        services.application_approve_review(
            application=received, actor=staff(received, "physician"), review_notes="Eligible", protocol=protocol
        )

    assert changed.value.message_dict == approved.value.message_dict
    assert list(changed.value.message_dict) == ["protocol"]


@pytest.mark.django_db
def test_the_same_protocol_again_changes_nothing_and_writes_no_history() -> None:
    app = at("quoted")

    services.application_change_protocol(
        application=app, actor=staff(app, "physician"), protocol=Application.objects.get(pk=app.pk).protocol
    )

    assert not TransitionLog.objects.filter(application=app, action="change_protocol").exists()


@pytest.mark.django_db
@time_machine.travel(LATER, tick=False)
def test_a_physician_changes_the_protocol_over_http(delhi_physician: User, delhi_coordinator: User) -> None:
    app = at("quoted")
    url = f"/api/v1/applications/{app.reference}/protocol/"

    refused = api(delhi_coordinator).post(url, {"protocol": SHORT}, format="json")
    invalid = api(delhi_physician).post(url, {"protocol": [{"day": 3, "activities": ["rest"]}]}, format="json")
    changed = api(delhi_physician).post(url, {"protocol": SHORT}, format="json")

    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert invalid.status_code == 400 and list(invalid.json()["fields"]) == ["protocol"]
    assert changed.status_code == 200
    assert changed.json()["protocol"] == SHORT
    assert "change_protocol" in changed.json()["available_actions"]


@pytest.mark.django_db
@time_machine.travel(LATER, tick=False)
def test_changing_the_protocol_of_an_admitted_patient_over_http_is_a_conflict_and_another_office_a_404(
    delhi_physician: User, europe_physician: User
) -> None:
    admitted = at("admitted")

    conflict = api(delhi_physician).post(
        f"/api/v1/applications/{admitted.reference}/protocol/", {"protocol": SHORT}, format="json"
    )
    hidden = api(europe_physician).post(
        f"/api/v1/applications/{admitted.reference}/protocol/", {"protocol": SHORT}, format="json"
    )

    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"


# ---- schedule days done ----


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["coordinator", "physician", "manager"])
def test_staff_of_the_office_mark_a_treatment_day_done_with_notes(role: str) -> None:
    app = at("admitted")

    day = services.treatment_day_complete(
        application=app, actor=staff(app, role), day=1, notes="  IV given, tolerated well. ", now=LATER
    )

    stored = TreatmentDay.objects.get(application=app, day=1)
    assert (stored.done_at, stored.notes) == (LATER, "IV given, tolerated well.") == (day.done_at, day.notes)
    entry = TransitionLog.objects.get(application=app, action="complete_treatment_day")
    assert entry.params == {"day": 1, "date": START.date().isoformat(), "notes": "IV given, tolerated well."}
    assert (entry.actor, entry.from_state, entry.to_state) == (staff(app, role).user, "admitted", "admitted")


@pytest.mark.django_db
def test_a_day_is_marked_done_once_and_its_notes_are_never_overwritten() -> None:
    app = at("admitted")
    services.treatment_day_complete(application=app, actor=staff(app, "coordinator"), day=1, notes="First", now=LATER)

    # The next day, when day 2 is due too: day 1 itself is refused.
    with pytest.raises(Conflict, match="Day 1 was already marked done"):
        services.treatment_day_complete(
            application=app, actor=staff(app, "physician"), day=1, notes="Second", now=LATER + timedelta(days=1)
        )
    # The same day, with nothing else due: nothing is left to mark done.
    with pytest.raises(Conflict, match="No day of the schedule is waiting"):
        services.treatment_day_complete(
            application=app, actor=staff(app, "physician"), day=1, notes="Second", now=LATER
        )

    assert TreatmentDay.objects.get(application=app, day=1).notes == "First"
    assert TransitionLog.objects.filter(application=app, action="complete_treatment_day").count() == 1


@pytest.mark.django_db
def test_a_day_whose_date_has_not_come_cannot_be_marked_done_until_it_comes() -> None:
    app = at("admitted")
    day_two = START + timedelta(days=1)

    with pytest.raises(Conflict, match="can be marked done from that date"):
        services.treatment_day_complete(application=app, actor=staff(app, "coordinator"), day=2, now=LATER)
    done = services.treatment_day_complete(application=app, actor=staff(app, "coordinator"), day=2, now=day_two)

    assert done.done_at == day_two


@pytest.mark.django_db
def test_a_day_the_schedule_does_not_have_does_not_exist() -> None:
    app = at("admitted")
    with pytest.raises(TreatmentDay.DoesNotExist):
        services.treatment_day_complete(application=app, actor=staff(app, "coordinator"), day=8, now=LATER)


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["quoted", "discharged"])
def test_days_are_marked_done_only_while_the_patient_is_admitted(state: str) -> None:
    app = at(state)
    with pytest.raises(Conflict, match="while the patient is admitted"):
        services.treatment_day_complete(application=app, actor=staff(app, "coordinator"), day=1, now=LATER)


@pytest.mark.django_db
def test_marking_a_day_done_is_offered_while_a_due_day_waits_and_never_to_an_outsider(outsider: User) -> None:
    app = at("admitted")
    coordinator = staff(app, "coordinator")

    offered_before = "complete_treatment_day" in services.available_actions(app, coordinator, now=LATER)
    services.treatment_day_complete(application=app, actor=coordinator, day=1, now=LATER)
    offered_after_day_one = "complete_treatment_day" in services.available_actions(app, coordinator, now=LATER)
    offered_next_day = "complete_treatment_day" in services.available_actions(
        app, coordinator, now=LATER + timedelta(days=1)
    )

    assert (offered_before, offered_after_day_one, offered_next_day) == (True, False, True)
    assert services.available_actions(app, Actor.staff(outsider), now=LATER) == []
    assert "complete_treatment_day" not in services.available_actions(app, Actor.patient(), now=LATER)


@pytest.mark.django_db
@time_machine.travel(LATER, tick=False)
def test_staff_mark_a_day_done_over_http_and_errors_have_their_codes(
    delhi_coordinator: User, europe_coordinator: User
) -> None:
    app = at("admitted")
    url = f"/api/v1/applications/{app.reference}/treatment-days/1/done/"

    unknown = api(delhi_coordinator).post(
        f"/api/v1/applications/{app.reference}/treatment-days/99999999999/done/", {}, format="json"
    )
    done = api(delhi_coordinator).post(url, {"notes": "IV given"}, format="json")
    again = api(delhi_coordinator).post(url, {}, format="json")
    hidden = api(europe_coordinator).post(url, {}, format="json")
    too_long = api(delhi_coordinator).post(
        f"/api/v1/applications/{app.reference}/treatment-days/2/done/", {"notes": "x" * 5001}, format="json"
    )

    assert done.status_code == 200
    day_one = done.json()["treatment_days"][0]
    assert (day_one["day"], day_one["notes"]) == (1, "IV given") and day_one["done_at"] is not None
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert hidden.status_code == 404
    assert too_long.status_code == 400 and list(too_long.json()["fields"]) == ["notes"]


# ---- the admin page ----


def workflow_url(app: Application) -> str:
    return reverse("admin:workflow_application_workflow", args=[app.pk])


@pytest.mark.django_db
def test_the_admin_offers_the_physician_the_protocol_form_filled_with_the_current_protocol(
    client: Any, delhi_physician: User
) -> None:
    app = at("quoted")
    client.force_login(delhi_physician)

    with time_machine.travel(LATER, tick=False):
        page = client.get(workflow_url(app))
        response = client.post(
            workflow_url(app), {"action": "change_protocol", "change_protocol-protocol": json.dumps(SHORT)}, follow=True
        )

    form = {name: form for name, _, form in page.context["action_forms"]}["change_protocol"]
    assert json.loads(form["protocol"].value()) == app.protocol
    assert response.status_code == 200
    assert Application.objects.get(pk=app.pk).protocol == SHORT
    assert TransitionLog.objects.get(action="change_protocol").actor == delhi_physician


@pytest.mark.django_db
def test_the_admin_shows_a_bad_protocol_beside_its_field(client: Any, delhi_physician: User) -> None:
    app = at("quoted")
    client.force_login(delhi_physician)

    with time_machine.travel(LATER, tick=False):
        response = client.post(
            workflow_url(app), {"action": "change_protocol", "change_protocol-protocol": '[{"day": 2}]'}, follow=True
        )

    form = {name: form for name, _, form in response.context["action_forms"]}["change_protocol"]
    assert "numbered from 1" in str(form.errors["protocol"])
    assert not TransitionLog.objects.filter(action="change_protocol").exists()


@pytest.mark.django_db
def test_the_admin_marks_a_day_done_and_then_offers_only_the_days_not_done(
    client: Any, delhi_coordinator: User
) -> None:
    app = at("admitted")
    client.force_login(delhi_coordinator)
    data = {"action": "complete_treatment_day", "complete_treatment_day-day": "1", "complete_treatment_day-notes": "OK"}

    with time_machine.travel(LATER + timedelta(days=1), tick=False):
        before = client.get(workflow_url(app))
        response = client.post(workflow_url(app), data, follow=True)

    offered = {name: form for name, _, form in before.context["action_forms"]}["complete_treatment_day"]
    after = {name: form for name, _, form in response.context["action_forms"]}["complete_treatment_day"]
    day_one = app.treatment_days.get(day=1)
    assert [day for day, _ in offered.fields["day"].choices] == [1, 2, 3, 4, 5, 6, 7]
    assert [day for day, _ in after.fields["day"].choices] == [2, 3, 4, 5, 6, 7]
    assert (day_one.notes, day_one.done_at) == ("OK", LATER + timedelta(days=1))


# ---- two people at once ----


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_marking_the_same_day_at_once_one_wins_and_the_other_gets_a_conflict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = at("admitted")
    coordinator, physician = staff(app, "coordinator"), staff(app, "physician")
    original = treatment.record

    def slow(*args: Any, **kwargs: Any) -> Any:
        # The winner holds its transaction open, so the other really arrives while the row is locked.
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(treatment, "record", slow)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def mark(index: int, actor: Actor, notes: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = services.treatment_day_complete(
                application=Application.objects.get(pk=app.pk), actor=actor, day=1, notes=notes, now=LATER
            )
        except Exception as exc:  # the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=mark, args=(0, coordinator, "by the coordinator")),
        threading.Thread(target=mark, args=(1, physician, "by the physician")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [o for o in outcomes if isinstance(o, TreatmentDay)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1 and isinstance(losers[0], Conflict), outcomes
    assert TreatmentDay.objects.get(application=app, day=1).notes == winners[0].notes
    assert TransitionLog.objects.filter(application=app, action="complete_treatment_day").count() == 1
