"""Domain events that other apps react to without the workflow knowing them (the arrows point inward)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by `workflow.services.privacy.application_erase` inside its transaction, with `application`
# and `now`: whatever an interface keeps about the patient outside the workflow's tables (the
# portal's sessions) goes with it, or the erasure rolls back.
patient_erased = Signal()
