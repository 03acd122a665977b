"""The whole API driven by random sequences of actions, checked step by step against a model.

A Hypothesis state machine plays the clinic's staff — a coordinator, a physician and a manager per
office, a manager of both offices, and someone with no office — and the patients who apply on the
public form. It runs every transition, message, assignment, transfer, quote acceptance, admission
date and paper consent, with right and wrong roles, states and parameters, through the real URL
routing with token authentication. `stateful_model` says what should happen; after each step the
touched applications are read back by their office's staff and by strangers and compared with it.

Bounded for `make test`; `FUZZ_EXAMPLES` and `FUZZ_STEPS` raise the bounds (`make fuzz`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from offices.models import Membership
from tests.conftest import confirmed_totp, current_code, make_staff
from tests.workflow.conftest import INTAKE_FORM, TINY_PDF
from tests.workflow.stateful_model import (
    ANY_STAFF,
    MAIN_PATH,
    OFFICE_STAFF,
    OFFICES,
    PERSONA_NAMES,
    PERSONAS,
    ROUTED,
    TRANSITIONS,
    Case,
    refusals,
    transition_params_invalid,
)

if TYPE_CHECKING:
    from hypothesis.stateful import MultipleResults
    from rest_framework.response import _MonkeyPatchedResponse as Response

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
STEPS = int(os.environ.get("FUZZ_STEPS", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    # Nothing written into the working tree; a failure prints its steps, which reproduce it.
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Wednesday 25 November 2026: 11:30 in Delhi, 07:00 in Berlin, the same date in both offices. The
# clock stands still and moves only when the machine lets a day pass, so "today" is never ambiguous.
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ZONES = {"delhi": ZoneInfo("Asia/Kolkata"), "europe": ZoneInfo("Europe/Berlin")}
# Few applications per sequence, so that each gets far along its path; a few days, so that quotes
# expire and admission dates arrive.
MAX_APPLICATIONS = 4
MAX_DAYS = 6

API = "/api/v1/applications/"
# A reference no application has.
MISSING = "DEL-2026-99999"
OMIT: Any = object()
ITEMS = [{"description": "Seven-day protocol", "amount": "4500.00"}]
SHORT_PROTOCOL = [{"day": 1, "activities": ["admission", "IV injection"]}, {"day": 2, "activities": ["discharge"]}]


def fields(**choices: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A request body: each field one of its choices, or left out where the choice is OMIT."""
    drawn = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in choices.items()})
    return drawn.map(lambda body: {name: value for name, value in body.items() if value is not OMIT})


def right_params(name: str, today: date) -> dict[str, Any]:
    """Parameters a careful client sends for this transition."""
    careful: dict[str, dict[str, Any]] = {
        "approve_review": {"review_notes": "Eligible"},
        "decline": {"reason": "Not eligible"},
        "send_quote": {"items": ITEMS},
        "revise_quote": {"items": ITEMS},
        "discharge": {"discharge_date": today.isoformat(), "summary": "Tolerated well"},
        "withdraw": {"reason": "The patient asked"},
    }
    return careful.get(name, {})


def transition_params(name: str, today: date) -> st.SearchStrategy[dict[str, Any]]:
    """Half the time the right parameters, otherwise anything from a menu of right and wrong ones."""
    day = {offset: (today + timedelta(days=offset)).isoformat() for offset in (-3, -1, 0, 1, 10)}
    notes = [OMIT, "Eligible", "", "   "]
    reason = [OMIT, "The patient asked", "", "  "]
    quote = fields(
        items=[
            ITEMS,
            [*ITEMS, {"description": "Stay", "amount": "300"}],
            [],
            [{"description": "Protocol", "amount": "0"}],
            [{"description": "Protocol", "amount": "-5"}],
            [{"description": "Protocol", "amount": "12.345"}],
            [{"amount": "10"}],
            [{"description": "x" * 201, "amount": "10"}],
        ],
        currency=[OMIT, None, "usd", "EUR", "EURO", "E1R"],
        valid_until=[OMIT, day[-1], day[0], day[1], day[10], "soon"],
        notes=[OMIT, "All inclusive"],
    )
    menus: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "approve_review": fields(
            review_notes=notes,
            protocol=[
                OMIT,
                None,
                SHORT_PROTOCOL,
                [],
                [{"day": 2, "activities": ["rest"]}],
                [{"day": 1, "activities": []}],
            ],
        ),
        "decline": fields(reason=reason),
        "send_quote": quote,
        "revise_quote": quote,
        "discharge": fields(
            discharge_date=[OMIT, day[-3], day[-1], day[0], day[1], "yesterday"],
            summary=[OMIT, "Tolerated well", ""],
        ),
        "withdraw": fields(reason=reason),
    }
    anything = menus.get(name, st.sampled_from([{}, {"unexpected": True}]))
    return st.one_of(st.just(right_params(name, today)), anything)


