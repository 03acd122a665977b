"""What the API should do, written down without the API: the model behind test_api_stateful.

Pure Python, from SPEC §3, §4 and §9 and docs/api.md: who may run what, from which state, with
which parameters, and what a step changes. The state machine compares every response with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from workflow.services.replies import PATIENT_NOTICES

COORDINATOR, PHYSICIAN, MANAGER = "coordinator", "physician", "manager"
OFFICE_STAFF = frozenset({COORDINATOR, MANAGER})
ANY_STAFF = frozenset({COORDINATOR, PHYSICIAN, MANAGER})
OFFICES = ("delhi", "europe")

# name -> office code -> role. For each office a coordinator, a physician and a manager, a manager of
# both offices, and someone with no office at all.
PERSONAS: dict[str, dict[str, str]] = {
    **{f"{office}_{role}": {office: role} for office in OFFICES for role in (COORDINATOR, PHYSICIAN, MANAGER)},
    "both_manager": {"delhi": MANAGER, "europe": MANAGER},
    "outsider": {},
}
PERSONA_NAMES = sorted(PERSONAS)

TERMINAL = frozenset({"declined", "withdrawn", "completed"})

# SPEC §3's routing for the countries the machine applies from.
ROUTED = {"IN": "delhi", "ZA": "delhi", "DE": "europe", "US": "europe"}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    roles: frozenset[str]


# SPEC §3's table, as staff run it over the API.
TRANSITIONS: dict[str, Transition] = {
    "approve_review": Transition(frozenset({"received"}), "medically_reviewed", frozenset({PHYSICIAN})),
    "decline": Transition(frozenset({"received"}), "declined", frozenset({PHYSICIAN})),
    "send_quote": Transition(frozenset({"medically_reviewed"}), "quoted", OFFICE_STAFF),
    "revise_quote": Transition(frozenset({"quoted"}), "quoted", OFFICE_STAFF),
    "admit": Transition(frozenset({"quoted"}), "admitted", OFFICE_STAFF),
    "discharge": Transition(frozenset({"admitted"}), "discharged", ANY_STAFF),
    "start_follow_up": Transition(frozenset({"discharged"}), "in_follow_up", OFFICE_STAFF),
    "complete": Transition(frozenset({"in_follow_up"}), "completed", frozenset({MANAGER})),
    "withdraw": Transition(frozenset({"received", "medically_reviewed", "quoted"}), "withdrawn", OFFICE_STAFF),
}

# The main path, one step at a time: state -> the next transition.
MAIN_PATH = {
    "received": "approve_review",
    "medically_reviewed": "send_quote",
    "quoted": "admit",
    "admitted": "discharge",
    "discharged": "start_follow_up",
    "in_follow_up": "complete",
}


def answers_the_patient(step: str) -> bool:
    """Whether a step (as its history entry names it) answers the open reply promise (SPEC §4).

    Read from the services' own registry rather than listed here: which steps really write to the
    patient is the product's decision, and the model follows it.
    """
    return step in PATIENT_NOTICES


@dataclass
class Case:
    """What one application should look like now."""

    reference: str
    office: str
    reply_due_at: str | None
    state: str = "received"
    assigned_to: int | None = None
    quote_live: bool = False
    quote_accepted: bool = False
    quote_valid_until: date | None = None
    admission_date: date | None = None
    # signature id -> withdrawn
    signatures: dict[int, bool] = field(default_factory=dict)
    reply_owed: bool = True
    history: list[tuple[str, str, str]] = field(default_factory=lambda: [("submit", "", "received")])

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def admit_unmet(self, today: date) -> bool:
        return not (
            self.quote_live
            and self.quote_accepted
            and self.admission_date is not None
            and self.admission_date <= today
            and any(not withdrawn for withdrawn in self.signatures.values())
        )

    def role_of(self, persona: str) -> str | None:
        return PERSONAS[persona].get(self.office)

    def available_transitions(self, persona: str, today: date) -> list[str]:
        role = self.role_of(persona)
        return sorted(
            name
            for name, step in TRANSITIONS.items()
            if role in step.roles and self.state in step.sources and not (name == "admit" and self.admit_unmet(today))
        )

    def record(self, action: str, from_state: str | None = None) -> None:
        """A step succeeded: one history entry, and the reply promise answered if the step wrote to the
        patient, or closed if the application has ended."""
        self.history.append((action, self.state if from_state is None else from_state, self.state))
        if self.terminal or answers_the_patient(action):
            self.reply_owed = False

    def run(self, name: str, params: dict[str, Any], today: date) -> None:
        """A transition succeeded: what it changes."""
        before = self.state
        self.state = TRANSITIONS[name].target
        if name in {"send_quote", "revise_quote"}:
            given = params.get("valid_until")
            self.quote_live, self.quote_accepted = True, False
            self.quote_valid_until = date.fromisoformat(given) if given else today + timedelta(days=30)
        self.record(name, before)


# What each refusal is served as (docs/api.md, Errors).
INVALID, FORBIDDEN, NOT_FOUND = (400, "invalid"), (403, "permission_denied"), (404, "not_found")
CONFLICT, UNMET = (409, "conflict"), (409, "conditions_not_met")


def refusals(
    persona: str | None,
    case: Case,
    *,
    roles: frozenset[str],
    invalid: bool = False,
    conflict: bool = False,
    unmet: bool = False,
) -> dict[int, str]:
    """Status -> error code of every reason to refuse; empty when the step must succeed.

    Someone outside every office is refused outright (403). Another office's application does not
    exist for its caller (404), unless the input is wrong too: then a 400 is as good, since a
    reference that does not exist gets the same (the machine checks that it does). Past those, the
    API may name any one of the remaining reasons: the order it checks them in is its own business.
    """
    if persona is None or not PERSONAS[persona]:
        return dict([FORBIDDEN])
    if case.role_of(persona) is None:
        return dict([NOT_FOUND, INVALID] if invalid else [NOT_FOUND])
    found: dict[int, str] = {}
    if invalid:
        found.update([INVALID])
    if case.role_of(persona) not in roles:
        found.update([FORBIDDEN])
    if conflict:
        found.update([CONFLICT])
    elif unmet:
        found.update([UNMET])
    return found


# ---- parameters: is this input acceptable? ----


def _text(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    return isinstance(value, str) and bool(value.strip())


def _amount(value: Any) -> bool:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return False
    exponent = amount.as_tuple().exponent
    return amount > 0 and isinstance(exponent, int) and exponent >= -2 and len(amount.as_tuple().digits) <= 12


def _items(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict)
            and isinstance(item.get("description"), str)
            and 0 < len(item["description"].strip()) <= 200
            and _amount(item.get("amount"))
            for item in value
        )
    )


def _protocol(value: Any) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(entry, dict)
            and entry.get("day") == number
            and isinstance(entry.get("activities"), list)
            and bool(entry["activities"])
            for number, entry in enumerate(value, start=1)
        )
    )


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def transition_params_invalid(name: str, params: dict[str, Any], case: Case, today: date) -> bool:
    if name == "approve_review":
        return not (_text(params, "review_notes") and _protocol(params.get("protocol")))
    if name in {"decline", "withdraw"}:
        return not _text(params, "reason")
    if name in {"send_quote", "revise_quote"}:
        currency = params.get("currency")
        until = params.get("valid_until")
        return not (
            _items(params.get("items"))
            and (currency is None or (len(currency) == 3 and currency.isascii() and currency.isalpha()))
            and (until is None or ((parsed := _date(until)) is not None and parsed >= today))
        )
    if name == "discharge":
        discharged = _date(params.get("discharge_date"))
        return not (
            _text(params, "summary")
            and discharged is not None
            and discharged <= today
            and (case.admission_date is None or discharged >= case.admission_date)
        )
    return False
