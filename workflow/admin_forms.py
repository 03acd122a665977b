"""Forms of the admin's "Run a transition" page: each collects one service call's parameters.

They parse what people type (quote lines, dates in the office's time); every rule about whether the
call is allowed, and with what values, stays in `workflow.services`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from offices.models import Office
from workflow import services
from workflow.actors import Actor
from workflow.models import Application

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ServiceForm(forms.Form):
    """Bound to one application; `call` runs the service as `actor` with the cleaned data."""

    done = "Done."

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        self.application = application
        super().__init__(*args, **kwargs)

    def today(self) -> Any:
        return timezone.localdate(timezone.now(), self.application.office.tz)

    def call(self, actor: Actor) -> Any:
        raise NotImplementedError


# ---- transitions (SPEC §9 parameters) ----


class TransitionForm(ServiceForm):
    name = ""

    def params(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    def call(self, actor: Actor) -> Any:
        return services.TRANSITIONS[self.name](application=self.application, actor=actor, **self.params())


class ApproveReviewForm(TransitionForm):
    review_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    protocol = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Empty: the standard 7-day protocol. Else [{"day": 1, "activities": ["…"]}, …].',
    )


class ReasonForm(TransitionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


def parse_quote_lines(text: str) -> list[dict[str, Any]]:
    """Lines of "description | amount", blank ones skipped; whether an amount is acceptable is the service's call."""
    items, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        description, separator, amount = line.rpartition("|")
        try:
            value: Decimal | None = Decimal(amount.strip().replace(" ", ""))
        except InvalidOperation:
            value = None
        if not separator or value is None or not value.is_finite():
            errors.append(f"Line {number}: write “description | amount”, e.g. “Hospital stay | 2100.00”.")
            continue
        items.append({"description": description.strip(), "amount": value})
    if errors:
        raise forms.ValidationError(errors)
    return items


class QuoteForm(TransitionForm):
    items = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One line item per line: description | amount, e.g. “7-day protocol | 4500.00”.",
    )
    currency = forms.CharField(max_length=3, required=False, help_text="Empty: the office's currency.")
    valid_until = forms.DateField(required=False, widget=DATE, help_text="Empty: 30 days from today.")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_items(self) -> list[dict[str, Any]]:
        return parse_quote_lines(self.cleaned_data["items"])

    def params(self) -> dict[str, Any]:
        return {**self.cleaned_data, "currency": self.cleaned_data["currency"] or None}


class DischargeForm(TransitionForm):
    discharge_date = forms.DateField(widget=DATE)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["discharge_date"].initial = self.today()


TRANSITION_FORMS: dict[str, type[TransitionForm]] = {
    "approve_review": ApproveReviewForm,
    "decline": ReasonForm,
    "send_quote": QuoteForm,
    "revise_quote": QuoteForm,
    "admit": TransitionForm,
    "discharge": DischargeForm,
    "start_follow_up": TransitionForm,
    "complete": TransitionForm,
    "withdraw": ReasonForm,
}


def transition_form(name: str, application: Application, *args: Any) -> TransitionForm:
    form = TRANSITION_FORMS[name](*args, application=application, prefix=name)
    form.name = name
    return form


# ---- other actions on the application ----


class AssignForm(ServiceForm):
    done = "Assignment saved."
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="nobody")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        members = get_user_model().objects.filter(is_active=True, memberships__office_id=self.application.office_id)
        field.queryset = members.order_by("username").distinct()
        field.initial = self.application.assigned_to_id

    def call(self, actor: Actor) -> Any:
        user = self.cleaned_data["user"]
        return services.application_assign(
            application=self.application, actor=actor, user_id=user.pk if user is not None else None
        )


class TransferForm(ServiceForm):
    done = "Transferred."
    office = forms.ModelChoiceField(queryset=Office.objects.none(), to_field_name="code")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["office"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = Office.objects.exclude(pk=self.application.office_id)

    def call(self, actor: Actor) -> Any:
        office_code = self.cleaned_data["office"].code
        return services.application_transfer(application=self.application, actor=actor, office_code=office_code)


class MessageForm(ServiceForm):
    done = "Message saved."
    kind = forms.ChoiceField(choices=[("reply", "Reply to the patient"), ("note", "Internal note")])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.message_post(application=self.application, actor=actor, kind=data["kind"], body=data["body"])


class AcceptQuoteForm(ServiceForm):
    """The patient accepted the quote by phone or email; staff record it."""

    done = "Quote acceptance recorded."

    def call(self, actor: Actor) -> Any:
        return services.quote_accept(application=self.application, actor=actor)


class AdmissionForm(ServiceForm):
    done = "Admission date saved."
    admission_date = forms.DateField(widget=DATE)

    def call(self, actor: Actor) -> Any:
        return services.admission_schedule(
            application=self.application, actor=actor, admission_date=self.cleaned_data["admission_date"]
        )


class PaperConsentForm(ServiceForm):
    done = "Paper consent recorded."
    signer_name = forms.CharField(max_length=200)
    signed_at = forms.DateTimeField(widget=DATETIME, help_text="In the office's local time.")
    scan = forms.FileField(help_text="The signed form: PDF, JPEG or PNG.")

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.consent_record_paper(
            application=self.application,
            actor=actor,
            signer_name=data["signer_name"],
            signed_at=data["signed_at"],
            scan=data["scan"],
        )


OPERATION_FORMS: dict[str, type[ServiceForm]] = {
    "assign": AssignForm,
    "transfer": TransferForm,
    "message": MessageForm,
    "accept_quote": AcceptQuoteForm,
    "schedule_admission": AdmissionForm,
    "paper_consent": PaperConsentForm,
}
