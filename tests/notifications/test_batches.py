"""Delivery in batches (SPEC §6, §11): one claim, one read of the attachments and one record per
batch, whatever its size, over one SMTP connection; one bad address or one refusal in a batch
touches only its own row."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import delivery, journal, relay
from notifications.delivery import SENT
from notifications.models import Notification, NotificationAttachment
from notifications.relay import publish as real_publish  # bound before the `published` fixture replaces it
from notifications.tasks import deliver
from tests.workflow.conftest import submit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=KOLKATA)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def pending_rows(count: int, *, attachments: int = 0) -> list[Notification]:
    """`count` due patient emails (copies of an acknowledgement), the first `attachments` with a file."""
    submit(now=NOW - timedelta(minutes=5))
    ack = Notification.objects.get(kind="intake_acknowledgement")
    fields = {f.name: getattr(ack, f.name) for f in Notification._meta.concrete_fields if f.name != "id"}
    rows = [ack] + [
        Notification.objects.create(**{**fields, "dedup_key": f"batch:{i}", "recipient_email": f"p{i}@example.org"})
        for i in range(1, count)
    ]
    for row in rows[:attachments]:
        NotificationAttachment.objects.create(
            notification=row, filename="note.txt", content_type="text/plain", content=b"hello", size=5
        )
    return rows


def queries_to_deliver(rows: list[Notification]) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = delivery.deliver_batch([row.pk for row in rows])
    assert len(result.sent) == len(rows)
    return len(queries)


def test_a_batch_of_fifty_runs_as_many_queries_as_a_batch_of_five(smtp):
    small = queries_to_deliver(pending_rows(5, attachments=2))
    Notification.objects.all().delete()
    large = queries_to_deliver(pending_rows(50, attachments=20))
    assert small == large == 3  # claim, attachments, record
    assert len(smtp.received()) == 55


def test_a_batch_is_sent_over_one_smtp_connection(smtp, monkeypatch):
    opened = []
    real_connect = smtplib.SMTP.connect

    def counting(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counting)
    rows = pending_rows(20)
    assert len(delivery.deliver_batch([row.pk for row in rows]).sent) == 20
    assert len(opened) == 1
    assert len(smtp.received()) == 20


def test_each_message_of_a_batch_keeps_its_own_message_id_and_files(smtp):
    rows = pending_rows(3, attachments=1)
    delivery.deliver_batch([row.pk for row in rows])
    by_id = {message["Message-ID"]: message for message in smtp.received()}
    assert set(by_id) == {row.message_id for row in rows}
    with_file = by_id[rows[0].message_id]
    assert [part.get_filename() for part in with_file.iter_attachments()] == ["note.txt"]
    assert list(by_id[rows[1].message_id].iter_attachments()) == []


def test_one_rejected_address_in_a_batch_fails_only_its_row(smtp):
    rows = pending_rows(5)
    smtp.reject.add("p2@example.org")
    result = delivery.deliver_batch([row.pk for row in rows])
    assert result.failed == [rows[2].pk]
    assert sorted(result.sent) == sorted(row.pk for row in rows if row.pk != rows[2].pk)
    statuses = dict(Notification.objects.values_list("recipient_email", "status"))
    assert statuses.pop("p2@example.org") == "failed"
    assert set(statuses.values()) == {"sent"}
    assert "550" in Notification.objects.get(pk=rows[2].pk).last_error
    assert len(smtp.received()) == 4


def test_a_refusal_in_the_middle_of_a_batch_retries_only_that_row_and_the_rest_go_out(smtp):
    rows = pending_rows(4)
    smtp.refuse = 1  # the first message meets a 421, which closes the session
    result = delivery.deliver_batch([row.pk for row in rows])
    assert result.retry == [rows[0].pk]
    assert result.retry_in is not None
    assert len(result.sent) == 3
    retried = Notification.objects.get(pk=rows[0].pk)
    assert (retried.status, retried.claimed_at, retried.next_attempt_at) == ("pending", None, NOW + result.retry_in)
    assert "421" in retried.last_error
    assert delivery.deliver_batch([rows[0].pk]).sent == [rows[0].pk]
    assert len(smtp.received()) == 4


def test_rows_already_claimed_or_sent_are_skipped_by_a_second_batch(smtp):
    rows = pending_rows(4)
    assert delivery.claim(rows[1].pk, NOW) is not None
    delivery.deliver_batch([rows[0].pk])
    result = delivery.deliver_batch([row.pk for row in rows])
    assert sorted(result.sent) == [rows[2].pk, rows[3].pk]
    assert sorted(result.skipped) == [rows[0].pk, rows[1].pk]
    assert len(smtp.received()) == 3


def test_the_relay_hands_rows_over_in_batches_of_the_configured_size(settings, monkeypatch):
    settings.NOTIFICATION_BATCH_SIZE = 4
    messages: list[list[int]] = []
    monkeypatch.setattr(deliver, "apply_async", lambda args, **kwargs: messages.append(args[0]))
    assert real_publish(list(range(1, 11))) == 10
    assert messages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]


def test_the_rows_one_event_writes_are_handed_over_in_one_message(
    delhi_coordinator, delhi_physician, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(now=NOW)
    assert len(callbacks) == 1
    assert sorted(published) == sorted(Notification.objects.values_list("pk", flat=True))
    assert len(published) >= 3


def test_a_row_accepted_before_its_worker_died_is_marked_sent_by_the_relay_not_resent(smtp, published):
    rows = pending_rows(3)
    claimed_at = NOW - relay.STUCK_AFTER - timedelta(seconds=1)
    batch = delivery.claim_batch([row.pk for row in rows], claimed_at)
    # The worker sent the first message, noted it, and died before recording the batch.
    assert journal.accepted(batch[0].pk, claimed_at)
    assert relay.sweep(NOW)["recovered"] == 2
    first = Notification.objects.get(pk=rows[0].pk)
    assert (first.status, first.sent_at) == ("sent", claimed_at)
    assert sorted(published) == sorted(row.pk for row in rows[1:])
    assert journal.accepted_among({rows[0].pk: claimed_at}) == set()


def test_a_note_from_an_earlier_claim_does_not_mark_a_later_claim_sent(published):
    rows = pending_rows(1)
    earlier = NOW - timedelta(hours=1)
    journal.accepted(rows[0].pk, earlier)
    delivery.claim_batch([rows[0].pk], NOW - relay.STUCK_AFTER - timedelta(seconds=1))
    assert relay.sweep(NOW)["recovered"] == 1
    assert Notification.objects.get(pk=rows[0].pk).status == "pending"
    journal.forget([rows[0].pk])


def test_the_one_row_deliver_still_answers_with_its_outcome(smtp):
    (row,) = pending_rows(1)
    assert delivery.deliver(row.pk) == (SENT, None)
