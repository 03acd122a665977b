"""Running a step from the staff pages: `POST /staff/applications/<reference>/do/<name>/` (staff:act).

Each branch: done (redirect with a message), a form error that keeps what was typed (400), a role that
may not (403, nothing changed), someone who acted first (409, who did what and when), another
office's application (404), and CSRF.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_fsm import ConcurrentTransition

from offices.models import Membership
from tests.conftest import make_staff
from tests.workflow.conftest import TINY_PDF, advance, submit
from workflow import forms as workflow_forms
from workflow.models import Application, ConsentSignature, Message, State, TransitionLog

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act_url(application: Application, name: str) -> str:
    return reverse("staff:act", args=[application.reference, name])


def post(client: Client, application: Application, name: str, fields: dict[str, Any], **extra: Any) -> Any:
    data = {f"{name}-{key}": value for key, value in fields.items()}
    return client.post(act_url(application, name), {**data, **extra})


def latest_history_id(application: Application) -> int:
    return TransitionLog.objects.filter(application=application).order_by("-id").values_list("id", flat=True)[0]


def flash(response: Any) -> str:
    return " ".join(str(message) for message in response.context["messages"]) if response.context else ""


# ---- done ----


def test_a_reply_is_sent_and_the_reply_promise_is_kept(delhi_coordinator: User) -> None:
    application = submit()
    assert application.reply_due_at is not None

    client = signed_in(delhi_coordinator)
    response = post(client, application, "reply", {"body": "We will call you tomorrow."})

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:application", args=[application.reference])
    application.refresh_from_db()
    assert application.reply_due_at is None
    assert Message.objects.filter(application=application, direction="outbound", body="We will call you tomorrow.")
    page = client.get(response["Location"]).content.decode()
    assert "No reply owed" in page
    assert "Reply sent to the patient." in page


def test_a_physician_approves_and_goes_back_to_the_review_list(delhi_physician: User) -> None:
    application = submit()

    response = post(
        signed_in(delhi_physician),
        application,
        "approve_review",
        {"review_notes": "Eligible for the protocol", "protocol": ""},
        next="/staff/reviews/",
    )

    assert response.status_code == 302
    assert response["Location"] == "/staff/reviews/"
    application.refresh_from_db()
    assert application.state == State.MEDICALLY_REVIEWED
    assert application.review_notes == "Eligible for the protocol"


@pytest.mark.parametrize("target", ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)"])
def test_a_next_that_leaves_the_site_is_ignored(delhi_physician: User, target: str) -> None:
    application = submit()

    response = post(signed_in(delhi_physician), application, "decline", {"reason": "Not eligible"}, next=target)

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:application", args=[application.reference])


def test_a_coordinator_sends_a_quote_with_its_lines(delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")

    response = post(
        signed_in(delhi_coordinator),
        application,
        "send_quote",
        {"items": "Seven-day protocol | 4500.00\nHospital stay | 2100.00", "currency": "", "valid_until": ""},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == State.QUOTED
    quote = application.quotes.get()
    assert str(quote.total) == "6600.00"


def test_recording_a_phone_call_opens_a_reply_obligation(delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")
    assert application.reply_due_at is None
    local = (timezone.now() - timedelta(minutes=30)).astimezone(application.office.tz)

    response = post(
        signed_in(delhi_coordinator),
        application,
        "record_inbound",
        {"channel": "phone", "received_at": f"{local:%Y-%m-%dT%H:%M}", "body": "Asked about travel"},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.reply_due_at is not None
    message = Message.objects.get(application=application, direction="inbound", channel="phone")
    assert abs(message.created_at - local) < timedelta(minutes=1)  # typed in the office's local time


def test_a_paper_consent_is_uploaded_and_its_scan_downloads_as_an_attachment(delhi_coordinator: User) -> None:
    application = advance(submit(), "quoted")
    local = timezone.now().astimezone(application.office.tz) - timedelta(hours=1)
    client = signed_in(delhi_coordinator)

    response = client.post(
        act_url(application, "record_paper_consent"),
        {
            "record_paper_consent-signer_name": "Priya Sharma",
            "record_paper_consent-signed_at": f"{local:%Y-%m-%dT%H:%M}",
            "record_paper_consent-scan": SimpleUploadedFile("form.pdf", TINY_PDF, content_type="application/pdf"),
        },
    )

    assert response.status_code == 302
    signature = ConsentSignature.objects.get(application=application, method="paper")
    download = client.get(reverse("staff:consent_scan", args=[application.reference, signature.pk]))
    assert download.status_code == 200
    assert download.getvalue() == TINY_PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download["Cache-Control"]


def test_a_transfer_out_of_the_users_offices_lands_on_the_queue(delhi_coordinator: User) -> None:
    application = submit()

    response = post(signed_in(delhi_coordinator), application, "transfer", {"office": "europe"})

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:queue")
    application.refresh_from_db()
    assert application.office.code == "europe"


# ---- form errors ----


def test_a_form_error_keeps_what_was_typed_names_the_field_and_opens_the_form(delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")

    response = post(
        signed_in(delhi_coordinator), application, "send_quote", {"items": "Seven-day protocol 4500", "notes": "Kept"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert 'href="#id_send_quote-items"' in html  # the summary links to the field
    assert "Seven-day protocol 4500" in html and "Kept" in html
    assert '<details class="action action--transition" data-step="send_quote" open>' in html
    assert "<title>Error:" in html
    application.refresh_from_db()
    assert application.state == State.MEDICALLY_REVIEWED


def test_a_services_refusal_of_a_value_lands_on_its_field(delhi_coordinator: User) -> None:
    application = advance(submit(), "medically_reviewed")
    yesterday = timezone.localdate(timezone.now(), application.office.tz) - timedelta(days=1)

    response = post(
        signed_in(delhi_coordinator),
        application,
        "send_quote",
        {"items": "Protocol | 4500", "valid_until": yesterday.isoformat()},
    )

    assert response.status_code == 400
    assert "The quote cannot expire in the past." in response.content.decode()
    assert yesterday.isoformat() in response.content.decode()


def test_an_empty_reply_is_a_form_error_and_sends_nothing(delhi_coordinator: User) -> None:
    application = submit()

    response = post(signed_in(delhi_coordinator), application, "reply", {"body": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Message.objects.filter(application=application, direction="outbound").exists()


# ---- no permission ----


def test_a_coordinator_posting_approve_review_is_refused_and_nothing_changes(delhi_coordinator: User) -> None:
    application = submit()
    before = TransitionLog.objects.filter(application=application).count()

    response = post(signed_in(delhi_coordinator), application, "approve_review", {"review_notes": "Looks fine"})

    assert response.status_code == 403
    assert "your role in the Delhi office does not allow" in flash(response)
    assert "Approve the medical review" in flash(response)
    application.refresh_from_db()
    assert application.state == State.RECEIVED
    assert TransitionLog.objects.filter(application=application).count() == before


def test_a_physician_may_not_assign(delhi_physician: User) -> None:
    application = submit()

    response = post(signed_in(delhi_physician), application, "assign", {"user": delhi_physician.pk})

    assert response.status_code == 403  # the physician is assignable, but may not assign
    application.refresh_from_db()
    assert application.assigned_to is None


# ---- wrong state and conflicts ----


def test_someone_who_acted_first_is_named_with_what_and_when(delhi_physician: User) -> None:
    application = submit()
    seen = latest_history_id(application)
    colleague = make_staff("dr_iyer", {"delhi": Membership.Role.PHYSICIAN})
    assert post(signed_in(colleague), application, "approve_review", {"review_notes": "Eligible"}).status_code == 302
    approved = TransitionLog.objects.get(application=application, action="approve_review")

    response = post(
        signed_in(delhi_physician), application, "approve_review", {"review_notes": "Also eligible"}, seen=seen
    )

    assert response.status_code == 409
    local = approved.at.astimezone(application.office.tz)
    message = flash(response)
    assert f"dr_iyer approved the medical review at {local:%a %d %b %Y, %H:%M} IST while you were on this page" in (
        message
    )
    assert 'id="current-state">Medically reviewed<' in response.content.decode()
    application.refresh_from_db()
    assert application.review_notes == "Eligible"


def test_a_step_from_a_page_loaded_before_a_transition_is_refused_even_if_still_possible(
    delhi_coordinator: User,
) -> None:
    application = submit()
    seen = latest_history_id(application)
    advance(application, "medically_reviewed")  # withdraw is still possible, but the case has moved on

    response = post(signed_in(delhi_coordinator), application, "withdraw", {"reason": "Patient asked"}, seen=seen)

    assert response.status_code == 409
    assert "approved the medical review" in flash(response)
    application.refresh_from_db()
    assert application.state == State.MEDICALLY_REVIEWED
    assert "Patient asked" in response.content.decode()  # what was typed is kept in the reopened form


def test_without_the_pages_marker_the_services_conflict_still_names_the_latest_change(
    delhi_physician: User,
) -> None:
    application = advance(submit(), "medically_reviewed")

    response = post(signed_in(delhi_physician), application, "decline", {"reason": "Too late"})

    assert response.status_code == 409
    assert "approved the medical review" in flash(response)
    application.refresh_from_db()
    assert application.state == State.MEDICALLY_REVIEWED


def test_a_reply_written_on_an_out_of_date_page_is_still_sent(delhi_coordinator: User) -> None:
    application = submit()
    seen = latest_history_id(application)
    advance(application, "medically_reviewed")

    response = post(signed_in(delhi_coordinator), application, "reply", {"body": "Good news soon"}, seen=seen)

    assert response.status_code == 302
    assert Message.objects.filter(application=application, body="Good news soon").exists()


def test_a_concurrent_save_the_lock_missed_is_shown_as_a_conflict(
    delhi_physician: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # django-fsm's backstop: if it ever fires past the service, the page still says what happened.
    def lost(self: Any, actor: Any) -> None:
        raise ConcurrentTransition("state changed")

    monkeypatch.setattr(workflow_forms.ApproveReviewForm, "call", lost)
    application = submit()

    response = post(signed_in(delhi_physician), application, "approve_review", {"review_notes": "Eligible"})

    assert response.status_code == 409
    assert "Someone acted first" in flash(response)
    assert "patient submitted the application" in flash(response)


def test_admitting_before_the_conditions_are_met_says_what_is_missing(delhi_coordinator: User) -> None:
    application = advance(submit(), "quoted")

    response = post(signed_in(delhi_coordinator), application, "admit", {})

    assert response.status_code == 409
    assert "the patient has not accepted the current quote" in flash(response)
    application.refresh_from_db()
    assert application.state == State.QUOTED


# ---- not found, unknown step, CSRF ----


def test_another_offices_application_is_a_404_page_for_a_post_too(europe_coordinator: User) -> None:
    application = submit()

    response = post(signed_in(europe_coordinator), application, "reply", {"body": "Hello"})

    assert response.status_code == 404
    assert "Application not found" in response.content.decode()
    assert not Message.objects.filter(application=application, direction="outbound").exists()


def test_an_unknown_step_is_a_404_page(delhi_coordinator: User) -> None:
    application = submit()

    for name in ("launch_rocket", "sign_consent", "update_details"):
        assert post(signed_in(delhi_coordinator), application, name, {}).status_code == 404


def test_the_step_endpoint_takes_only_posts(delhi_coordinator: User) -> None:
    application = submit()

    assert signed_in(delhi_coordinator).get(act_url(application, "reply")).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(delhi_coordinator: User) -> None:
    application = submit()
    client = Client(enforce_csrf_checks=True)
    client.force_login(delhi_coordinator)

    response = client.post(act_url(application, "reply"), {"reply-body": "Hello"})

    assert response.status_code == 403
    assert not Message.objects.filter(application=application, direction="outbound").exists()


def test_a_user_with_no_office_gets_the_no_office_page(outsider: User) -> None:
    application = submit()

    response = post(signed_in(outsider), application, "reply", {"body": "Hello"})

    assert response.status_code == 403
    assert "not a member of any office" in response.content.decode()


def test_staff_of_both_offices_act_on_either() -> None:
    both = make_staff("sam", {"delhi": Membership.Role.COORDINATOR, "europe": Membership.Role.COORDINATOR})
    application = submit(office="europe")

    response = post(signed_in(both), application, "note", {"body": "Seen from Delhi"})

    assert response.status_code == 302
    assert Message.objects.filter(application=application, direction="internal", body="Seen from Delhi").exists()


def test_a_step_on_an_application_transferred_away_meanwhile_lands_on_the_queue_with_why(
    delhi_coordinator: User,
) -> None:
    application = submit()
    seen = latest_history_id(application)
    client = signed_in(delhi_coordinator)
    assert post(client, application, "transfer", {"office": "europe"}).status_code == 302

    response = post(client, application, "withdraw", {"reason": "Patient asked"}, seen=seen)

    assert response.status_code == 404  # no longer theirs to see: not even that it moved
    application.refresh_from_db()
    assert application.state == State.RECEIVED


def test_a_form_error_from_the_review_list_keeps_the_way_back(delhi_physician: User) -> None:
    application = submit()

    response = post(
        signed_in(delhi_physician), application, "approve_review", {"review_notes": ""}, next="/staff/reviews/"
    )

    assert response.status_code == 400
    assert 'name="next" value="/staff/reviews/"' in response.content.decode()
