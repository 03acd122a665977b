"""Delivery of one outbox row to a real SMTP server, in this process (SPEC §6, §11): claim, send,
retry with backoff, fail for good; and the relay sweep that republishes and recovers rows."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from notifications import delivery, relay
from notifications.delivery import FAILED, MAX_ATTEMPTS, MAX_DELAY, RETRY, SENT, SKIPPED, backoff
from notifications.models import Notification
from notifications.tasks import deliver as deliver_task
from tests.notifications.conftest import celery_broker, free_port, html_part, text_part
from tests.workflow.conftest import submit

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=KOLKATA)
# Half an hour after the acknowledgement was written: the clock every test here runs at.
NOW = MONDAY_MORNING + timedelta(minutes=30)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    """What the code reads from the clock itself (`sent_at`, `kick`) must not depend on the day the suite runs."""
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def ack() -> Notification:
    """The patient's acknowledgement of a fresh Delhi application: pending and due."""
    submit(now=MONDAY_MORNING)
    return Notification.objects.get(kind="intake_acknowledgement")


def reloaded(row: Notification) -> Notification:
    return Notification.objects.get(pk=row.pk)


# ---- sending ----


def test_a_notification_is_sent_with_its_message_id_both_parts_and_the_office_addresses(smtp, ack):
    assert delivery.deliver(ack.pk) == (SENT, None)
    row = reloaded(ack)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at == NOW
    (message,) = smtp.received()
    assert message["Message-ID"] == row.message_id == f"<notification-{row.pk}@127.0.0.1>"
    assert message["From"] == "Delhi clinic office <delhi@clinic.example>"
    assert message["To"] == "priya@example.org"
    assert message["Reply-To"] == "delhi@clinic.example"
    assert message["Subject"] == row.subject
    assert row.application.reference in text_part(message)
    assert "Thursday, 26 November 2026, 10:00 (Asia/Kolkata)" in text_part(message)
    assert "<p>" in html_part(message)
    assert "<p>" not in text_part(message)


def test_a_claim_is_atomic_so_a_second_delivery_of_the_same_row_sends_nothing(smtp, ack):
    assert delivery.claim(ack.pk, NOW) is not None
    assert delivery.claim(ack.pk, NOW) is None
    Notification.objects.filter(pk=ack.pk).update(status="pending", attempts=0)

    assert delivery.deliver(ack.pk) == (SENT, None)
    assert delivery.deliver(ack.pk) == (SKIPPED, None)
    assert len(smtp.received()) == 1
    assert reloaded(ack).attempts == 1


def test_a_transient_refusal_puts_the_row_back_with_a_later_attempt_and_the_next_attempt_delivers(smtp, ack):
    smtp.refuse = 1
    outcome, delay = delivery.deliver(ack.pk, now=NOW)
    assert outcome == RETRY
    assert delay is not None and delay > timedelta(0)
    row = reloaded(ack)
    assert (row.status, row.attempts, row.claimed_at) == ("pending", 1, None)
    assert row.next_attempt_at == NOW + delay
    assert row.next_attempt_at > NOW
    assert "421" in row.last_error
    assert smtp.received() == []

    assert delivery.deliver(ack.pk) == (SENT, None)
    row = reloaded(ack)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(smtp.received()) == 1


def test_an_unreachable_server_is_a_transient_failure(settings, ack):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    assert delivery.deliver(ack.pk)[0] == RETRY
    assert "ConnectionRefusedError" in reloaded(ack).last_error


def test_a_rejected_address_fails_after_one_attempt(smtp, ack):
    smtp.reject.add("priya@example.org")
    assert delivery.deliver(ack.pk) == (FAILED, None)
    row = reloaded(ack)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error
    assert delivery.deliver(ack.pk) == (SKIPPED, None)
    assert smtp.rejected == 1
    assert smtp.received() == []


def test_after_the_last_attempt_a_transient_failure_fails_the_row(smtp, ack):
    smtp.refuse = 100
    outcomes = [delivery.deliver(ack.pk)[0] for _ in range(MAX_ATTEMPTS)]
    assert outcomes == [RETRY] * (MAX_ATTEMPTS - 1) + [FAILED]
    row = reloaded(ack)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert "421" in row.last_error
    assert smtp.refused == MAX_ATTEMPTS
    assert delivery.deliver(ack.pk) == (SKIPPED, None)


