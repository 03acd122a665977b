"""Files sent with a notification (SPEC §5, §6): written with the row in the event's transaction, sent as
MIME attachments beside the text and HTML bodies, the same on a resend, and listed for staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from notifications import delivery, relay
from notifications.models import Notification, NotificationAttachment
from notifications.services import notify_patient
from tests.notifications.conftest import Mailbox, html_part, text_part
from tests.workflow.conftest import advance, office_staff, submit
from workflow import services
from workflow.models import Application

pytestmark = pytest.mark.django_db

# Tue 24 Nov 2026, 11:00 in Delhi.
NOW = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def ready_to_sign() -> Application:
    application = advance(submit(), "quoted")
    services.quote_accept(application=application, actor=office_staff(application.office)["coordinator"])
    return application


def sign(application: Application) -> Notification:
    services.consent_sign_portal(application=application, signer_name="Priya Sharma", ip_address=None, user_agent="")
    return Notification.objects.get(application=application, kind="consent_signed")


def test_a_notification_and_its_files_commit_with_the_event_or_not_at_all() -> None:
    application = ready_to_sign()

    with pytest.raises(RuntimeError), transaction.atomic():
        sign(application)
        assert NotificationAttachment.objects.filter(notification__application=application).count() == 1
        raise RuntimeError("the event fails after its notification was written")

    assert not application.signatures.exists()
    assert not Notification.objects.filter(application=application, kind="consent_signed").exists()
    assert not NotificationAttachment.objects.exists()


def test_the_same_event_written_twice_keeps_one_notification_with_one_copy_of_each_file() -> None:
    application = submit()
    history = application.history.get()
    files = [("notes.txt", "text/plain", "Grüße\n".encode()), ("scan.pdf", "application/pdf", b"%PDF-1.4 tiny")]

    first = notify_patient(kind="withdrawn", application=application, history=history, now=NOW, attachments=files)
    again = notify_patient(kind="withdrawn", application=application, history=history, now=NOW, attachments=files)

    assert again.pk == first.pk
    stored = [(a.filename, a.content_type, bytes(a.content), a.size) for a in first.attachments.all()]
    assert stored == [(name, kind, content, len(content)) for name, kind, content in files]


def test_files_are_sent_as_attachments_beside_the_text_and_html_bodies(smtp: Mailbox) -> None:
    application = ready_to_sign()
    email = sign(application)
    pdf = email.attachments.get()

    assert delivery.deliver(email.pk) == (delivery.SENT, None)

    (message,) = smtp.received()
    assert message.get_content_type() == "multipart/mixed"
    assert "Attached is a PDF of exactly what you signed" in text_part(message)
    assert "Attached is a PDF of exactly what you signed" in html_part(message)
    (part,) = list(message.iter_attachments())
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename() == pdf.filename
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == bytes(pdf.content)


def test_a_resend_after_a_crash_carries_the_same_files_under_the_same_message_id(smtp: Mailbox) -> None:
    email = sign(ready_to_sign())
    # The server accepted the message and the worker died before it marked the row sent.
    assert delivery.deliver(email.pk)[0] == delivery.SENT
    Notification.objects.filter(pk=email.pk).update(status="sending", claimed_at=NOW - relay.STUCK_AFTER)
    relay.recover_stuck(NOW + SECOND)

    assert delivery.deliver(email.pk)[0] == delivery.SENT

    first, second = smtp.received()
    assert first["Message-ID"] == second["Message-ID"] == email.message_id
    (sent_first,), (sent_again,) = list(first.iter_attachments()), list(second.iter_attachments())
    assert sent_first.get_filename() == sent_again.get_filename()
    assert sent_first.get_payload(decode=True) == sent_again.get_payload(decode=True)


def test_staff_see_each_attachment_by_name_type_and_size_in_the_applications_notifications(
    delhi_coordinator: Any,
) -> None:
    application = ready_to_sign()
    pdf = sign(application).attachments.get()
    client = APIClient()
    client.force_authenticate(delhi_coordinator)

    served = client.get(f"/api/v1/applications/{application.reference}/notifications/").json()

    by_kind = {item["kind"]: item for item in served}
    assert by_kind["consent_signed"]["attachments"] == [
        {"filename": pdf.filename, "content_type": "application/pdf", "size": pdf.size}
    ]
    assert by_kind["intake_acknowledgement"]["attachments"] == []
    assert pdf.size > 1000


def test_the_notification_admin_lists_the_attachments_without_their_content(delhi_coordinator: Any) -> None:
    email = sign(ready_to_sign())
    pdf = email.attachments.get()
    client = Client()
    client.force_login(delhi_coordinator)

    page = client.get(f"/admin/notifications/notification/{email.pk}/change/")

    assert page.status_code == 200
    body = page.content.decode()
    assert pdf.filename in body
    assert "application/pdf" in body
    assert str(pdf.size) in body
    assert "%PDF" not in body