@dataclass
class World:
    """What outlives one sequence of actions: the clock, the staff and their signed-in clients."""

    clock: time_machine.Traveller
    users: dict[str, int]
    clients: dict[str, APIClient]
    addresses: int = 0

    def fresh_address(self) -> str:
        """A client address never used before, so that no throttle counts two requests from it."""
        self.addresses += 1
        n = self.addresses
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class ApiMachine(RuleBasedStateMachine):
    """Set `world` in a subclass: Hypothesis builds the machine afresh, with no arguments, for each sequence."""

    applications = Bundle("applications")
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        self.world.clock.move_to(NOW)
        # Each sequence starts from the staff alone and leaves nothing behind (teardown).
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.cases: dict[str, Case] = {}
        self.touched: set[str] = set()
        self.days = 0
        self.turn = 0
        # reference -> what the model said each member of its office may run, at the last check
        self.offered: dict[str, dict[str, list[str]]] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    # ---- plumbing ----

    def today(self, office: str) -> date:
        return timezone.localdate(timezone.now(), ZONES[office])

    def request(self, persona: str | None, method: str, path: str, data: Any = None, **extra: Any) -> Response:
        client = self.world.clients[persona] if persona else APIClient()
        if method == "get":
            response = client.get(path, data, **extra)
        else:
            response = client.post(path, data, **{"format": "json", **extra})
        assert response.status_code < 500, f"{method.upper()} {path} as {persona}: {response.status_code}"
        return response

    def act(self, persona: str, reference: str, endpoint: str, body: Any = None, **extra: Any) -> Response:
        """POST to one of the application's endpoints.

        For staff of the other office the answer must be the one a reference that does not exist
        gets: the application does not exist for them, and nothing in the answer may say otherwise.
        """
        response = self.request(persona, "post", f"{API}{reference}/{endpoint}", body, **extra)
        if PERSONAS[persona] and self.cases[reference].role_of(persona) is None:
            for value in (body or {}).values():
                if isinstance(value, SimpleUploadedFile):
                    value.seek(0)
            ghost = self.request(persona, "post", f"{API}{MISSING}/{endpoint}", body, **extra)
            assert (ghost.status_code, ghost.json()["code"]) == (response.status_code, response.json()["code"]), (
                f"{endpoint} by {persona}: another office's application answers {response.json()}, "
                f"a missing one {ghost.json()}"
            )
        return response

    @staticmethod
    def expect(response: Response, refused: dict[int, str], success: int, action: str, context: str) -> bool:
        """True when the step succeeded as it should; fails the test when the answer is not the model's."""
        body = response.json()
        if not refused:
            assert response.status_code == success, (
                f"{action} {context}: expected {success}, got {response.status_code} {body}"
            )
            event(f"done: {action}")
            return True
        assert response.status_code in refused, (
            f"{action} {context}: expected one of {sorted(refused)}, got {response.status_code} {body}"
        )
        assert body["code"] == refused[response.status_code], f"{action} {context}: {body}"
        event(f"refused: {action}, {response.status_code} {body['code']}")
        return False

    def someone(self, data: st.DataObject, case: Case, roles: frozenset[str]) -> str:
        """Who acts: mostly someone whose role allows it, sometimes any member of the office, or anyone."""
        right = [p for p in PERSONA_NAMES if case.role_of(p) in roles]
        members = [p for p in PERSONA_NAMES if case.role_of(p) is not None]
        strategy = st.one_of(st.sampled_from(right), st.sampled_from(members), st.sampled_from(PERSONA_NAMES))
        return data.draw(st.one_of(st.sampled_from(right), strategy), label="persona")

    # ---- intake ----

    def received(self, body: dict[str, Any], office: str) -> str:
        """A new application, as the model has it; its deadline is the office's answer for that instant."""
        reference = body["reference"]
        assert (body["state"], body["office"]) == ("received", office), body
        due = self.request(None, "get", f"/api/v1/offices/{office}/reply-due/", {"received_at": body["received_at"]})
        assert body["reply_due_at"] == due.json()["reply_due_at"], (body, due.json())
        self.cases[reference] = Case(reference=reference, office=office, reply_due_at=body["reply_due_at"])
        self.touched.add(reference)
        return reference

    @initialize(target=applications)
    def a_patient_applied(self) -> str:
        response = self.request(None, "post", API, INTAKE_FORM, REMOTE_ADDR=self.world.fresh_address())
        assert response.status_code == 201, response.json()
        return self.received(response.json(), "delhi")

    @precondition(lambda self: len(self.cases) < MAX_APPLICATIONS)
    @rule(
        target=applications,
        country=st.sampled_from(sorted(ROUTED)),
        office=st.sampled_from([OMIT, OMIT, "delhi", "europe", "atlantis"]),
        consent=st.sampled_from([True, True, True, False]),
        sets_received_at=st.sampled_from([False, False, False, True]),
    )
    def a_patient_applies_on_the_public_form(
        self, country: str, office: Any, consent: bool, sets_received_at: bool
    ) -> MultipleResults[str] | str:
        body = {**INTAKE_FORM, "country": country, "privacy_consent": consent}
        if office is not OMIT:
            body["office"] = office
        if sets_received_at:
            body["received_at"] = (timezone.now() - timedelta(hours=1)).isoformat()
        response = self.request(None, "post", API, body, REMOTE_ADDR=self.world.fresh_address())
        # Only staff may say when a request arrived.
        if not consent or office == "atlantis" or sets_received_at:
            self.expect(response, {400: "invalid"}, 201, "public intake", str(body))
            return multiple()
        self.expect(response, {}, 201, "public intake", str(body))
        assert "available_transitions" not in response.json(), "a patient gets a receipt, not the application"
        return self.received(response.json(), ROUTED[country] if office is OMIT else office)

    @precondition(lambda self: len(self.cases) < MAX_APPLICATIONS)
    @rule(
        target=applications,
        persona=st.sampled_from(PERSONA_NAMES),
        country=st.sampled_from(sorted(ROUTED)),
        office=st.sampled_from([OMIT, "delhi", "europe", "atlantis"]),
        hours_ago=st.sampled_from([OMIT, 0, 30, 200, -2]),
    )
    def a_staff_member_enters_a_phoned_in_application(
        self, persona: str, country: str, office: Any, hours_ago: Any
    ) -> MultipleResults[str] | str:
        body = {**INTAKE_FORM, "country": country}
        if office is not OMIT:
            body["office"] = office
        if hours_ago is not OMIT:
            body["received_at"] = (timezone.now() - timedelta(hours=hours_ago)).isoformat()
        target = ROUTED[country] if office is OMIT else office
        response = self.request(persona, "post", API, body)
        staff = bool(PERSONAS[persona])
        # Staff enter applications for their own offices only, never received in the future; someone with
        # no office is a patient here, who may not say when it was received.
        invalid = target not in OFFICES or (hours_ago is not OMIT and (not staff or hours_ago < 0))
        invalid = invalid or (staff and target not in PERSONAS[persona])
        context = f"by {persona}: {body}"
        if invalid:
            self.expect(response, {400: "invalid"}, 201, "staff intake", context)
            return multiple()
        self.expect(response, {}, 201, "staff intake", context)
        reference = self.received(response.json(), target)
        if staff:
            offered = self.cases[reference].available_transitions(persona, self.today(target))
            assert response.json()["available_transitions"] == offered, response.json()
        return reference

    # ---- transitions ----

    def transition(self, reference: str, name: str, persona: str, params: dict[str, Any]) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        step = TRANSITIONS[name]
        refused = refusals(
            persona,
            case,
            roles=step.roles,
            invalid=transition_params_invalid(name, params, case, today),
            conflict=case.state not in step.sources,
            unmet=name == "admit" and case.admit_unmet(today),
        )
        response = self.act(persona, reference, f"transitions/{name}/", params)
        if self.expect(response, refused, 200, name, f"by {persona} from {case.state} with {params}"):
            case.run(name, params, today)
            assert response.json()["state"] == case.state
            event(f"reached: {case.state}")
        self.touched.add(reference)

    @rule(reference=applications, name=st.sampled_from(sorted(TRANSITIONS)), data=st.data())
    def someone_tries_a_transition(self, reference: str, name: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        persona = self.someone(data, case, TRANSITIONS[name].roles)
        params = data.draw(transition_params(name, self.today(case.office)), label="params")
        self.transition(reference, name, persona, params)

    @rule(reference=applications, data=st.data())
    def someone_runs_a_transition_the_model_allows(self, reference: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        names = sorted({name for p in PERSONA_NAMES for name in case.available_transitions(p, today)})
        if names:
            name = data.draw(st.sampled_from(names), label="transition")
            allowed = [p for p in PERSONA_NAMES if name in case.available_transitions(p, today)]
            persona = data.draw(st.sampled_from(allowed), label="persona")
            self.transition(reference, name, persona, data.draw(transition_params(name, today), label="params"))

    @rule(reference=applications, steps=st.integers(min_value=1, max_value=4), data=st.data())
    def the_case_moves_along_the_main_path(self, reference: str, steps: int, data: st.DataObject) -> None:
        """Right role, right parameters, a few steps at once: so that sequences reach admission and
        follow-up, not only refusals. Every step is still checked; the history is compared after them."""
        case = self.cases[reference]
        for _ in range(steps):
            if case.terminal:
                return
            self.next_step(case, data)

    def next_step(self, case: Case, data: st.DataObject) -> None:
        today = self.today(case.office)
        reference = case.reference

        def by(roles: frozenset[str]) -> str:
            return data.draw(st.sampled_from([p for p in PERSONA_NAMES if case.role_of(p) in roles]), label="persona")

        if case.state == "quoted" and case.quote_valid_until is not None and case.quote_valid_until < today:
            self.transition(reference, "revise_quote", by(OFFICE_STAFF), {"items": ITEMS})
        elif case.state == "quoted" and not case.quote_accepted:
            self.accept_quote(reference, by(OFFICE_STAFF))
        elif case.state == "quoted" and (case.admission_date is None or case.admission_date > today):
            self.schedule_admission(reference, by(OFFICE_STAFF), {"admission_date": today.isoformat()})
        elif case.state == "quoted" and all(case.signatures.values()):
            self.record_paper_consent(reference, by(OFFICE_STAFF), "Priya Sharma", "an hour ago", "pdf")
        else:
            name = MAIN_PATH[case.state]
            self.transition(reference, name, by(TRANSITIONS[name].roles), right_params(name, today))

    # ---- the conversation and the case's handling ----

    @rule(
        reference=applications,
        kind=st.sampled_from(["reply", "reply", "note", "shout"]),
        body=st.sampled_from(["Thank you, we will call you tomorrow.", "Internal: check the labs.", "", "  "]),
        data=st.data(),
    )
    def someone_writes_in_the_conversation(self, reference: str, kind: str, body: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        persona = self.someone(data, case, ANY_STAFF)
        refused = refusals(persona, case, roles=ANY_STAFF, invalid=kind not in {"reply", "note"} or not body.strip())
        response = self.act(persona, reference, "messages/", {"kind": kind, "body": body})
        if self.expect(response, refused, 201, f"message_{kind}", f"by {persona}: {body!r}"):
            case.record(f"message_{kind}")
        self.touched.add(reference)

    @rule(reference=applications, assignee=st.sampled_from([*PERSONA_NAMES, "nobody", "ghost"]), data=st.data())
    def someone_assigns_the_case(self, reference: str, assignee: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        persona = self.someone(data, case, OFFICE_STAFF)
        user = {"nobody": None, "ghost": 10**9}.get(assignee, self.world.users.get(assignee))
        # Only a member of the application's office can be its assignee.
        invalid = assignee == "ghost" or (assignee != "nobody" and case.role_of(assignee) is None)
        refused = refusals(persona, case, roles=OFFICE_STAFF, invalid=invalid)
        response = self.act(persona, reference, "assign/", {"user": user})
        if self.expect(response, refused, 200, "assign", f"{assignee} by {persona}"):
            case.assigned_to = user
            case.record("assign")
            assert response.json()["assigned_to"] == user
        self.touched.add(reference)

    @rule(reference=applications, office=st.sampled_from([*OFFICES, "atlantis"]), data=st.data())
    def someone_transfers_the_case(self, reference: str, office: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        persona = self.someone(data, case, OFFICE_STAFF)
        refused = refusals(
            persona,
            case,
            roles=OFFICE_STAFF,
            invalid=office not in OFFICES or office == case.office,
            conflict=case.terminal,
        )
        response = self.act(persona, reference, "transfer/", {"office": office})
        if self.expect(response, refused, 200, "transfer", f"from {case.office} to {office} by {persona}"):
            case.office = office
            # An assignee who does not work at the new office can no longer see the case.
            if case.assigned_to is not None and not any(
                self.world.users[p] == case.assigned_to and office in PERSONAS[p] for p in PERSONA_NAMES
            ):
                case.assigned_to = None
            case.record("transfer")
            body = response.json()
            assert (body["office"], body["state"], body["assigned_to"]) == (office, case.state, case.assigned_to)
        self.touched.add(reference)

    # ---- between quote and admission ----

    def accept_quote(self, reference: str, persona: str) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        expired = case.quote_valid_until is not None and case.quote_valid_until < today
        conflict = case.state != "quoted" or not case.quote_live or case.quote_accepted or expired
        refused = refusals(persona, case, roles=OFFICE_STAFF, conflict=conflict)
        response = self.act(persona, reference, "quote/accept/")
        if self.expect(response, refused, 200, "accept_quote", f"by {persona}"):
            case.quote_accepted = True
            case.record("accept_quote")
        self.touched.add(reference)

    @rule(reference=applications, data=st.data())
    def someone_records_that_the_patient_accepted_the_quote(self, reference: str, data: st.DataObject) -> None:
        self.accept_quote(reference, self.someone(data, self.cases[reference], OFFICE_STAFF))

    def schedule_admission(self, reference: str, persona: str, body: dict[str, Any]) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        try:
            when: date | None = date.fromisoformat(body["admission_date"])
        except (KeyError, ValueError):
            when = None
        refused = refusals(
            persona,
            case,
            roles=OFFICE_STAFF,
            invalid=when is None or when < today,
            conflict=case.state != "quoted" or not case.quote_accepted,
        )
        response = self.act(persona, reference, "admission/", body)
        if self.expect(response, refused, 200, "schedule_admission", f"{body} by {persona}"):
            case.admission_date = when
            case.record("schedule_admission")
        self.touched.add(reference)

    @rule(reference=applications, offset=st.sampled_from([OMIT, "next week", -1, 0, 0, 1, 2]), data=st.data())
    def someone_schedules_the_admission(self, reference: str, offset: Any, data: st.DataObject) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        body: dict[str, Any] = {}
        if isinstance(offset, int):
            body["admission_date"] = (today + timedelta(days=offset)).isoformat()
        elif offset is not OMIT:
            body["admission_date"] = offset
        self.schedule_admission(reference, self.someone(data, case, OFFICE_STAFF), body)

    def record_paper_consent(self, reference: str, persona: str, signer: str, signed: str, scan: str) -> None:
        case = self.cases[reference]
        now = timezone.now()
        body: dict[str, Any] = {
            "signer_name": signer,
            "signed_at": {
                "an hour ago": (now - timedelta(hours=1)).isoformat(),
                "in an hour": (now + timedelta(hours=1)).isoformat(),
                "without a zone": (now - timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            }[signed],
        }
        if scan != "none":
            content = TINY_PDF if scan == "pdf" else b"not a scan at all"
            body["scan"] = SimpleUploadedFile("consent.pdf", content, content_type="application/pdf")
        invalid = not signer.strip() or signed != "an hour ago" or scan != "pdf"
        refused = refusals(persona, case, roles=OFFICE_STAFF, invalid=invalid, conflict=case.state != "quoted")
        response = self.act(persona, reference, "consent-signatures/", body, format="multipart")
        if self.expect(response, refused, 201, "record_paper_consent", f"{signer!r}, {signed}, {scan} by {persona}"):
            signature = response.json()
            assert (signature["method"], signature["withdrawn_at"]) == ("paper", None), signature
            case.signatures[signature["id"]] = False
            case.record("sign_consent")
        self.touched.add(reference)

    @rule(
        reference=applications,
        signer=st.sampled_from(["Priya Sharma", "Priya Sharma", ""]),
        signed=st.sampled_from(["an hour ago", "an hour ago", "in an hour", "without a zone"]),
        scan=st.sampled_from(["pdf", "pdf", "text", "none"]),
        data=st.data(),
    )
    def someone_records_a_paper_consent(
        self, reference: str, signer: str, signed: str, scan: str, data: st.DataObject
    ) -> None:
        persona = self.someone(data, self.cases[reference], OFFICE_STAFF)
        self.record_paper_consent(reference, persona, signer, signed, scan)

    @precondition(lambda self: any(case.signatures for case in self.cases.values()))
    @rule(reference=applications, data=st.data())
    def someone_records_that_the_patient_withdrew_a_consent(self, reference: str, data: st.DataObject) -> None:
        case = self.cases[reference]
        persona = self.someone(data, case, OFFICE_STAFF)
        everywhere = sorted({*(s for c in self.cases.values() for s in c.signatures), 10**9})
        signature = data.draw(st.sampled_from(everywhere), label="signature")
        mine = signature in case.signatures
        # Refused when this one was withdrawn already, or when nothing here is left to withdraw.
        conflict = (mine and case.signatures[signature]) or all(case.signatures.values())
        refused = refusals(persona, case, roles=OFFICE_STAFF, conflict=conflict)
        if case.role_of(persona) is not None and not mine:
            # Another application's signature, or none at all, does not exist here.
            refused[404] = "not_found"
        endpoint = f"consent-signatures/{signature}/withdraw/"
        response = self.act(persona, reference, endpoint, {"reason": "The patient called"})
        if self.expect(response, refused, 200, "withdraw_consent", f"{signature} by {persona}"):
            assert response.json()["withdrawn_at"] is not None
            case.signatures[signature] = True
            case.record("withdraw_consent")
        self.touched.add(reference)

    # ---- time and the queue ----

    @precondition(lambda self: self.days < MAX_DAYS)
    @rule()
    def a_day_passes(self) -> None:
        self.world.clock.shift(timedelta(days=1))
        self.days += 1
        # Quotes expire and admission dates arrive everywhere.
        self.touched.update(self.cases)

    @rule(persona=st.sampled_from(PERSONA_NAMES))
    def someone_reads_the_queue(self, persona: str) -> None:
        response = self.request(persona, "get", API, {"page_size": 100})
        if not PERSONAS[persona]:
            self.expect(response, {403: "permission_denied"}, 200, "queue", "of someone with no office")
            return
        self.expect(response, {}, 200, "queue", f"of {persona}")
        rows = {row["reference"]: row for row in response.json()["results"]}
        mine = {ref: case for ref, case in self.cases.items() if case.role_of(persona) is not None}
        assert set(rows) == set(mine), f"{persona} sees {sorted(rows)}, should see {sorted(mine)}"
        for reference, case in mine.items():
            row = rows[reference]
            assert (row["state"], row["office"], row["assigned_to"]) == (case.state, case.office, case.assigned_to)
            assert row["reply_due_at"] == (case.reply_due_at if case.reply_owed else None), (reference, row)

    # ---- what must hold after every step ----

    @invariant()
    def every_touched_application_reads_as_the_model_says(self) -> None:
        for reference in sorted(self.touched):
            self.check(reference)
        self.touched.clear()

    def check(self, reference: str) -> None:
        case = self.cases[reference]
        today = self.today(case.office)
        path = f"{API}{reference}/"
        self.turn += 1
        # Each member of the office sees what their role may run now: one of each role whenever the
        # model says that changed (a step, a condition met, a transfer, a day passing) — the manager of
        # both offices standing in for the office's manager every other time — otherwise one member in
        # turn, which keeps `make test` fast.
        members = [p for p in PERSONA_NAMES if case.role_of(p) is not None]
        offered = {p: case.available_transitions(p, today) for p in members}
        if self.offered.get(reference) != offered:
            manager = ("both_manager", f"{case.office}_manager")[self.turn % 2]
            viewers = [f"{case.office}_coordinator", f"{case.office}_physician", manager]
        else:
            viewers = [members[self.turn % len(members)]]
        self.offered[reference] = offered
        for persona in viewers:
            response = self.request(persona, "get", path)
            assert response.status_code == 200, (persona, response.json())
            self.compare(case, response.json(), persona, today)
        # Exactly one history entry per step that succeeded, none for one refused.
        history = self.request(viewers[0], "get", f"{path}history/")
        assert history.status_code == 200, history.json()
        entries = [(e["action"], e["from_state"], e["to_state"]) for e in history.json()]
        assert entries == case.history, f"history of {reference}: {entries}, expected {case.history}"
        # Every third time, someone from the other office or from none, in turn, reads the detail or the
        # history: the application does not exist for them. (Their every POST is checked in `act`.)
        if self.turn % 3 == 0:
            strangers = [p for p in PERSONA_NAMES if case.role_of(p) is None]
            stranger = strangers[(self.turn // 3) % len(strangers)]
            url = (path, f"{path}history/")[(self.turn // 3) % 2]
            refused = {403: "permission_denied"} if not PERSONAS[stranger] else {404: "not_found"}
            self.expect(self.request(stranger, "get", url), refused, 200, "read", f"{url} by {stranger}")

    @staticmethod
    def compare(case: Case, body: dict[str, Any], persona: str, today: date) -> None:
        seen = {
            "state": body["state"],
            "office": body["office"],
            "assigned_to": body["assigned_to"],
            "reply_due_at": body["reply_due_at"],
            "quote accepted": None if body["quote"] is None else body["quote"]["accepted_at"] is not None,
            "admission_date": body["admission_date"],
            "signatures withdrawn": {s["id"]: s["withdrawn_at"] is not None for s in body["signatures"]},
            "available_transitions": body["available_transitions"],
        }
        expected = {
            "state": case.state,
            "office": case.office,
            "assigned_to": case.assigned_to,
            "reply_due_at": case.reply_due_at if case.reply_owed else None,
            "quote accepted": case.quote_accepted if case.quote_live else None,
            "admission_date": case.admission_date.isoformat() if case.admission_date else None,
            "signatures withdrawn": case.signatures,
            "available_transitions": case.available_transitions(persona, today),
        }
        differences = {key: (seen[key], expected[key]) for key in expected if seen[key] != expected[key]}
        assert not differences, f"{case.reference} as {persona}: (served, model) {differences}"


def signed_in(username: str, password: str, address: str, otp: str = "") -> APIClient:
    """A client holding the token the login endpoint gives this user."""
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, "otp": otp},
        format="json",
        REMOTE_ADDR=address,
    )
    assert response.status_code == 200, response.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


@pytest.mark.django_db
def test_the_api_follows_the_model_through_random_sequences_of_actions() -> None:
    # One login each for the simulated days (MAX_DAYS), as if the staff never left their desks.
    with override_settings(TOKEN_IDLE_HOURS=24 * 7), time_machine.travel(NOW, tick=False) as clock:
        staff = World(clock=clock, users={}, clients={})
        for persona, roles in PERSONAS.items():
            user = make_staff(f"fuzz_{persona}", roles)
            staff.users[persona] = user.pk
            # Managers sign in with their second factor (docs/security.md).
            otp = current_code(confirmed_totp(user)) if Membership.Role.MANAGER in roles.values() else ""
            staff.clients[persona] = signed_in(user.username, f"pw-{user.username}", staff.fresh_address(), otp)

        class ClinicApi(ApiMachine):
            world = staff

        run_state_machine_as_test(ClinicApi, settings=FUZZ)
