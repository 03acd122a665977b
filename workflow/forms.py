"""Forms that collect one service call's parameters: the staff pages' and the admin's "Run a transition" page.

They parse what people type (quote lines, dates in the office's time); every rule about whether the
call is allowed, and with what values, stays in `workflow.services`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offices.models import Office
from workflow import selectors, services
from workflow.actors import Actor
from workflow.models import Application, ConsentSignature, Message, MonitoringCheck, QuestionnaireAnswer

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ServiceForm(forms.Form):
    """Bound to one application; `call` runs the service as `actor` with the cleaned data."""

    done = _("Done.")

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        self.application = application
        super().__init__(*args, **kwargs)

    def today(self) -> Any:
        return timezone.localdate(timezone.now(), self.application.office.tz)

    def call(self, actor: Actor) -> Any:
        raise NotImplementedError


# ---- transitions (SPEC §9 parameters) ----


class TransitionForm(ServiceForm):
    """A transition with no parameters; subclasses add fields and call their own service."""

    name: services.TransitionName


class ApproveReviewForm(TransitionForm):
    name = "approve_review"
    review_notes = forms.CharField(label=_("Review notes"), widget=forms.Textarea(attrs={"rows": 3}))
    protocol = forms.JSONField(
        label=_("Protocol"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('Empty: the standard 7-day protocol. Else [{"day": 1, "activities": ["…"]}, …].'),
    )

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.application_approve_review(
            application=self.application, actor=actor, review_notes=data["review_notes"], protocol=data["protocol"]
        )


class DeclineForm(TransitionForm):
    name = "decline"
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def call(self, actor: Actor) -> Any:
        return services.application_decline(
            application=self.application, actor=actor, reason=self.cleaned_data["reason"]
        )


class WithdrawForm(TransitionForm):
    name = "withdraw"
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def call(self, actor: Actor) -> Any:
        return services.application_withdraw(
            application=self.application, actor=actor, reason=self.cleaned_data["reason"]
        )


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
            errors.append(
                _("Line %(number)d: write “description | amount”, e.g. “Hospital stay | 2100.00”.") % {"number": number}
            )
            continue
        items.append({"description": description.strip(), "amount": value})
    if errors:
        raise forms.ValidationError(errors)
    return items


class SendQuoteForm(TransitionForm):
    name: services.TransitionName = "send_quote"
    items = forms.CharField(
        label=_("Items"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One line item per line: description | amount, e.g. “7-day protocol | 4500.00”."),
    )
    currency = forms.CharField(
        label=_("Currency"), max_length=3, required=False, help_text=_("Empty: the office's currency.")
    )
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=DATE, help_text=_("Empty: 30 days from today.")
    )
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_items(self) -> list[dict[str, Any]]:
        return parse_quote_lines(self.cleaned_data["items"])

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.application_send_quote(
            application=self.application,
            actor=actor,
            items=data["items"],
            currency=data["currency"] or None,
            valid_until=data["valid_until"],
            notes=data["notes"],
        )


class ReviseQuoteForm(SendQuoteForm):
    name = "revise_quote"

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.application_revise_quote(
            application=self.application,
            actor=actor,
            items=data["items"],
            currency=data["currency"] or None,
            valid_until=data["valid_until"],
            notes=data["notes"],
        )


class AdmitForm(TransitionForm):
    name = "admit"

    def call(self, actor: Actor) -> Any:
        return services.application_admit(application=self.application, actor=actor)


class DischargeForm(TransitionForm):
    name = "discharge"
    discharge_date = forms.DateField(label=_("Discharge date"), widget=DATE)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["discharge_date"].initial = self.today()

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.application_discharge(
            application=self.application, actor=actor, discharge_date=data["discharge_date"], summary=data["summary"]
        )


class StartFollowUpForm(TransitionForm):
    name = "start_follow_up"

    def call(self, actor: Actor) -> Any:
        return services.application_start_follow_up(application=self.application, actor=actor)


class CompleteForm(TransitionForm):
    name = "complete"

    def call(self, actor: Actor) -> Any:
        return services.application_complete(application=self.application, actor=actor)


TRANSITION_FORMS: dict[services.TransitionName, type[TransitionForm]] = {
    form.name: form
    for form in (
        ApproveReviewForm,
        DeclineForm,
        SendQuoteForm,
        ReviseQuoteForm,
        AdmitForm,
        DischargeForm,
        StartFollowUpForm,
        CompleteForm,
        WithdrawForm,
    )
}


def transition_form(name: services.TransitionName, application: Application, *args: Any) -> TransitionForm:
    return TRANSITION_FORMS[name](*args, application=application, prefix=name)


# ---- other actions on the application ----


class AssignForm(ServiceForm):
    done = _("Assignment saved.")
    user = forms.ModelChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), required=False, empty_label=_("nobody")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = selectors.assignable_staff(self.application)
        field.initial = self.application.assigned_to_id

    def call(self, actor: Actor) -> Any:
        user = self.cleaned_data["user"]
        return services.application_assign(
            application=self.application, actor=actor, user_id=user.pk if user is not None else None
        )


class TransferForm(ServiceForm):
    done = _("Transferred.")
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(), to_field_name="code")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["office"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = Office.objects.exclude(pk=self.application.office_id)

    def call(self, actor: Actor) -> Any:
        office_code = self.cleaned_data["office"].code
        return services.application_transfer(application=self.application, actor=actor, office_code=office_code)


class ReplyForm(ServiceForm):
    done = _("Reply sent to the patient.")
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("Emailed to the patient.")
    )

    def call(self, actor: Actor) -> Any:
        return services.message_post(
            application=self.application, actor=actor, kind="reply", body=self.cleaned_data["body"]
        )


class NoteForm(ServiceForm):
    done = _("Note saved.")
    body = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), help_text=_("For colleagues only.")
    )

    def call(self, actor: Actor) -> Any:
        return services.message_post(
            application=self.application, actor=actor, kind="note", body=self.cleaned_data["body"]
        )


class InboundForm(ServiceForm):
    """A message the patient sent by phone or email: it opens a reply obligation if none is open."""

    done = _("Message from the patient recorded.")
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[(Message.Channel.PHONE, _("Phone")), (Message.Channel.EMAIL, _("Email"))]
    )
    received_at = forms.DateTimeField(
        label=_("Received at"), widget=DATETIME, help_text=_("In the office's local time.")
    )
    body = forms.CharField(label=_("What the patient said"), widget=forms.Textarea(attrs={"rows": 3}))

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.message_receive(
            application=self.application,
            actor=actor,
            body=data["body"],
            channel=data["channel"],
            received_at=data["received_at"],
        )


class AcceptQuoteForm(ServiceForm):
    """The patient accepted the quote by phone or email; staff record it."""

    done = _("Quote acceptance recorded.")

    def call(self, actor: Actor) -> Any:
        return services.quote_accept(application=self.application, actor=actor)


class AdmissionForm(ServiceForm):
    done = _("Admission date saved.")
    admission_date = forms.DateField(label=_("Admission date"), widget=DATE)

    def call(self, actor: Actor) -> Any:
        return services.admission_schedule(
            application=self.application, actor=actor, admission_date=self.cleaned_data["admission_date"]
        )


class PaperConsentForm(ServiceForm):
    done = _("Paper consent recorded.")
    signer_name = forms.CharField(label=_("Signer name"), max_length=200)
    signed_at = forms.DateTimeField(label=_("Signed at"), widget=DATETIME, help_text=_("In the office's local time."))
    scan = forms.FileField(label=_("Scan"), help_text=_("The signed form: PDF, JPEG or PNG."))

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.consent_record_paper(
            application=self.application,
            actor=actor,
            signer_name=data["signer_name"],
            signed_at=data["signed_at"],
            scan=data["scan"],
        )


class WithdrawConsentForm(ServiceForm):
    done = _("Consent withdrawal recorded.")
    signature = forms.ModelChoiceField(label=_("Signature"), queryset=ConsentSignature.objects.none())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["signature"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 - declared above
        field.queryset = self.application.signatures.filter(withdrawn_at__isnull=True)

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.consent_withdraw(
            application=self.application, actor=actor, signature_id=data["signature"].pk, reason=data["reason"]
        )


class ChangeProtocolForm(ServiceForm):
    """The physician changes the protocol before admission; it starts as the one in force."""

    done = _("Protocol changed.")
    protocol = forms.JSONField(
        label=_("Protocol"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_('The whole protocol: [{"day": 1, "activities": ["…"]}, …], days numbered from 1.'),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].initial = self.application.protocol

    def call(self, actor: Actor) -> Any:
        return services.application_change_protocol(
            application=self.application, actor=actor, protocol=self.cleaned_data["protocol"]
        )


class CompleteTreatmentDayForm(ServiceForm):
    done = _("Treatment day marked done.")
    day = forms.TypedChoiceField(label=_("Day"), coerce=int, choices=())
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["day"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        # Offered: the days not done yet; whether one may be done today is the service's call.
        field.choices = [
            (entry.day, f"Day {entry.day} ({entry.date:%Y-%m-%d}): {', '.join(entry.activities)}")
            for entry in self.application.treatment_days.filter(done_at__isnull=True).order_by("day")
        ]

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.treatment_day_complete(
            application=self.application, actor=actor, day=data["day"], notes=data["notes"]
        )


class SendPortalLinkForm(ServiceForm):
    """Email the patient a fresh private link to their portal."""

    done = _("A fresh portal link was emailed to the patient.")

    def call(self, actor: Actor) -> Any:
        return services.portal_link_send(application=self.application, actor=actor)


class RevokePortalLinksForm(ServiceForm):
    """Revoke every live portal link, e.g. when an email went to a wrong address."""

    done = _("The patient's portal links were revoked.")

    def call(self, actor: Actor) -> Any:
        return services.portal_links_revoke(application=self.application, actor=actor)


class MonitoringOutcomeForm(ServiceForm):
    """The outcome of a 24 h or 48 h check after discharge; a concern alerts the office's physicians."""

    done = _("Monitoring outcome recorded.")
    hours_after = forms.TypedChoiceField(coerce=int, choices=(), label=_("Check"))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=MonitoringCheck.Outcome.choices)
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required for a concern."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hours_after"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        field.choices = [
            (check.hours_after, f"{check.hours_after} h after discharge (due {check.due_at:%Y-%m-%d %H:%M} UTC)")
            for check in self.application.monitoring_checks.filter(recorded_at__isnull=True)
        ]

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.monitoring_outcome_record(
            application=self.application,
            actor=actor,
            hours_after=data["hours_after"],
            outcome=data["outcome"],
            note=data["note"],
        )


