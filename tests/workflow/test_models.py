"""Model-level guarantees: the history is append-only, the state changes only through transitions,
and the database keeps the invariants the services rely on."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.workflow.conftest import advance, submit
from workflow.models import Application, ConsentDocument, Quote, ReplyObligation, TransitionLog, TreatmentDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(application: Application) -> TransitionLog:
    return application.history.get()


def test_saving_an_existing_history_row_again_is_refused(log: TransitionLog) -> None:
    log.params = {"office": "europe"}

    with pytest.raises(TypeError, match="append-only"):
        log.save()

    assert TransitionLog.objects.get(pk=log.pk).params["office"] == "delhi"


def test_deleting_a_history_row_is_refused(log: TransitionLog) -> None:
    with pytest.raises(TypeError, match="append-only"):
        log.delete()

    assert TransitionLog.objects.filter(pk=log.pk).exists()


def test_updating_history_rows_in_bulk_is_refused(log: TransitionLog) -> None:
    with pytest.raises(TypeError, match="append-only"):
        TransitionLog.objects.filter(pk=log.pk).update(action="tampered")
    with pytest.raises(TypeError, match="append-only"):
        TransitionLog.objects.update(action="tampered")

    assert TransitionLog.objects.get(pk=log.pk).action == "submit"


def test_deleting_history_rows_in_bulk_is_refused(log: TransitionLog) -> None:
    with pytest.raises(TypeError, match="append-only"):
        TransitionLog.objects.filter(pk=log.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        TransitionLog.objects.all().delete()

    assert TransitionLog.objects.count() == 1


def test_an_application_with_history_cannot_be_deleted(application: Application) -> None:
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        application.delete()


def test_new_history_rows_can_still_be_added(application: Application) -> None:
    TransitionLog.objects.create(
        application=application,
        action="note",
        from_state="received",
        to_state="received",
        actor_kind=TransitionLog.ActorKind.SYSTEM,
        at=timezone.now(),
    )

    assert application.history.count() == 2


def test_the_state_cannot_be_written_directly(application: Application) -> None:
    with pytest.raises(AttributeError):
        application.state = "admitted"

    assert Application.objects.get(pk=application.pk).state == "received"


def test_the_state_cannot_be_written_on_a_freshly_loaded_application(application: Application) -> None:
    loaded = Application.objects.get(pk=application.pk)

    with pytest.raises(AttributeError):
        loaded.state = "completed"


def test_a_protected_state_still_refreshes_from_the_database(application: Application) -> None:
    stale = Application.objects.get(pk=application.pk)
    advance(application, "medically_reviewed")

    stale.refresh_from_db()

    assert stale.state == "medically_reviewed"


def test_a_consent_document_hashes_its_own_text() -> None:
    document = ConsentDocument.objects.create(version=9, language="en", title="Consent", text="I agree.")

    assert document.sha256 == hashlib.sha256(b"I agree.").hexdigest()


def test_the_database_allows_only_one_live_quote() -> None:
    app = advance(submit(), "quoted")
    live = app.quotes.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(
            application=app,
            currency="INR",
            total=Decimal("1"),
            valid_until=live.valid_until,
            created_at=timezone.now(),
        )


def test_the_database_refuses_a_quote_of_zero() -> None:
    app = advance(submit(), "quoted")
    Quote.objects.filter(application=app).update(superseded_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(
            application=app,
            currency="INR",
            total=Decimal("0"),
            valid_until=timezone.localdate(),
            created_at=timezone.now(),
        )


def test_the_database_allows_only_one_open_obligation(application: Application) -> None:
    current = application.obligations.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        ReplyObligation.objects.create(
            application=application,
            calendar_office=application.office,
            opened_at=current.opened_at,
            warn_at=current.warn_at,
            due_at=current.due_at,
        )


def test_a_treatment_day_number_appears_once_per_application(application: Application) -> None:
    day = datetime(2026, 3, 11, tzinfo=UTC).date()
    TreatmentDay.objects.create(application=application, day=1, date=day)

    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentDay.objects.create(application=application, day=1, date=day + timedelta(days=1))


def test_history_names_who_acted(application: Application, log: TransitionLog) -> None:
    assert log.actor_label == "patient"
    assert str(log) == "submit:  → received"
