"""`Idempotency-Key` on the acting POSTs: intake, transitions, messages (docs/security.md)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from notifications.models import Notification
from security.idempotency import idempotency_sweep
from security.models import IdempotencyKey
from security.tokens import token_issue
from tests.workflow.conftest import INTAKE_FORM, advance, submit
from workflow.models import Application, Message, Quote, TransitionLog

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ITEMS = [{"description": "Seven-day protocol", "amount": "4800.00"}]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def staff_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def messages_url(app: Application) -> str:
    return f"/api/v1/applications/{app.reference}/messages/"


def transition_url(app: Application, name: str) -> str:
    return f"/api/v1/applications/{app.reference}/transitions/{name}/"


def post(client: APIClient, url: str, body: dict[str, Any], key: str | None, **extra: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, body, format="json", **headers, **extra)


@pytest.mark.django_db
def test_a_repeated_message_with_the_same_key_is_posted_and_emailed_once(frozen, delhi_coordinator):
    app = submit(now=NOW)
    client = staff_client(delhi_coordinator)
    body = {"kind": "reply", "body": "We have your records; a physician reviews them this week."}

    first = post(client, messages_url(app), body, "reply-1")
    again = post(client, messages_url(app), body, "reply-1")

    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.filter(application=app, direction="outbound").count() == 1
    assert Notification.objects.filter(application=app, history__action="message_reply").count() == 1


@pytest.mark.django_db
def test_without_the_header_every_post_acts(frozen, delhi_coordinator):
    app = submit(now=NOW)
    client = staff_client(delhi_coordinator)
    body = {"kind": "note", "body": "Called the patient."}

    assert [post(client, messages_url(app), body, None).status_code for _ in range(2)] == [201, 201]

    assert Message.objects.filter(application=app, direction="internal").count() == 2


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_and_acts_on_nothing(frozen, delhi_coordinator):
    app = submit(now=NOW)
    client = staff_client(delhi_coordinator)
    post(client, messages_url(app), {"kind": "note", "body": "First"}, "k-1")

    response = post(client, messages_url(app), {"kind": "note", "body": "Second"}, "k-1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    notes = Message.objects.filter(application=app, direction="internal")
    assert list(notes.values_list("body", flat=True)) == ["First"]


@pytest.mark.django_db
def test_the_same_key_on_another_endpoint_is_a_422(frozen, delhi_coordinator):
    app = submit(now=NOW)
    other = submit(now=NOW, email="ravi@example.org")
    client = staff_client(delhi_coordinator)
    body = {"kind": "note", "body": "Same words"}
    post(client, messages_url(app), body, "k-1")

    response = post(client, messages_url(other), body, "k-1")

    assert response.status_code == 422
    assert not Message.objects.filter(application=other, direction="internal").exists()


@pytest.mark.django_db
def test_keys_belong_to_their_user(frozen, delhi_coordinator, delhi_manager):
    app = submit(now=NOW)
    body = {"kind": "note", "body": "Same words, two people"}

    first = post(staff_client(delhi_coordinator), messages_url(app), body, "shared-key")
    second = post(staff_client(delhi_manager), messages_url(app), body, "shared-key")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in second


@pytest.mark.django_db
def test_a_repeated_transition_is_run_once_and_answered_alike(frozen, delhi_physician):
    app = submit(now=NOW)
    client = staff_client(delhi_physician)
    body = {"review_notes": "Eligible"}

    first = post(client, transition_url(app, "approve_review"), body, "approve-1")
    again = post(client, transition_url(app, "approve_review"), body, "approve-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    # Without the key the second would be a 409: the application is no longer `received`.
    assert post(client, transition_url(app, "approve_review"), body, None).status_code == 409
    assert TransitionLog.objects.filter(application=app, action="approve_review").count() == 1


@pytest.mark.django_db
def test_a_refused_request_keeps_no_answer_and_a_retry_with_the_key_runs_again(frozen, delhi_coordinator):
    app = advance(submit(now=NOW), "quoted", now=NOW)
    client = staff_client(delhi_coordinator)

    bad = post(client, transition_url(app, "revise_quote"), {"items": []}, "revise-1")
    fixed = post(client, transition_url(app, "revise_quote"), {"items": ITEMS}, "revise-1")

    # The 400 acted on nothing: the same key with the corrected body is a new request, not a reuse.
    assert bad.status_code == 400
    assert fixed.status_code == 200
    assert app.quotes.filter(superseded_at__isnull=True).get().total == 4800
    assert IdempotencyKey.objects.get(key="revise-1").status_code == 200


@pytest.mark.django_db
def test_a_conflict_is_not_replayed(frozen, delhi_physician, delhi_coordinator):
    app = submit(now=NOW)
    withdraw = {"reason": "Patient asked"}
    early = post(staff_client(delhi_coordinator), transition_url(app, "withdraw"), withdraw, "w-1")
    assert early.status_code == 200

    # The key of a 2xx is kept; another key's 409 is not, so its retry answers the state of now.
    conflict = post(staff_client(delhi_physician), transition_url(app, "decline"), {"reason": "x"}, "d-1")
    assert conflict.status_code == 409
    assert not IdempotencyKey.objects.filter(key="d-1").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "ü-umlaut", "x" * 256])
def test_a_malformed_key_is_a_400_naming_the_header(frozen, delhi_coordinator, key):
    app = submit(now=NOW)

    response = post(staff_client(delhi_coordinator), messages_url(app), {"kind": "note", "body": "x"}, key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]
    assert not Message.objects.filter(application=app, direction="internal").exists()


@pytest.mark.django_db
def test_a_key_is_replayed_for_24_hours_and_then_acts_again(frozen, delhi_coordinator):
    app = submit(now=NOW)
    client = staff_client(delhi_coordinator)
    body = {"kind": "note", "body": "Daily check"}
    post(client, messages_url(app), body, "daily")

    frozen.move_to(NOW + timedelta(hours=23, minutes=59))
    assert post(client, messages_url(app), body, "daily")["Idempotent-Replayed"] == "true"
    frozen.move_to(NOW + timedelta(hours=24))
    later = post(client, messages_url(app), body, "daily")

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    assert Message.objects.filter(application=app, direction="internal").count() == 2


@pytest.mark.django_db
def test_the_sweep_deletes_expired_keys_only(frozen, delhi_coordinator):
    app = submit(now=NOW)
    client = staff_client(delhi_coordinator)
    post(client, messages_url(app), {"kind": "note", "body": "old"}, "old")
    frozen.move_to(NOW + timedelta(hours=12))
    post(client, messages_url(app), {"kind": "note", "body": "new"}, "new")

    deleted = idempotency_sweep(NOW + timedelta(hours=24))

    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_an_anonymous_intake_repeated_with_its_key_gives_one_application(frozen):
    first = APIClient().post("/api/v1/applications/", INTAKE_FORM, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")
    again = APIClient().post("/api/v1/applications/", INTAKE_FORM, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["reference"] == first.json()["reference"]
    assert Application.objects.count() == 1


@pytest.mark.django_db
def test_anonymous_keys_belong_to_their_client_address(frozen):
    one = APIClient(REMOTE_ADDR="198.51.100.1")
    two = APIClient(REMOTE_ADDR="198.51.100.2")

    first = one.post("/api/v1/applications/", INTAKE_FORM, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")
    second = two.post("/api/v1/applications/", INTAKE_FORM, format="json", HTTP_IDEMPOTENCY_KEY="apply-1")

    assert first.json()["reference"] != second.json()["reference"]
    assert Application.objects.count() == 2


@pytest.mark.django_db
def test_a_multipart_intake_retried_with_a_new_boundary_is_the_same_request(frozen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.workflow.conftest import TINY_PDF

    def send(boundary: str) -> Any:
        from django.test.client import encode_multipart

        document = SimpleUploadedFile("labs.pdf", TINY_PDF, content_type="application/pdf")
        payload = encode_multipart(boundary, {**INTAKE_FORM, "documents": [document]})
        return APIClient().generic(
            "POST",
            "/api/v1/applications/",
            payload,  # type: ignore[arg-type]  # bytes, as Django's own client sends a multipart body
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="apply-with-file",
        )

    first, again = send("BoundaryOne"), send("BoundaryTwo")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert Application.objects.get().documents.count() == 1


def test_the_schema_documents_the_header_on_every_acting_post(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    acting = [
        ("/api/v1/applications/", "post"),
        ("/api/v1/applications/{reference}/messages/", "post"),
        *((f"/api/v1/applications/{{reference}}/transitions/{name}/", "post") for name in ("admit", "revise_quote")),
    ]
    for path, method in acting:
        operation = schema["paths"][path][method]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers == ["Idempotency-Key"], path
        assert {"409", "422"} <= set(operation["responses"]), path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_quote_revisions_with_one_key_write_one_quote_and_one_email(
    threaded_server, delhi_coordinator
):
    app = advance(submit(), "quoted")
    quotes_before = Quote.objects.filter(application=app).count()
    emails_before = Notification.objects.filter(application=app, kind="quote_revised").count()
    token = token_issue(user=delhi_coordinator)
    url = f"{threaded_server}{transition_url(app, 'revise_quote')}"
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": "revise-once"}
    racers = 30
    barrier = threading.Barrier(racers)
    answers: list[tuple[int, Any] | BaseException | None] = [None] * racers

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=20)
            response = requests.post(url, json={"items": ITEMS, "notes": "Revised"}, headers=headers, timeout=60)
            answers[index] = (response.status_code, response.json())
        except BaseException as exc:  # the outcome is what the test inspects
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert all(isinstance(answer, tuple) for answer in answers), answers
    assert {answer[0] for answer in answers} == {200}
    first = answers[0][1]
    assert all(answer[1] == first for answer in answers)
    assert Quote.objects.filter(application=app).count() == quotes_before + 1
    assert Notification.objects.filter(application=app, kind="quote_revised").count() == emails_before + 1
    assert TransitionLog.objects.filter(application=app, action="revise_quote").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_request_waits_for_the_first_with_its_key_and_then_gets_a_409_in_progress(
    settings, monkeypatch, delhi_coordinator
):
    from django.db import connection, transaction

    from workflow.services import actions

    settings.IDEMPOTENCY_WAIT_SECONDS = 1
    app = submit()
    release = threading.Event()
    original = actions.record

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=20)
        return original(*args, **kwargs)

    monkeypatch.setattr(actions, "record", held)
    body = {"kind": "reply", "body": "Your physician has the records."}
    first: list[Any] = []

    def send_first() -> None:
        try:
            first.append(post(staff_client(delhi_coordinator), messages_url(app), body, "slow"))
        finally:
            connection.close()

    thread = threading.Thread(target=send_first)
    thread.start()
    try:
        # The first has its key inserted and holds the application's row (it stops in `record`).
        for _ in range(1000):
            with transaction.atomic():
                if not Application.objects.filter(pk=app.pk).select_for_update(skip_locked=True).exists():
                    break
            time.sleep(0.01)
        second = post(staff_client(delhi_coordinator), messages_url(app), body, "slow")
    finally:
        release.set()
        thread.join(timeout=30)
    third = post(staff_client(delhi_coordinator), messages_url(app), body, "slow")

    assert second.status_code == 409
    assert second.json()["code"] == "in_progress"
    assert first[0].status_code == 201
    assert (third.status_code, third.json()) == (201, first[0].json())
    assert Message.objects.filter(application=app, direction="outbound").count() == 1


@pytest.mark.django_db
def test_the_scheduled_jobs_sweep_expired_keys(frozen, delhi_coordinator):
    from config import scheduling

    app = submit(now=NOW)
    post(staff_client(delhi_coordinator), messages_url(app), {"kind": "note", "body": "x"}, "k")

    results = scheduling.run_all(NOW + timedelta(hours=25))

    assert results["idempotency_sweep"] == 1
    assert not IdempotencyKey.objects.exists()