def test_the_celery_task_retries_a_transient_failure_and_then_delivers(smtp, ack):
    smtp.refuse = 2
    # Eagerly, Celery runs the retry at once instead of after its countdown.
    assert deliver_task.apply(args=(ack.pk,)).get() == SENT
    assert reloaded(ack).attempts == 3
    assert len(smtp.received()) == 1


# The schedule in docs/architecture.md, written out: 30 s doubling to at most 5 minutes, nine
# attempts. Attempt 8 is the last that is retried; 30 shows the cap holds however far it goes.
CEILING_SECONDS = [(1, 30), (2, 60), (3, 120), (4, 240), (5, 300), (6, 300), (7, 300), (8, 300), (30, 300)]


def jitter_returning(end: str, calls: list[tuple[float, float]]) -> Any:
    """A `random.uniform` that records its bounds and returns the lower or the upper one."""

    def uniform(low: float, high: float) -> float:
        calls.append((low, high))
        return low if end == "low" else high

    return uniform


@pytest.mark.parametrize(("attempt", "ceiling"), CEILING_SECONDS)
def test_a_retry_waits_between_half_and_all_of_its_attempts_ceiling(
    monkeypatch: pytest.MonkeyPatch, attempt: int, ceiling: int
) -> None:
    calls: list[tuple[float, float]] = []

    monkeypatch.setattr(delivery.random, "uniform", jitter_returning("low", calls))
    shortest = backoff(attempt)
    monkeypatch.setattr(delivery.random, "uniform", jitter_returning("high", calls))
    longest = backoff(attempt)

    assert (shortest, longest) == (timedelta(seconds=ceiling / 2), timedelta(seconds=ceiling))
    assert calls == [(ceiling / 2, ceiling)] * 2


def test_a_row_is_tried_nine_times_over_at_most_half_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery.random, "uniform", jitter_returning("high", []))

    waits = [backoff(attempt) for attempt in range(1, MAX_ATTEMPTS)]  # after the last attempt the row fails

    assert MAX_ATTEMPTS == 9
    assert sum(waits, timedelta()) == timedelta(minutes=27, seconds=30)
    # Every countdown must end long before the broker hands an unacknowledged message to another worker.
    visibility_timeout = timedelta(seconds=django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    assert max(waits) == MAX_DELAY < visibility_timeout


def test_the_jitter_spreads_retries_over_the_whole_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "random", random.Random(20261124))  # seeded: the same draws every run

    delays = [backoff(3).total_seconds() for _ in range(200)]

    assert all(60 <= delay <= 120 for delay in delays)
    assert len(set(delays)) > 100, "no jitter"
    assert min(delays) < 70 and max(delays) > 110, "the draws miss part of the range"


