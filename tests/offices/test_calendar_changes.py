"""SPEC §2: when an office's calendar changes, open deadlines are recomputed from their start and logged."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from offices.models import CalendarChange, CalendarOverride
from tests.workflow.conftest import submit
from workflow import services
from workflow.actors import Actor

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")


def ist(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=IST)


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("root", "root@clinic.example", "pw")
    client.force_login(admin)
    return client


def test_a_closure_added_in_the_admin_moves_open_deadlines_and_is_logged(admin_client, delhi, delhi_coordinator):
    with time_machine.travel(ist("2026-11-23 10:00"), tick=False):
        waiting = submit()
        answered = submit()
    services.message_post(
        application=answered, actor=Actor.staff(delhi_coordinator), kind="reply", body="Hi", now=ist("2026-11-23 11:00")
    )
    response = admin_client.post(
        "/admin/offices/calendaroverride/add/",
        {"office": delhi.pk, "date": "2026-11-25", "kind": "closed", "note": "Move"},
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    # Wednesday is now closed too: the deadline moves from Thursday 10:00 to Friday 10:00.
    assert waiting.reply_due_at == ist("2026-11-27 10:00")
    assert waiting.obligations.get().due_at == ist("2026-11-27 10:00")
    answered.refresh_from_db()
    assert answered.reply_due_at is None
    change = CalendarChange.objects.get()
    assert (change.office, change.obligations_recomputed, change.changed_by.username) == (delhi, 1, "root")
    assert "2026-11-25" in change.description


def test_removing_the_closure_moves_the_deadline_back(admin_client, delhi):
    override = CalendarOverride.objects.create(office=delhi, date=date(2026, 11, 25), kind="closed")
    with time_machine.travel(ist("2026-11-23 10:00"), tick=False):
        waiting = submit()
    assert waiting.reply_due_at == ist("2026-11-27 10:00")
    response = admin_client.post(f"/admin/offices/calendaroverride/{override.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.reply_due_at == ist("2026-11-26 10:00")


def test_changing_opening_hours_in_the_office_admin_recomputes_from_the_start(admin_client, delhi):
    with time_machine.travel(ist("2026-11-23 10:00"), tick=False):
        waiting = submit()
    # 75 % of 18 working hours: Mon 8.5 h, (Tue holiday), Wed 5 h -> Wed 14:30.
    assert waiting.reply_warn_at == ist("2026-11-25 14:30")
    data = {
        "code": "delhi",
        "name": "Delhi",
        "timezone": "Asia/Kolkata",
        "working_weekdays": "[0, 1, 2, 3, 4, 5]",
        "opens_at": "09:30",
        "closes_at": "17:30",
        "holiday_country": "IN",
        "holiday_subdivision": "DL",
        "currency": "INR",
        "reply_sla_days": "2",
        "email": delhi.email,
        "overrides-TOTAL_FORMS": "0",
        "overrides-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = admin_client.post(f"/admin/offices/office/{delhi.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    waiting.refresh_from_db()
    # 16 working hours from Mon 10:00: Mon 7.5 h, (Tue holiday), Wed 8 h, Thu 0.5 h -> Thu 10:00, the
    # deadline it had before; the warning moves, as only a recomputation can: 12 h -> Wed 14:00.
    assert waiting.reply_due_at == ist("2026-11-26 10:00")
    assert waiting.reply_warn_at == ist("2026-11-25 14:00")
    assert waiting.obligations.get().warn_at == ist("2026-11-25 14:00")
    change = CalendarChange.objects.get()
    assert (change.description, change.obligations_recomputed) == ("changed closes_at", 1)
