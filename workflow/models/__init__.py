from __future__ import annotations

from workflow.models.aftercare import FollowUpReview, MonitoringCheck, QuestionnaireAnswer
from workflow.models.application import Application, Document, ReferenceSequence, State, TreatmentDay
from workflow.models.consent import ConsentDocument, ConsentSignature
from workflow.models.conversation import Message, ReplyObligation
from workflow.models.history import TransitionLog
from workflow.models.portal import PortalLink
from workflow.models.quote import Quote, QuoteItem
from workflow.models.reminder import Reminder

__all__ = [
    "Application",
    "ConsentDocument",
    "ConsentSignature",
    "Document",
    "FollowUpReview",
    "Message",
    "MonitoringCheck",
    "PortalLink",
    "QuestionnaireAnswer",
    "Quote",
    "QuoteItem",
    "ReferenceSequence",
    "Reminder",
    "ReplyObligation",
    "State",
    "TransitionLog",
    "TreatmentDay",
]
