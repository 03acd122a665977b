"""Domain errors the interfaces turn into responses (API: 403, 404, 409; admin: messages)."""

from __future__ import annotations


class WorkflowError(Exception):
    code = "workflow_error"


class NotAllowed(WorkflowError):
    """The actor's role in the application's office does not allow this (403)."""

    code = "permission_denied"


class Conflict(WorkflowError):
    """Not possible from the application's current state, or lost to a concurrent change (409)."""

    code = "conflict"


class ConditionsNotMet(Conflict):
    code = "conditions_not_met"

    def __init__(self, unmet: list[str]) -> None:
        self.unmet = unmet
        super().__init__("Not yet possible: " + "; ".join(unmet) + ".")


class AlreadyErased(Conflict):
    """The patient's personal data was erased before: a second erasure changes nothing (409)."""

    code = "already_erased"


class TreatmentOpen(Conflict):
    """The patient is in treatment, or about to be: their record cannot be erased now (409)."""

    code = "treatment_open"
