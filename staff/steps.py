"""How the staff pages name the steps people take: the button that runs one, and the history's words for it.

Names only: which steps a user may run is `available_transitions` and `available_actions`, and
what a step does is its service. A name missing here falls back to the service's own label.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from workflow import services


@dataclass(frozen=True)
class Step:
    title: Promise  # the form's heading
    button: Promise  # what the button says it does
    done: Promise  # the success message
    warning: bool = False  # ends the case or takes something back: a red button


STEPS: dict[str, Step] = {
    # transitions (SPEC §3)
    "approve_review": Step(_("Approve the medical review"), _("Approve"), _("The medical review is approved.")),
    "decline": Step(_("Decline the application"), _("Decline"), _("The application is declined."), warning=True),
    "send_quote": Step(_("Send a quote"), _("Send the quote"), _("The quote was sent to the patient.")),
    "revise_quote": Step(_("Revise the quote"), _("Send the revised quote"), _("The revised quote was sent.")),
    "admit": Step(_("Admit the patient"), _("Admit"), _("The patient is admitted; the schedule is fixed.")),
    "discharge": Step(_("Discharge the patient"), _("Discharge"), _("The patient is discharged.")),
    "start_follow_up": Step(_("Start the follow-up"), _("Start the follow-up"), _("The follow-up has started.")),
    "complete": Step(_("Complete the follow-up"), _("Complete"), _("The application is completed.")),
    "withdraw": Step(_("Withdraw the application"), _("Withdraw"), _("The application is withdrawn."), warning=True),
    # other actions (workflow.services.rules.ACTIONS)
    "reply": Step(_("Reply to the patient"), _("Send the reply"), _("Reply sent to the patient.")),
    "note": Step(_("Internal note"), _("Save the note"), _("Note saved.")),
    "record_inbound": Step(
        _("Record a message from the patient (phone or email)"),
        _("Record the message"),
        _("Message from the patient recorded."),
    ),
    "assign": Step(_("Assign"), _("Save the assignment"), _("Assignment saved.")),
    "transfer": Step(_("Transfer to another office"), _("Transfer"), _("Transferred."), warning=True),
    "update_details": Step(_("Correct the patient's details"), _("Correct the details"), _("Details saved.")),
    "accept_quote": Step(
        _("Record the patient's acceptance of the quote"),
        _("Record the acceptance"),
        _("Quote acceptance recorded."),
    ),
    "schedule_admission": Step(_("Schedule the admission"), _("Save the admission date"), _("Admission date saved.")),
    "record_paper_consent": Step(
        _("Record a paper consent"), _("Record the paper consent"), _("Paper consent recorded.")
    ),
    "withdraw_consent": Step(
        _("Record a consent withdrawal"),
        _("Record the withdrawal"),
        _("Consent withdrawal recorded."),
        warning=True,
    ),
    "change_protocol": Step(_("Change the treatment protocol"), _("Save the protocol"), _("Protocol changed.")),
    "complete_treatment_day": Step(
        _("Mark a treatment day done"), _("Mark the day done"), _("Treatment day marked done.")
    ),
    "record_monitoring_outcome": Step(
        _("Record a monitoring check"), _("Record the outcome"), _("Monitoring outcome recorded.")
    ),
    "record_phone_answer": Step(
        _("Record a follow-up answer given by phone"), _("Record the answer"), _("Follow-up answer recorded.")
    ),
    "correct_discharge_date": Step(
        _("Correct the discharge date"),
        _("Correct the date"),
        _("Discharge date corrected; the unanswered reviews were recomputed."),
    ),
    "send_portal_link": Step(
        _("Email the patient a fresh portal link"),
        _("Email a portal link"),
        _("A fresh portal link was emailed to the patient."),
    ),
    "revoke_portal_links": Step(
        _("Revoke the patient's portal links"),
        _("Revoke the links"),
        _("The patient's portal links were revoked."),
        warning=True,
    ),
}

# The history's words for what someone did: "dr_rao approved the medical review".
DID: dict[str, Promise] = {
    "submit": _("submitted the application"),
    "approve_review": _("approved the medical review"),
    "decline": _("declined the application"),
    "send_quote": _("sent a quote"),
    "revise_quote": _("revised the quote"),
    "admit": _("admitted the patient"),
    "discharge": _("discharged the patient"),
    "start_follow_up": _("started the follow-up"),
    "complete": _("completed the follow-up"),
    "withdraw": _("withdrew the application"),
    "message_reply": _("replied to the patient"),
    "message_note": _("wrote an internal note"),
    "message_inbound": _("recorded a message from the patient"),
    "assign": _("changed the assignment"),
    "transfer": _("transferred the application"),
    "update_details": _("corrected the patient's details"),
    "accept_quote": _("recorded the acceptance of the quote"),
    "schedule_admission": _("scheduled the admission"),
    "sign_consent": _("signed the consent form"),
    "record_paper_consent": _("recorded a paper consent"),
    "withdraw_consent": _("recorded a consent withdrawal"),
    "change_protocol": _("changed the treatment protocol"),
    "complete_treatment_day": _("marked a treatment day done"),
    "record_monitoring_outcome": _("recorded a monitoring check"),
    "record_phone_answer": _("recorded a follow-up answer"),
    "answer_questionnaire": _("answered the follow-up questionnaire"),
    "correct_discharge_date": _("corrected the discharge date"),
    "review_missed": _("marked a follow-up review missed"),
    "send_portal_link": _("emailed the patient a portal link"),
    "request_portal_link": _("asked for a portal link"),
    "revoke_portal_links": _("revoked the patient's portal links"),
}

# Steps that add to the conversation: a page loaded before someone else's change still writes them
# as meant (two replies are two replies), so they are never refused as out of date.
CONVERSATION = frozenset({"reply", "note", "record_inbound"})


def title(name: str) -> str:
    step = STEPS.get(name)
    if step is not None:
        return str(step.title)
    action = services.ACTIONS.get(name)
    return action.label if action is not None else name.replace("_", " ")


def did(action: str) -> str:
    words = DID.get(action)
    return str(words) if words is not None else action.replace("_", " ")
