"""The admin: a scoped, read-mostly window whose every workflow change goes through the services."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from offices.models import Membership
from tests.conftest import make_staff
from tests.workflow.conftest import advance, submit
from workflow.models import Application, TransitionLog

pytestmark = pytest.mark.django_db


def make_superuser(username: str, memberships: dict[str, str] | None = None) -> User:
    user = make_staff(username, memberships or {})
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def root() -> User:
    """A superuser who is also a Delhi physician: sees everything, acts as a physician in Delhi."""
    return make_superuser("root", {"delhi": Membership.Role.PHYSICIAN})


def workflow_url(app: Application) -> str:
    return reverse("admin:workflow_application_workflow", args=[app.pk])


def change_url(app: Application) -> str:
    return reverse("admin:workflow_application_change", args=[app.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run(client, app: Application, name: str, **fields: str):
    data = {"action": "transition", "transition": name, **{f"{name}-{k}": v for k, v in fields.items()}}
    return client.post(workflow_url(app), data, follow=True)


def test_the_changelist_and_change_pages_render_for_a_superuser(client, root):
    app = submit()
    advance(app, "quoted")
    client.force_login(root)

    changelist = client.get(reverse("admin:workflow_application_changelist"))
    change = client.get(change_url(app))
    workflow = client.get(workflow_url(app))

    assert changelist.status_code == 200
    assert app.reference in changelist.content.decode()
    assert change.status_code == 200
    assert "Run a transition" in change.content.decode()
    assert "4500.00" in change.content.decode()  # the quote inline shows its items
    assert workflow.status_code == 200


def test_the_state_reference_office_and_assignee_are_never_form_fields(client, delhi_coordinator):
    app = submit()
    client.force_login(delhi_coordinator)

    form = client.get(change_url(app)).context["adminform"].form

    assert {"state", "reference", "office", "assigned_to", "received_at"}.isdisjoint(form.fields)
    assert "full_name" in form.fields


def test_a_transition_run_from_the_admin_goes_through_the_service_and_is_logged_with_the_user(client, root):
    app = submit()
    client.force_login(root)

    response = run(client, app, "approve_review", review_notes="Eligible: active SLE, no contraindication")

    app.refresh_from_db()
    assert response.status_code == 200
    assert app.state == "medically_reviewed"
    assert app.reply_due_at is None  # the review wrote to the patient: the promise is kept
    log = TransitionLog.objects.filter(application=app).last()
    assert (log.action, log.from_state, log.to_state, log.actor) == (
        "approve_review",
        "received",
        "medically_reviewed",
        root,
    )
    assert log.params["review_notes"] == "Eligible: active SLE, no contraindication"


def test_a_physician_who_is_not_a_superuser_reviews_from_a_view_only_change_page(client, delhi_physician):
    app = submit()
    client.force_login(delhi_physician)

    change = client.get(change_url(app))
    run(client, app, "decline", reason="Active hepatitis B infection")

    app.refresh_from_db()
    assert change.status_code == 200
    assert "Run a transition" in change.content.decode()
    assert change.context["adminform"].form.fields == {}  # physicians do not edit patient details here
    assert app.state == "declined"
    assert app.history.last().actor == delhi_physician


def test_a_quote_is_sent_from_lines_of_description_and_amount(client):
    app = advance(submit(), "medically_reviewed")
    coordinator = Membership.objects.get(office=app.office, role="coordinator", user__username__endswith="builder")
    client.force_login(coordinator.user)

    run(
        client,
        app,
        "send_quote",
        items="7-day protocol | 4200.00\nAccommodation, 8 nights | 800",
        currency="",
        valid_until="",
        notes="Flights not included",
    )

    app.refresh_from_db()
    quote = app.quotes.get()
    assert app.state == "quoted"
    assert quote.total == Decimal("5000.00")
    assert quote.currency == "INR"
    assert [item.description for item in quote.items.all()] == ["7-day protocol", "Accommodation, 8 nights"]


def test_a_quoted_case_is_carried_to_admission_from_the_admin(client):
    app = advance(submit(), "quoted")
    coordinator = Membership.objects.get(office=app.office, role="coordinator", user__username__endswith="builder").user
    client.force_login(coordinator)
    local_now = timezone.localtime(timezone.now(), app.office.tz)
    signed = (local_now - timedelta(hours=1)).replace(second=0, microsecond=0)
    scan = SimpleUploadedFile("consent.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")

    client.post(workflow_url(app), {"action": "accept_quote"})
    client.post(
        workflow_url(app),
        {"action": "schedule_admission", "schedule_admission-admission_date": local_now.date().isoformat()},
    )
    client.post(
        workflow_url(app),
        {
            "action": "record_paper_consent",
            "record_paper_consent-signer_name": app.full_name,
            "record_paper_consent-signed_at": signed.strftime("%Y-%m-%dT%H:%M"),
            "record_paper_consent-scan": scan,
        },
    )
    response = run(client, app, "admit")

    app.refresh_from_db()
    assert app.state == "admitted", messages_of(response)
    signature = app.signatures.get()
    assert (signature.method, signature.recorded_by) == ("paper", coordinator)
    assert signature.signed_at == signed  # typed in the office's local time
    assert app.treatment_days.count() == 7


def test_a_forbidden_transition_shows_an_error_and_changes_nothing(client, delhi_coordinator):
    app = submit()
    client.force_login(delhi_coordinator)
    history = TransitionLog.objects.count()

    response = run(client, app, "approve_review", review_notes="I am not a physician")

    app.refresh_from_db()
    assert response.status_code == 200
    assert app.state == "received"
    assert TransitionLog.objects.count() == history
    assert any("does not allow approve review" in m for m in messages_of(response))


def test_a_superuser_without_a_membership_sees_no_application_and_can_change_none(client):
    app = submit()
    client.force_login(make_superuser("admin"))

    # Office membership, not the superuser flag, opens patient data (SPEC §1).
    changelist = client.get(reverse("admin:workflow_application_changelist"))
    page = client.get(workflow_url(app))
    change = client.get(change_url(app))
    declined = run(client, app, "decline", reason="Not eligible")
    edited = client.post(change_url(app), {"full_name": "Someone Else"})

    app.refresh_from_db()
    assert changelist.status_code == 403
    assert page.status_code == 404
    assert change.status_code in (302, 403, 404)
    assert declined.status_code == 404
    assert edited.status_code in (302, 403, 404)
    assert (app.state, app.full_name) == ("received", "Priya Sharma")
    assert not TransitionLog.objects.filter(application=app).exclude(action="submit").exists()


def test_a_transition_not_possible_from_the_state_is_a_conflict_message(client, root):
    app = advance(submit(), "declined")
    client.force_login(root)

    response = run(client, app, "approve_review", review_notes="Second thoughts")

    app.refresh_from_db()
    assert app.state == "declined"
    assert any("not possible from the state declined" in m for m in messages_of(response))


def test_missing_parameters_are_form_errors_not_a_server_error(client, root):
    app = submit()
    client.force_login(root)

    response = run(client, app, "approve_review", review_notes="   ")

    app.refresh_from_db()
    assert response.status_code == 200
    assert app.state == "received"
    form = dict((name, form) for name, _, form in response.context["transition_forms"])["approve_review"]
    assert form.errors["review_notes"]


def test_unparsable_quote_lines_are_form_errors(client):
    app = advance(submit(), "medically_reviewed")
    coordinator = Membership.objects.get(office=app.office, role="coordinator", user__username__endswith="builder")
    client.force_login(coordinator.user)

    response = run(client, app, "send_quote", items="Protocol, no amount", currency="", valid_until="", notes="")

    app.refresh_from_db()
    assert app.state == "medically_reviewed"
    form = dict((name, form) for name, _, form in response.context["transition_forms"])["send_quote"]
    assert "Line 1" in form.errors["items"][0]


def test_assignment_and_transfer_go_through_the_services(client, delhi_manager, delhi_coordinator):
    app = submit()
    make_staff("dual", {"delhi": Membership.Role.MANAGER, "europe": Membership.Role.MANAGER})
    client.force_login(delhi_manager)

    client.post(workflow_url(app), {"action": "assign", "assign-user": delhi_coordinator.pk}, follow=True)
    app.refresh_from_db()
    assert app.assigned_to == delhi_coordinator

    response = client.post(workflow_url(app), {"action": "transfer", "transfer-office": "europe"}, follow=True)
    app.refresh_from_db()
    assert app.office.code == "europe"
    assert app.assigned_to is None  # the Delhi coordinator does not work at Europe
    # The case left the Delhi manager's view: back to the changelist rather than a 404.
    assert response.redirect_chain[-1][0] == reverse("admin:workflow_application_changelist")
    assert list(TransitionLog.objects.filter(application=app).values_list("action", "actor")[1:]) == [
        ("assign", delhi_manager.pk),
        ("transfer", delhi_manager.pk),
    ]


def test_the_assign_to_me_action_uses_the_service_and_reports_refusals(client, delhi_coordinator, europe):
    mine = submit()
    other = submit(office="europe", country="DE")
    admin_user = make_superuser("boss", {"delhi": Membership.Role.COORDINATOR})
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:workflow_application_changelist"),
        {"action": "assign_to_me", "_selected_action": [mine.pk, other.pk]},
        follow=True,
    )

    mine.refresh_from_db()
    other.refresh_from_db()
    assert response.status_code == 200
    assert mine.assigned_to == admin_user
    # Another office's application is not in the superuser's changelist, so the action never reaches it.
    assert other.assigned_to is None
    assert not TransitionLog.objects.filter(application=other, action="assign").exists()


def test_a_physician_may_read_but_not_correct_the_patients_details(client, root):
    app = submit()
    client.force_login(root)

    form = client.get(change_url(app)).context["adminform"].form
    response = client.post(change_url(app), {"full_name": "Someone Else"})

    app.refresh_from_db()
    assert "full_name" not in form.fields
    assert response.status_code == 403
    assert app.full_name == "Priya Sharma"


def test_editing_patient_details_writes_only_those_fields_and_a_history_row(client, delhi_coordinator):
    app = submit()
    client.force_login(delhi_coordinator)
    page = client.get(change_url(app))
    data = {name: value for name, value in page.context["adminform"].form.initial.items() if value is not None}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{key}": value for key, value in management.initial.items()})
    data.update({"full_name": "Priya Sharma-Iyer", "date_of_birth": "1985-04-12", "diagnosis_date": "2019-06-01"})

    with CaptureQueriesContext(connection) as queries:
        response = client.post(change_url(app), data)

    app.refresh_from_db()
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert app.full_name == "Priya Sharma-Iyer"
    # A full save would write every column back as loaded, over whatever a service did meanwhile.
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "workflow_application" ')]
    set_clause = update.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert sorted(re.findall(r'"(\w+)" =', set_clause)) == ["full_name", "updated_at"]
    log = TransitionLog.objects.filter(application=app).last()
    assert (log.action, log.actor, log.from_state, log.to_state) == (
        "update_details",
        delhi_coordinator,
        "received",
        "received",
    )
    assert log.params == {"changes": {"full_name": {"from": "Priya Sharma", "to": "Priya Sharma-Iyer"}}}


def test_implausible_details_are_form_errors_and_change_nothing(client, delhi_coordinator):
    app = submit()
    client.force_login(delhi_coordinator)
    page = client.get(change_url(app))
    data = {name: value for name, value in page.context["adminform"].form.initial.items() if value is not None}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{key}": value for key, value in management.initial.items()})
    data.update({"full_name": "Priya \u202eamrahS", "date_of_birth": "1850-01-01", "diagnosis_date": "2019-06-01"})

    response = client.post(change_url(app), data)

    app.refresh_from_db()
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "text-direction" in errors["full_name"][0]
    assert "1900" in errors["date_of_birth"][0]
    assert app.full_name == "Priya Sharma"
    assert not TransitionLog.objects.filter(application=app, action="update_details").exists()


def test_history_rows_cannot_be_deleted_or_changed_through_the_admin(client, root):
    app = submit()
    log = TransitionLog.objects.get(application=app)
    client.force_login(root)

    delete = client.post(reverse("admin:workflow_transitionlog_delete", args=[log.pk]), {"post": "yes"})
    change = client.post(reverse("admin:workflow_transitionlog_change", args=[log.pk]), {"action": "hacked"})
    changelist = client.get(reverse("admin:workflow_transitionlog_changelist"))

    assert delete.status_code == 403
    assert change.status_code == 403
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert TransitionLog.objects.get(pk=log.pk).action == "submit"


def test_a_delhi_only_staff_member_sees_only_delhi_applications(client, delhi_coordinator):
    delhi_app = submit()
    europe_app = submit(office="europe", country="DE", full_name="Anna Becker")
    client.force_login(delhi_coordinator)

    changelist = client.get(reverse("admin:workflow_application_changelist"))
    other = client.get(change_url(europe_app))
    other_workflow = client.get(workflow_url(europe_app))

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].queryset) == [delhi_app]
    assert europe_app.reference not in changelist.content.decode()
    assert other.status_code == 302  # the admin's "does not exist" redirect, no data
    assert other_workflow.status_code == 404


def test_an_outsider_with_is_staff_sees_no_workflow_at_all(client, outsider):
    submit()
    client.force_login(outsider)

    assert client.get(reverse("admin:workflow_application_changelist")).status_code == 403


def test_the_consent_document_hash_is_read_only_and_recomputed_on_save(client, root):
    from workflow.models import ConsentDocument
    from workflow.models.consent import sha256_of

    client.force_login(root)
    url = reverse("admin:workflow_consentdocument_add")
    data = {"version": 2, "language": "en", "title": "Consent v2", "text": "New text", "sha256": "0" * 64}

    response = client.post(url, data)

    document = ConsentDocument.objects.get(version=2)
    assert response.status_code == 302
    assert document.sha256 == sha256_of("New text")


def test_quotes_signatures_and_history_have_read_only_pages_of_their_own(client):
    app = advance(submit(), "admitted")
    quote, signature = app.quotes.get(), app.signatures.get()
    client.force_login(Membership.objects.get(office=app.office, role="manager").user)

    quote_page = client.get(reverse("admin:workflow_quote_change", args=[quote.pk]))
    signature_page = client.get(reverse("admin:workflow_consentsignature_change", args=[signature.pk]))
    edit = client.post(reverse("admin:workflow_quote_change", args=[quote.pk]), {"total": "1.00"})

    assert quote_page.status_code == 200
    assert "Protocol" in quote_page.content.decode()  # its items, inline
    assert not quote_page.context["has_change_permission"]
    assert signature_page.status_code == 200
    assert edit.status_code == 403
    quote.refresh_from_db()
    assert quote.total == Decimal("4500.00")


def test_the_change_page_shows_the_applications_notifications_and_their_delivery(client, root):
    app = submit()
    Notification.objects.filter(kind="intake_acknowledgement").update(status="failed", last_error="550 mailbox unknown")
    client.force_login(root)
    page = client.get(change_url(app)).content.decode()
    assert "intake_acknowledgement" in page
    assert "550 mailbox unknown" in page
