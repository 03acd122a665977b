"""Every change of an application goes through these functions (SPEC §3, §11).

API views, admin actions, tasks and commands call them; nothing else writes workflow state.
"""

from __future__ import annotations

from workflow.services.actions import (
    admission_schedule,
    application_assign,
    application_transfer,
    application_update_details,
    consent_record_paper,
    consent_sign_portal,
    consent_withdraw,
    message_post,
    message_receive,
    quote_accept,
)
from workflow.services.aftercare import (
    Answers,
    discharge_date_correct,
    monitoring_outcome_record,
    review_answer_submit,
)
from workflow.services.calendars import calendar_override_remove, calendar_override_set, office_update
from workflow.services.intake import application_submit
from workflow.services.portal import (
    portal_link_request,
    portal_link_resolve,
    portal_link_send,
    portal_links_revoke,
)
from workflow.services.replies import PATIENT_NOTICES
from workflow.services.rules import ACTION_NAMES, ACTIONS, available_actions
from workflow.services.transitions import (
    TRANSITION_NAMES,
    TransitionName,
    application_admit,
    application_approve_review,
    application_complete,
    application_decline,
    application_discharge,
    application_revise_quote,
    application_send_quote,
    application_start_follow_up,
    application_withdraw,
    available_transitions,
    transition_precheck,
)
from workflow.services.treatment import application_change_protocol, treatment_day_complete

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "PATIENT_NOTICES",
    "Answers",
    "TRANSITION_NAMES",
    "TransitionName",
    "admission_schedule",
    "application_admit",
    "application_approve_review",
    "application_assign",
    "application_change_protocol",
    "application_complete",
    "application_decline",
    "application_discharge",
    "application_revise_quote",
    "application_send_quote",
    "application_start_follow_up",
    "application_submit",
    "application_transfer",
    "application_update_details",
    "application_withdraw",
    "available_actions",
    "available_transitions",
    "calendar_override_remove",
    "calendar_override_set",
    "consent_record_paper",
    "consent_sign_portal",
    "consent_withdraw",
    "discharge_date_correct",
    "message_post",
    "message_receive",
    "monitoring_outcome_record",
    "office_update",
    "portal_link_request",
    "portal_link_resolve",
    "portal_link_send",
    "portal_links_revoke",
    "review_answer_submit",
    "quote_accept",
    "transition_precheck",
    "treatment_day_complete",
]
