"""The portal's part of an erasure (workflow.services.privacy): the patient's sessions end.

A portal session holds the questionnaire answers a patient is still drafting (their free text
included); the database keeps sessions encoded, where no search of its columns would find them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.sessions.models import Session

from portal.web import SESSION_APPLICATION, SESSION_RECEIPT
from workflow.models import Application


def end_patient_sessions(sender: Any, *, application: Application, now: datetime, **kwargs: Any) -> None:
    # Sessions are not indexed by what they hold: every live one is read (an erasure is rare).
    for session in Session.objects.filter(expire_date__gt=now).iterator():
        data = session.get_decoded()
        if application.pk in (data.get(SESSION_APPLICATION), data.get(SESSION_RECEIPT)):
            session.delete()