class PhoneAnswerForm(ServiceForm):
    """The follow-up questionnaire as the patient answered it on the phone; a second one is a new version."""

    done = _("Follow-up answer recorded.")
    months = forms.TypedChoiceField(coerce=int, choices=(), label=_("Review"))
    overall_change = forms.TypedChoiceField(
        coerce=int, choices=QuestionnaireAnswer.OverallChange.choices, label=_("Overall change since treatment")
    )
    fatigue = forms.IntegerField(
        label=_("Fatigue"), min_value=0, max_value=10, help_text=_("0 none … 10 the worst imaginable")
    )
    joint_pain = forms.IntegerField(
        label=_("Joint pain"), min_value=0, max_value=10, help_text=_("0 none … 10 the worst imaginable")
    )
    flares = forms.IntegerField(label=_("Flares"), min_value=0, max_value=999, help_text=_("Since the last review"))
    current_medications = forms.CharField(
        label=_("Current medications"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    comments = forms.CharField(label=_("Comments"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["months"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - declared above
        # Offered: the reviews not missed; whether one takes an answer now is the service's call.
        field.choices = [
            (review.months, f"{review.months} months (due {review.due_date:%Y-%m-%d}, {review.status})")
            for review in self.application.reviews.filter(missed_at__isnull=True)
        ]

    def call(self, actor: Actor) -> Any:
        data = dict(self.cleaned_data)
        review = self.application.reviews.get(months=data.pop("months"))
        return services.review_answer_submit(
            review=review, actor=actor, answers=services.Answers(**data), channel=QuestionnaireAnswer.Channel.PHONE
        )


class DischargeDateForm(ServiceForm):
    """Correct the discharge date; the reviews not yet answered move with it."""

    done = _("Discharge date corrected; the unanswered reviews were recomputed.")
    discharge_date = forms.DateField(label=_("Discharge date"), widget=DATE)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def call(self, actor: Actor) -> Any:
        data = self.cleaned_data
        return services.discharge_date_correct(
            application=self.application, actor=actor, discharge_date=data["discharge_date"], reason=data["reason"]
        )


# Action name (`workflow.services.rules.ACTIONS`) -> its form. The page shows the forms of
# `available_actions` only; `update_details` is the admin's change form itself.
OPERATION_FORMS: dict[str, type[ServiceForm]] = {
    "reply": ReplyForm,
    "note": NoteForm,
    "record_inbound": InboundForm,
    "assign": AssignForm,
    "transfer": TransferForm,
    "accept_quote": AcceptQuoteForm,
    "schedule_admission": AdmissionForm,
    "record_paper_consent": PaperConsentForm,
    "withdraw_consent": WithdrawConsentForm,
    "change_protocol": ChangeProtocolForm,
    "complete_treatment_day": CompleteTreatmentDayForm,
    "send_portal_link": SendPortalLinkForm,
    "revoke_portal_links": RevokePortalLinksForm,
    "record_monitoring_outcome": MonitoringOutcomeForm,
    "record_phone_answer": PhoneAnswerForm,
    "correct_discharge_date": DischargeDateForm,
}
