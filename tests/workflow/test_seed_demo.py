"""`seed_demo`: staff for every role, applications in every state of both offices, loaded once."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.utils import timezone

from workflow import sla
from workflow.demo import DEMO_PASSWORD, DEMO_STAFF
from workflow.models import Application, Message, State, TransitionLog

pytestmark = pytest.mark.django_db

# A Tuesday morning in both offices, and a Delhi public holiday: the demo must cope with either.
TUESDAY = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (Application.objects.count(), TransitionLog.objects.count(), Message.objects.count(), User.objects.count())


@pytest.fixture
def seeded() -> str:
    with time_machine.travel(TUESDAY, tick=False):
        return seed()


def test_it_loads_every_state_in_both_offices(seeded):
    loaded = set(Application.objects.values_list("office__code", "state"))

    assert loaded == {(office, state) for office in ("delhi", "europe") for state in State.values}


def test_the_applications_were_walked_through_the_services(seeded):
    applications = list(Application.objects.all())
    assert applications  # the checks below hold for no application at all
    for app in applications:
        steps = list(app.history.exclude(from_state="", to_state="received").values_list("from_state", "to_state"))
        path = [step for step in steps if step[0] != step[1]]
        # Each transition starts where the previous one ended, and the last ends in the current state.
        assert app.history.first().action == "submit"
        assert all(a[1] == b[0] for a, b in zip(path, path[1:], strict=False)), app.reference
        assert (path[-1][1] if path else "received") == app.state, app.reference


def test_sle_comes_first_and_some_cases_are_assigned_and_some_have_a_conversation(seeded):
    conditions = [app.condition for app in Application.objects.order_by("office__code", "received_at")]

    assert max(set(conditions), key=conditions.count).startswith("Systemic lupus erythematosus")
    assert Application.objects.filter(assigned_to__isnull=False).exists()
    assert Application.objects.filter(assigned_to__isnull=True).exists()
    assert Message.objects.filter(direction=Message.Direction.INBOUND).exists()
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()


def test_some_reply_promises_are_breached_and_some_due_soon(seeded):
    statuses = {
        sla.status(due_at=app.reply_due_at, warn_at=app.reply_warn_at, now=TUESDAY) for app in Application.objects.all()
    }

    assert {sla.BREACHED, sla.DUE_SOON, sla.ON_TRACK} <= statuses


def test_every_demo_user_can_log_in(seeded, client):
    for username, _ in DEMO_STAFF:
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), username
        assert f"{username} / {DEMO_PASSWORD}" in seeded


def test_once_adds_nothing_when_the_demo_is_loaded(seeded):
    before = counts()

    out = seed("--once")

    assert counts() == before
    assert "already loaded" in out


def test_running_it_again_without_once_keeps_one_set_of_applications(seeded):
    before = counts()

    out = seed()

    assert counts() == before
    assert "none added" in out


def test_it_works_at_the_real_time_and_leaves_nothing_in_the_future():
    seed()  # the real clock: what `make run` shows today

    assert set(Application.objects.values_list("state", flat=True)) == set(State.values)
    assert max(TransitionLog.objects.values_list("at", flat=True)) <= timezone.now()
    assert max(Message.objects.values_list("created_at", flat=True)) <= timezone.now()


def test_patients_are_at_every_aftercare_stage(seeded):
    from workflow.models import FollowUpReview, MonitoringCheck, QuestionnaireAnswer

    assert {check.status for check in MonitoringCheck.objects.all()} >= {"recorded", "scheduled"}
    assert MonitoringCheck.objects.filter(outcome="concern").exists()
    assert {review.status for review in FollowUpReview.objects.all()} == {"answered", "missed", "pending"}
    assert FollowUpReview.objects.filter(invited_at__isnull=False, answered_at__isnull=True, missed_at__isnull=True)
    assert QuestionnaireAnswer.objects.filter(channel="phone").exists()
    assert QuestionnaireAnswer.objects.filter(version=2).exists()
    # Beat's steps, as the system: the automatic start, and completion by a 24-month answer and by a miss.
    assert TransitionLog.objects.filter(action="start_follow_up", actor_kind="system").count() == 4
    assert TransitionLog.objects.filter(action="complete", actor_kind="system").count() == 2
