"""What answers the patient (SPEC §4): the one registry of the steps that write to the patient.

A step in `PATIENT_NOTICES` writes its email to the patient and satisfies the open reply obligation
in one call, `answer_patient`, inside the step's transaction; nothing else satisfies an obligation.
So the SLA report counts a question as answered exactly when an email to the patient was written.
The intake acknowledgement is a receipt, not an answer: it leaves the promise open.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from notifications import events
from workflow.services.obligations import satisfy_obligation

if TYPE_CHECKING:
    from notifications.models import Notification
    from workflow.models import Application, Message, TransitionLog

# Step (a transition's or an action's name, or `message_reply`) -> the patient notification kind it writes.
PATIENT_NOTICES: dict[str, str] = {
    "approve_review": "review_approved",
    "decline": "declined",
    "send_quote": "quote_sent",
    "revise_quote": "quote_revised",
    # Scheduling the admission sends the consent form to read and sign (SPEC §5).
    "schedule_admission": "consent_form",
    "admit": "admission_confirmed",
    # The discharge summary with the follow-up dates and their calendar file (SPEC §5).
    "discharge": "discharge_summary",
    "withdraw": "withdrawn",
    "message_reply": "outbound_message",
}


def writes_to_patient(step: str) -> bool:
    return step in PATIENT_NOTICES


def answer_patient(
    application: Application,
    *,
    step: str,
    history: TransitionLog,
    now: datetime,
    message: Message | None = None,
    context: dict[str, Any] | None = None,
) -> Notification:
    """Write the step's email to the patient and, with it, satisfy the open reply obligation.

    `context` adds to the email what only the step knows (the consent document it sends).
    """
    notification = events.patient_notice(
        application, kind=PATIENT_NOTICES[step], history=history, now=now, message=message, context=context
    )
    satisfy_obligation(application, at=now, message=message, action=step)
    return notification