def test_the_retry_base_delay_is_a_setting(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 0.5
    calls: list[tuple[float, float]] = []
    monkeypatch.setattr(delivery.random, "uniform", jitter_returning("high", calls))

    assert [backoff(attempt) for attempt in (1, 2, 3)] == [timedelta(seconds=s) for s in (0.5, 1, 2)]
    assert calls == [(0.25, 0.5), (0.5, 1), (1, 2)]


# ---- the relay sweep ----


def make_rows(now: datetime) -> dict[str, Notification]:
    """One row in each situation the sweep must tell apart."""
    submit(now=now - timedelta(minutes=5))
    ack = Notification.objects.get(kind="intake_acknowledgement")
    fields = {f.name: getattr(ack, f.name) for f in Notification._meta.concrete_fields if f.name not in {"id"}}

    def copy(name: str, **changes: object) -> Notification:
        return Notification.objects.create(**{**fields, "dedup_key": f"test:{name}", **changes})

    return {
        "due": ack,
        "held": copy("held", audience="staff", not_before=now + timedelta(hours=10)),
        "retry_later": copy("retry_later", attempts=1, next_attempt_at=now + timedelta(seconds=40)),
        "retry_now": copy("retry_now", attempts=1, next_attempt_at=now - SECOND),
        "sending": copy("sending", status="sending", attempts=1, claimed_at=now - timedelta(minutes=1)),
        "sent": copy("sent", status="sent", attempts=1, sent_at=now),
        "failed": copy("failed", status="failed", attempts=MAX_ATTEMPTS),
    }


def test_the_sweep_publishes_pending_rows_that_are_due_and_nothing_else(published):
    made = make_rows(NOW)
    assert relay.sweep(NOW) == {"recovered": 0, "published": 2, "due": 2}
    assert sorted(published) == sorted([made["due"].pk, made["retry_now"].pk])


def test_a_published_row_is_published_again_only_if_it_is_still_pending_after_a_while(published):
    made = make_rows(NOW)
    relay.sweep(NOW)
    published.clear()
    relay.sweep(NOW + relay.REPUBLISH_AFTER - SECOND)
    assert published == [made["retry_later"].pk]  # its own time came; the others were just handed over
    published.clear()
    Notification.objects.filter(pk=made["retry_now"].pk).update(status="sent")
    # Its message was lost (say): the sweep hands it over again.
    assert relay.sweep(NOW + relay.REPUBLISH_AFTER)["published"] >= 1
    assert made["due"].pk in published
    assert made["retry_now"].pk not in published


def test_a_held_staff_alert_is_published_once_the_office_opens(published):
    held = make_rows(NOW)["held"]
    relay.sweep(NOW)
    assert held.pk not in published
    relay.sweep(NOW + timedelta(hours=10))
    assert held.pk in published


def test_rows_stuck_in_sending_past_stuck_after_are_recovered_and_published(published):
    made = make_rows(NOW)
    stuck = made["sending"]
    claimed_at = stuck.claimed_at
    assert relay.sweep(claimed_at + relay.STUCK_AFTER - SECOND)["recovered"] == 0
    assert reloaded(stuck).status == "sending"
    assert stuck.pk not in published

    result = relay.sweep(claimed_at + relay.STUCK_AFTER + SECOND)
    assert result["recovered"] == 1
    row = reloaded(stuck)
    assert (row.status, row.claimed_at) == ("pending", None)
    assert stuck.pk in published


def test_a_stuck_row_that_used_all_its_attempts_is_failed_not_retried(published):
    stuck = make_rows(NOW)["sending"]
    Notification.objects.filter(pk=stuck.pk).update(attempts=MAX_ATTEMPTS)
    relay.sweep(NOW + relay.STUCK_AFTER)
    row = reloaded(stuck)
    assert row.status == "failed"
    assert row.last_error
    assert stuck.pk not in published


def test_rows_the_sweep_could_not_publish_stay_due_for_the_next_sweep(monkeypatch, published):
    made = make_rows(NOW)
    record = relay.publish
    monkeypatch.setattr(relay, "publish", lambda ids: 0)  # the broker is down
    assert relay.sweep(NOW)["published"] == 0
    assert reloaded(made["due"]).next_attempt_at is None

    monkeypatch.setattr(relay, "publish", record)
    assert relay.sweep(NOW + SECOND)["published"] == 2
    assert made["due"].pk in published


def test_a_delivered_row_recovered_by_mistake_is_resent_with_the_same_message_id(smtp, ack):
    # The one window left: the server accepted the message and the worker died before marking it.
    assert delivery.deliver(ack.pk)[0] == SENT
    Notification.objects.filter(pk=ack.pk).update(status="sending", claimed_at=NOW - relay.STUCK_AFTER)
    relay.recover_stuck(NOW + SECOND)
    assert delivery.deliver(ack.pk)[0] == SENT
    first, second = smtp.received()
    assert first["Message-ID"] == second["Message-ID"] == reloaded(ack).message_id


def test_run_scheduled_runs_the_relay_sweep(published, ack):
    out = StringIO()
    call_command("run_scheduled", "--at", NOW.isoformat(), stdout=out)
    assert "notifications_relay: {'recovered': 0, 'published': 1, 'due': 1}" in out.getvalue()
    assert published == [ack.pk]


@pytest.mark.redis
def test_the_sweep_puts_a_deliver_message_on_the_real_queue(redis_server, ack, settings):
    with celery_broker(redis_server.url):
        assert relay.sweep(NOW)["published"] == 1
    assert redis_server.queue_length(settings.CELERY_TASK_DEFAULT_QUEUE) == 1


@pytest.mark.redis
def test_with_the_broker_down_publishing_fails_fast_and_the_row_stays_pending(redis_server, ack):
    redis_server.stop()
    with celery_broker(redis_server.url):
        started = time.monotonic()  # the frozen clock would make any wait look instant
        assert relay.publish([ack.pk]) == 0
        assert relay.sweep(NOW)["published"] == 0
        assert time.monotonic() - started < 5
    row = reloaded(ack)
    assert (row.status, row.next_attempt_at) == ("pending", None)
