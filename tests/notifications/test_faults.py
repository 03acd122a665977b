"""Nothing lost, nothing doubled, when things break (SPEC §6, §11): Redis down at commit time, a
worker killed mid-send, an SMTP server refusing for a while or for good, a transaction rolled back.

Each test has its own redis-server (so it can stop it), its own SMTP server and its own workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import events, relay
from notifications.models import Notification
from tests.notifications.conftest import (
    Mailbox,
    RedisServer,
    Worker,
    celery_broker,
    deliveries_to,
    new_queue,
    opening_in_the_past,
    smtp_server,
    wait_until,
)
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("leave_the_seed_data_behind", "seeded"),
]

PATIENT = "priya@example.org"
SECOND = timedelta(seconds=1)
GRACE_SECONDS = 0.5


@dataclass
class Rig:
    redis: RedisServer
    mailbox: Mailbox
    queue: str
    starter: Callable[..., Worker]

    def start_worker(self) -> Worker:
        return self.starter(queue=self.queue, smtp_port=self.mailbox.port, broker_url=self.redis.url)

    def emails_to(self, address: str) -> list[str]:
        return [str(message["Subject"]) for message in self.mailbox.received(address)]


@pytest.fixture
def rig(redis_server: RedisServer, start_worker: Callable[..., Worker]) -> Iterator[Rig]:
    queue = new_queue()
    with smtp_server() as mailbox, celery_broker(redis_server.url), deliveries_to(queue):
        yield Rig(redis=redis_server, mailbox=mailbox, queue=queue, starter=start_worker)


def row(kind: str) -> Notification:
    return Notification.objects.get(kind=kind)


def status_of(kind: str) -> str:
    return row(kind).status


def settled(rig: Rig, kind: str, status: str = "sent") -> Notification:
    wait_until(lambda: status_of(kind) == status, what=f"{kind} to become {status}")
    time.sleep(GRACE_SECONDS)  # a duplicate would come right behind its original
    return row(kind)


def test_a_transition_committed_while_redis_is_down_is_delivered_once_when_it_is_back(rig, delhi_coordinator):
    rig.start_worker()
    application = submit(now=opening_in_the_past("delhi"))
    settled(rig, "intake_acknowledgement")
    settled(rig, "new_application")

    rig.redis.stop()
    client = APIClient()
    client.force_authenticate(delhi_coordinator)
    started = time.monotonic()
    response = client.post(
        f"/api/v1/applications/{application.reference}/transitions/withdraw/",
        {"reason": "Found a clinic closer to home"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "withdrawn"
    assert time.monotonic() - started < 5, "the request waited for the broker"
    withdrawn = row("withdrawn")
    assert (withdrawn.status, withdrawn.attempts) == ("pending", 0)
    # Beat keeps sweeping during the outage; nothing can be handed over yet, and nothing is lost.
    assert relay.sweep(timezone.now())["published"] == 0
    assert row("withdrawn").next_attempt_at is None

    rig.redis.start()
    assert relay.sweep(timezone.now()) == {"recovered": 0, "published": 1, "due": 1}
    withdrawn = settled(rig, "withdrawn")
    assert withdrawn.attempts == 1
    assert rig.emails_to(PATIENT) == [
        f"We received your application {application.reference}",
        f"Your application {application.reference} is withdrawn",
    ]


def test_a_worker_killed_mid_send_is_replaced_and_the_email_is_delivered_once(rig):
    first = rig.start_worker()
    rig.mailbox.stall = 1
    submit(now=opening_in_the_past("delhi"))
    wait_until(rig.mailbox.stalled.is_set, what="the worker to be in the middle of DATA")
    ack = row("intake_acknowledgement")
    assert (ack.status, ack.attempts) == ("sending", 1)

    first.kill()
    # Only now does the server give up on that session: the message was never accepted.
    rig.mailbox.release.set()
    rig.start_worker()
    # The dead worker's message stays unacknowledged in Redis for the visibility timeout (an hour);
    # the sweep finds the row stuck in `sending` and hands it over again.
    assert relay.sweep(timezone.now() + relay.STUCK_AFTER + SECOND) == {"recovered": 1, "published": 1, "due": 1}
    ack = settled(rig, "intake_acknowledgement")
    assert ack.attempts == 2
    (message,) = rig.mailbox.received(PATIENT)
    assert message["Message-ID"] == ack.message_id


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_sends_nothing_twice(rig, delhi_coordinator):
    first = rig.start_worker()
    # The acknowledgement and the coordinator's alert are written by one event: one batch. The
    # server accepts the first and holds the second in DATA while the worker is killed.
    rig.mailbox.stall, rig.mailbox.stall_after = 1, 1
    submit(now=opening_in_the_past("delhi"))
    wait_until(rig.mailbox.stalled.is_set, what="the worker to be in the middle of the batch")
    rows = list(Notification.objects.order_by("pk"))
    assert [(r.kind, r.status) for r in rows] == [("intake_acknowledgement", "sending"), ("new_application", "sending")]

    first.kill()
    rig.mailbox.release.set()
    rig.start_worker()
    # The acknowledgement was accepted before the kill: the relay marks it sent from the worker's
    # note; the alert was not, and goes again.
    assert relay.sweep(timezone.now() + relay.STUCK_AFTER + SECOND) == {"recovered": 1, "published": 1, "due": 1}
    alert = settled(rig, "new_application")
    ack = row("intake_acknowledgement")
    assert (ack.status, ack.attempts) == ("sent", 1)
    assert alert.attempts == 2
    assert len(rig.mailbox.received(PATIENT)) == 1
    assert len(rig.mailbox.received(delhi_coordinator.email)) == 1


def test_one_rejected_address_in_a_batch_fails_only_its_row_and_the_rest_are_delivered(rig, delhi_coordinator):
    rig.mailbox.reject.add(PATIENT)
    rig.start_worker()
    submit(now=opening_in_the_past("delhi"))
    ack = settled(rig, "intake_acknowledgement", "failed")
    alert = settled(rig, "new_application")
    assert (ack.attempts, alert.attempts) == (1, 1)
    assert "550" in ack.last_error
    assert rig.mailbox.received(PATIENT) == []
    assert len(rig.mailbox.received(delhi_coordinator.email)) == 1


def test_an_smtp_server_refusing_twice_is_retried_with_backoff_and_delivers_once(rig):
    rig.mailbox.refuse = 2
    rig.start_worker()
    submit(now=opening_in_the_past("delhi"))
    ack = settled(rig, "intake_acknowledgement")
    assert ack.attempts == 3
    assert ack.last_error == ""
    assert rig.mailbox.refused == 2
    assert len(rig.mailbox.received(PATIENT)) == 1


def test_a_rejected_address_fails_is_shown_to_staff_and_a_managers_retry_delivers_it(
    rig, delhi_coordinator, delhi_manager
):
    rig.mailbox.reject.add(PATIENT)
    rig.start_worker()
    application = submit(now=opening_in_the_past("delhi"))
    ack = settled(rig, "intake_acknowledgement", "failed")
    assert ack.attempts == 1
    assert "550" in ack.last_error
    assert rig.mailbox.rejected == 1

    coordinator = APIClient()
    coordinator.force_authenticate(delhi_coordinator)
    listed = coordinator.get("/api/v1/notifications/failed/").json()["results"]
    assert [(item["id"], item["application"], item["attempts"]) for item in listed] == [
        (ack.pk, application.reference, 1)
    ]
    assert coordinator.post(f"/api/v1/notifications/{ack.pk}/retry/").status_code == 403

    rig.mailbox.reject.clear()  # the patient fixed their mailbox
    manager = APIClient()
    manager.force_authenticate(delhi_manager)
    response = manager.post(f"/api/v1/notifications/{ack.pk}/retry/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    ack = settled(rig, "intake_acknowledgement")
    assert ack.attempts == 1
    assert len(rig.mailbox.received(PATIENT)) == 1
    assert coordinator.get("/api/v1/notifications/failed/").json()["count"] == 0


def test_a_transition_that_rolls_back_writes_nothing_and_sends_nothing(rig, monkeypatch):
    rig.start_worker()
    application = submit(now=opening_in_the_past("delhi"))
    settled(rig, "intake_acknowledgement")
    real_patient_notice = events.patient_notice

    def then_fail(*args, **kwargs):
        real_patient_notice(*args, **kwargs)
        raise RuntimeError("the connection dropped before the commit")

    monkeypatch.setattr(events, "patient_notice", then_fail)
    with pytest.raises(RuntimeError):
        advance(application, "withdrawn")
    monkeypatch.undo()
    assert Application.objects.get(pk=application.pk).state == "received"
    assert not Notification.objects.filter(kind="withdrawn").exists()

    # A later email goes down the same pipe: by the time it arrives, a stray one would have too.
    services.message_post(
        application=application, actor=office_staff(application.office)["coordinator"], kind="reply", body="Hello"
    )
    settled(rig, "outbound_message")
    assert rig.emails_to(PATIENT) == [
        f"We received your application {application.reference}",
        f"A message about your application {application.reference}",
    ]


def worker_backends() -> set[tuple[int, object]]:
    """The other sessions on the test database (the worker's), by process id and start."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


def test_a_worker_keeps_its_database_connection_from_one_batch_to_the_next(rig):
    rig.start_worker()
    submit(now=opening_in_the_past("delhi"))
    settled(rig, "intake_acknowledgement")
    first = worker_backends()
    assert first, "the worker closed its database connection after the task"

    submit(now=opening_in_the_past("delhi"), email="second@example.org")
    wait_until(
        lambda: Notification.objects.filter(kind="intake_acknowledgement", status="sent").count() == 2,
        what="the second acknowledgement to be sent",
    )
    assert worker_backends() == first
