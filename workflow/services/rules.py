"""What a user may do with an application besides its transitions, decided once (SPEC §3, §8).

Each action names the roles that may run it and what the application must be like. The services
enforce it with `check_action`; `available_actions` tells the interfaces (the admin, the staff
pages) what to offer, so an interface shows exactly what the service would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from offices.roles import ANY_STAFF, OFFICE_STAFF, PHYSICIAN
from workflow.actors import Actor
from workflow.errors import Conflict, NotAllowed
from workflow.models import Application, Quote, State


def live_quote(application: Application) -> Quote | None:
    return application.quotes.filter(superseded_at__isnull=True).first()


# Each check returns why the action is not possible now, or None when it is.
Check = Callable[[Application, datetime], str | None]


def _always(application: Application, now: datetime) -> str | None:
    return None


def _not_terminal(application: Application, now: datetime) -> str | None:
    return f"A {application.state} application cannot be transferred." if application.is_terminal else None


def _quote_to_accept(application: Application, now: datetime) -> str | None:
    quote = live_quote(application)
    if application.state != State.QUOTED or quote is None:
        return "There is no open quote to accept."
    if quote.accepted_at is not None:
        return "The quote has already been accepted."
    if quote.expired(timezone.localdate(now, application.office.tz)):
        return f"The quote expired on {quote.valid_until:%Y-%m-%d}; revise it first."
    return None


def _quote_accepted(application: Application, now: datetime) -> str | None:
    quote = live_quote(application)
    if application.state != State.QUOTED or quote is None:
        return "There is no open quote to accept."
    if quote.accepted_at is None:
        return "The admission is scheduled after the patient accepts the quote."
    return None


def _quoted(application: Application, now: datetime) -> str | None:
    if application.state != State.QUOTED:
        return "The consent form is signed once a quote is open, before admission."
    return None


def _before_admission(application: Application, now: datetime) -> str | None:
    # After `admit` the protocol is the dated schedule; before the review there is none to change.
    if application.state not in {State.MEDICALLY_REVIEWED, State.QUOTED}:
        return "The protocol can be changed after the medical review and before admission."
    return None


def _day_to_complete(application: Application, now: datetime) -> str | None:
    if application.state != State.ADMITTED:
        return "Treatment days are marked done while the patient is admitted."
    today = timezone.localdate(now, application.office.tz)
    if not application.treatment_days.filter(done_at__isnull=True, date__lte=today).exists():
        return "No day of the schedule is waiting to be marked done today."
    return None


def _has_active_consent(application: Application, now: datetime) -> str | None:
    if not application.signatures.filter(withdrawn_at__isnull=True).exists():
        return "There is no consent signature to withdraw."
    return None


_AFTERCARE_STATES = frozenset({State.DISCHARGED, State.IN_FOLLOW_UP})


def _check_to_record(application: Application, now: datetime) -> str | None:
    if application.state not in _AFTERCARE_STATES:
        return "Monitoring checks are recorded after discharge, during the follow-up."
    if not application.monitoring_checks.filter(recorded_at__isnull=True).exists():
        return "Every monitoring check is already recorded."
    return None


def _review_open(application: Application, now: datetime) -> str | None:
    # Answers count after completion too (a late 24-month correction): only the window matters.
    if application.discharge_date is None:
        return "There is no follow-up review before discharge."
    today = timezone.localdate(now, application.office.tz)
    open_reviews = application.reviews.filter(
        missed_at__isnull=True, window_opens__lte=today, window_closes__gte=today, closes_at__gt=now
    )
    if not open_reviews.exists() and not application.reviews.filter(answered_at__isnull=False).exists():
        return "No follow-up questionnaire is open now."
    return None


def _patient_review_open(application: Application, now: datetime) -> str | None:
    today = timezone.localdate(now, application.office.tz)
    if not application.reviews.filter(
        missed_at__isnull=True, window_opens__lte=today, window_closes__gte=today, closes_at__gt=now
    ).exists():
        return "No follow-up questionnaire is open now."
    return None


def _in_aftercare(application: Application, now: datetime) -> str | None:
    if application.state not in _AFTERCARE_STATES:
        return "The discharge date is corrected after discharge, before the follow-up is completed."
    return None


@dataclass(frozen=True)
class Action:
    label: str
    roles: frozenset[str]
    check: Check = _always
    patient: bool = False  # the patient may run it from the portal too


# In the order the staff pages offer them.
ACTIONS: dict[str, Action] = {
    "reply": Action("Reply to the patient", ANY_STAFF),
    "note": Action("Internal note", ANY_STAFF),
    "record_inbound": Action("Record a message from the patient (phone or email)", ANY_STAFF, patient=True),
    "assign": Action("Assign", OFFICE_STAFF),
    "transfer": Action("Transfer to another office", OFFICE_STAFF, _not_terminal),
    "update_details": Action("Correct the patient's details", OFFICE_STAFF),
    "accept_quote": Action("Record the patient's acceptance of the quote", OFFICE_STAFF, _quote_to_accept, True),
    "schedule_admission": Action("Schedule the admission", OFFICE_STAFF, _quote_accepted),
    "record_paper_consent": Action("Record a paper consent", OFFICE_STAFF, _quoted),
    "sign_consent": Action("Sign the consent form", frozenset(), _quoted, patient=True),
    "withdraw_consent": Action("Record a consent withdrawal", OFFICE_STAFF, _has_active_consent, True),
    "change_protocol": Action("Change the treatment protocol", frozenset({PHYSICIAN}), _before_admission),
    "complete_treatment_day": Action("Mark a treatment day done", ANY_STAFF, _day_to_complete),
    "record_monitoring_outcome": Action("Record a monitoring check", ANY_STAFF, _check_to_record),
    "record_phone_answer": Action("Record a follow-up answer given by phone", OFFICE_STAFF, _review_open),
    "answer_questionnaire": Action("Answer the follow-up questionnaire", frozenset(), _patient_review_open, True),
    "correct_discharge_date": Action("Correct the discharge date", ANY_STAFF, _in_aftercare),
    "send_portal_link": Action("Email the patient a fresh portal link", OFFICE_STAFF),
    "revoke_portal_links": Action("Revoke the patient's portal links", OFFICE_STAFF),
}
ACTION_NAMES = tuple(ACTIONS)

# What needs the patient's identity or writes to them: refused once their data is erased
# (workflow.services.privacy). Notes, assignment, transfer and the aftercare records stay possible.
NEEDS_PATIENT = frozenset(
    {
        "reply",
        "record_inbound",
        "update_details",
        "accept_quote",
        "schedule_admission",
        "record_paper_consent",
        "sign_consent",
        "answer_questionnaire",
        "record_phone_answer",
        "send_portal_link",
    }
)
ERASED_MESSAGE = "The patient's personal data was erased: nothing more can be written to or about them."


def _check(application: Application, name: str, now: datetime) -> str | None:
    if application.erased_at is not None and name in NEEDS_PATIENT:
        return ERASED_MESSAGE
    return ACTIONS[name].check(application, now)


def _permitted(application: Application, actor: Actor, action: Action) -> bool:
    if actor.kind == "patient":
        return action.patient
    return actor.kind == "user" and actor.role_in(application.office_id) in action.roles


def check_action(application: Application, actor: Actor, name: str, *, now: datetime) -> None:
    """Raise NotAllowed when the actor's role may not run `name` here, Conflict when the application does not allow
    it now. Call it on the locked row."""
    action = ACTIONS[name]
    if not _permitted(application, actor, action):
        raise NotAllowed(f"Your role in this office does not allow this: {action.label.lower()}.")
    reason = _check(application, name, now)
    if reason is not None:
        raise Conflict(reason)


def available_actions(application: Application, actor: Actor, *, now: datetime | None = None) -> list[str]:
    """The actions (names of `ACTIONS`) this actor may run on the application now."""
    moment = now if now is not None else timezone.now()
    return [
        name
        for name, action in ACTIONS.items()
        if _permitted(application, actor, action) and _check(application, name, moment) is None
    ]
