"""The staff pages' own forms: reading what a page was asked for. Forms that run a service live in
`workflow.forms`, shared with the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from offices.models import Office
from workflow import sla as sla_rules
from workflow.models import State
from workflow.selectors import ASSIGNED_ME, ASSIGNED_NONE, QUEUE_ORDERINGS

SLA_CHOICES = [
    ("", _("Any")),
    (sla_rules.BREACHED, _("Overdue")),
    (sla_rules.DUE_SOON, _("Due soon")),
    (sla_rules.ON_TRACK, _("On track")),
]
ORDERING_CHOICES = [
    ("reply_due_at", _("Reply due, soonest first")),
    ("received_at", _("Received, oldest first")),
    ("-received_at", _("Received, newest first")),
]
assert {value for value, _label in ORDERING_CHOICES} == set(QUEUE_ORDERINGS)  # noqa: S101 - one list of orderings


class QueueFilterForm(forms.Form):
    """The queue's filters, as the URL carries them (a bookmark keeps them)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Reference, name or email address"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    office = forms.ChoiceField(label=_("Office"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any")), *State.choices])
    assigned = forms.ChoiceField(
        label=_("Assigned to"),
        required=False,
        choices=[("", _("Anyone")), (ASSIGNED_ME, _("Me")), (ASSIGNED_NONE, _("Nobody"))],
    )
    sla = forms.ChoiceField(label=_("Reply promise"), required=False, choices=SLA_CHOICES)
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=ORDERING_CHOICES)

    def __init__(self, *args: Any, offices: list[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["office"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
        field.choices = [("", _("All my offices")), *((office.code, office.name) for office in offices)]

    def filters(self) -> dict[str, str]:
        """The selector's keyword arguments; empty ones left out."""
        data = self.cleaned_data
        return {name: data[name] for name in ("office", "state", "assigned", "sla", "q") if data.get(name)}
