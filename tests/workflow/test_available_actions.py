"""What a user may do is decided once: `available_actions`, `assignable_staff`, and interfaces offering just that."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from offices.models import Membership
from offices.promise import reply_deadlines
from tests.conftest import make_staff
from tests.workflow.conftest import advance, office_staff, submit
from workflow import selectors, services
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed

pytestmark = pytest.mark.django_db


def test_a_coordinator_physician_manager_and_outsider_are_offered_what_their_role_allows(outsider: User) -> None:
    app = submit()
    staff = office_staff(app.office)

    offered = {role: services.available_actions(app, actor) for role, actor in staff.items()}

    assert (
        offered["coordinator"]
        == offered["manager"]
        == [
            "reply",
            "note",
            "record_inbound",
            "assign",
            "transfer",
            "update_details",
            "send_portal_link",
            "revoke_portal_links",
        ]
    )
    assert offered["physician"] == ["reply", "note", "record_inbound"]
    assert services.available_actions(app, Actor.staff(outsider)) == []
    assert services.available_actions(app, Actor.patient()) == ["record_inbound"]


def test_the_quote_and_consent_actions_follow_the_quote() -> None:
    app = advance(submit(), "quoted")
    coordinator = office_staff(app.office)["coordinator"]

    before = services.available_actions(app, coordinator)
    services.quote_accept(application=app, actor=coordinator)
    accepted = services.available_actions(app, coordinator)
    services.consent_sign_portal(application=app, signer_name=app.full_name, ip_address=None, user_agent="pytest")
    signed = services.available_actions(app, coordinator)

    assert {"accept_quote", "record_paper_consent"} <= set(before)
    assert "schedule_admission" not in before and "withdraw_consent" not in before
    assert "accept_quote" not in accepted and "schedule_admission" in accepted
    assert "withdraw_consent" in signed
    assert "sign_consent" in services.available_actions(app, Actor.patient())


def test_a_terminal_application_cannot_be_transferred_and_the_service_agrees() -> None:
    app = advance(submit(), "declined")
    manager = office_staff(app.office)["manager"]

    assert "transfer" not in services.available_actions(app, manager)
    with pytest.raises(Conflict, match="cannot be transferred"):
        services.application_transfer(application=app, actor=manager, office_code="europe")


def test_every_action_not_offered_to_a_role_is_refused_by_its_service() -> None:
    app = submit()
    physician = office_staff(app.office)["physician"]

    assert "assign" not in services.available_actions(app, physician)
    with pytest.raises(NotAllowed):
        services.application_assign(application=app, actor=physician, user_id=None)
    with pytest.raises(NotAllowed):
        services.application_update_details(application=app, actor=physician, changes={"phone": "1"})


def test_assignable_staff_are_the_active_members_of_the_office_only(delhi_coordinator: User) -> None:
    app = submit()
    europe_only = make_staff("jonas", {"europe": Membership.Role.COORDINATOR})
    inactive = make_staff("gone", {"delhi": Membership.Role.COORDINATOR})
    inactive.is_active = False
    inactive.save()

    names = list(selectors.assignable_staff(app).values_list("username", flat=True))

    assert names == ["asha"]
    for user in (europe_only, inactive):
        with pytest.raises(Exception, match="Not an active staff member"):
            services.application_assign(application=app, actor=Actor.staff(delhi_coordinator), user_id=user.pk)


def test_the_admin_page_offers_exactly_the_available_transitions_and_actions(client, delhi_coordinator: User) -> None:
    app = advance(submit(), "quoted")
    client.force_login(delhi_coordinator)
    actor = Actor.staff(delhi_coordinator)

    page = client.get(reverse("admin:workflow_application_workflow", args=[app.pk]))

    assert page.status_code == 200
    assert [name for name, _, _ in page.context["transition_forms"]] == services.available_transitions(app, actor)
    assert [name for name, _, _ in page.context["action_forms"]] == [
        name for name in services.available_actions(app, actor) if name != "update_details"
    ]


def test_the_api_detail_names_the_available_actions(delhi_physician: User) -> None:
    app = submit()
    client = APIClient()
    client.force_authenticate(delhi_physician)

    body = client.get(f"/api/v1/applications/{app.reference}/").json()

    assert body["available_transitions"] == ["approve_review", "decline"]
    assert body["available_actions"] == ["reply", "note", "record_inbound"]


def test_the_public_reply_due_answer_is_the_deadline_an_obligation_gets() -> None:
    app = submit()
    obligation = app.obligations.get()
    received = obligation.opened_at.isoformat().replace("+00:00", "Z")

    body = APIClient().get(f"/api/v1/offices/delhi/reply-due/?received_at={received}").json()

    assert body["reply_due_at"].replace("Z", "+00:00") == obligation.due_at.isoformat()
    assert reply_deadlines(app.office, obligation.opened_at).due_at == obligation.due_at


ROLE_LITERAL = re.compile(r"""["'](coordinator|physician|manager)["']""")


def test_no_code_names_a_role_by_a_literal_string_outside_the_roles_module() -> None:
    root = Path(settings.BASE_DIR)
    allowed = {root / "offices" / "models.py", root / "offices" / "roles.py"}
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in ("config", "offices", "workflow", "notifications", "bench")
        for path in sorted((root / package).rglob("*.py"))
        if path not in allowed and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ROLE_LITERAL.search(line)
    ]
    assert offenders == []


def test_the_quote_services_are_written_out_where_grep_finds_them() -> None:
    source = (Path(settings.BASE_DIR) / "workflow" / "services" / "transitions.py").read_text()
    for name in services.TRANSITION_NAMES:
        assert f"def application_{name}(" in source
