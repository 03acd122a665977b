"""The patient pages' forms. They read what was typed into Python values and nothing more.

Every rule about an application (plausible dates, the privacy consent, files, what may be done now)
is the service's; a form only says when a value is missing or cannot be read (a date that is no
date), as the API's serializers do. The service's field messages are shown beside the same fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from offices.models import Office
from workflow.models import Application

DATE_PARTS = ("day", "month", "year")
BODY_MAX = 10_000


class SummaryForm(forms.Form):
    """A form whose errors are listed at the top of the page, each a link to its field (GOV.UK's error summary)."""

    def error_links(self) -> list[tuple[str, str]]:
        links = [("", str(message)) for message in self.non_field_errors()]
        for name in self.fields:
            for message in self.errors.get(name, []):
                links.append((field_anchor(self[name]), str(message)))
        return links


def field_anchor(bound: forms.BoundField) -> str:
    """The id of the first input of a field: a radio group's first button, a date's day box."""
    widget = bound.field.widget
    if isinstance(widget, forms.RadioSelect):
        return f"{bound.auto_id}_0"
    if isinstance(widget, DatePartsWidget):
        return f"{bound.auto_id}_day"
    return str(bound.auto_id)


class DatePartsWidget(forms.Widget):
    """Three boxes, day, month and year (GOV.UK's date input); the value is what was typed in each."""

    def value_from_datadict(self, data: Mapping[str, Any], files: Mapping[str, Any], name: str) -> dict[str, str]:
        return {part: str(data.get(f"{name}_{part}", "")).strip() for part in DATE_PARTS}

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Mapping[str, Any], name: str) -> bool:
        return False


class DatePartsField(forms.Field):
    widget = DatePartsWidget
    default_error_messages = {
        "required": _("Enter the date"),
        "incomplete": _("The date must include a day, a month and a year"),
        "invalid": _("The date must be a real date, like 27 3 1985"),
        "year": _("The year must have 4 numbers"),
    }

    def to_python(self, value: Any) -> date | None:
        parts = value if isinstance(value, dict) else {}
        typed = [str(parts.get(part, "")) for part in DATE_PARTS]
        if not any(typed):
            return None
        if not all(typed):
            raise ValidationError(self.error_messages["incomplete"], code="incomplete")
        if not all(re.fullmatch(r"\d{1,4}", text) for text in typed):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        day, month, year = (int(text) for text in typed)
        if len(typed[2]) != 4:
            raise ValidationError(self.error_messages["year"], code="year")
        try:
            return date(year, month, day)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class FilesWidget(forms.Widget):
    def value_from_datadict(self, data: Mapping[str, Any], files: Mapping[str, Any], name: str) -> list[UploadedFile]:
        if isinstance(files, MultiValueDict):
            return [f for f in files.getlist(name) if f is not None]
        return []


class FilesField(forms.Field):
    """Any number of uploaded files; the intake service checks their number, size and content."""

    widget = FilesWidget

    def to_python(self, value: Any) -> list[UploadedFile]:
        return [f for f in (value or []) if isinstance(f, UploadedFile)]

    def validate(self, value: Any) -> None:
        return None


def country_choices() -> list[tuple[str, str]]:
    # Names in the active language, sorted as that language sorts them (django-countries).
    return [("", gettext("Select a country")), *((str(code), str(name)) for code, name in countries)]


def office_choices() -> list[tuple[str, str]]:
    offices = [(office.code, office.name) for office in Office.objects.order_by("code")]
    return [("", gettext("Let us choose for you")), *offices]


SEX_CHOICES = [
    (Application.Sex.FEMALE.value, _("Female")),
    (Application.Sex.MALE.value, _("Male")),
    (Application.Sex.OTHER.value, _("Other")),
    (Application.Sex.UNDISCLOSED.value, _("Prefer not to say")),
]


class ApplicationForm(SummaryForm):
    full_name = forms.CharField(
        label=_("Full name"),
        help_text=_("As it is written in your passport."),
        max_length=200,
        error_messages={"required": _("Enter your full name")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We will send you a private link to your application and our replies."),
        max_length=254,
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )
    phone = forms.CharField(
        label=_("Phone number (optional)"),
        help_text=_("With your country code, for example +91 98100 00000."),
        max_length=40,
        required=False,
    )
    date_of_birth = DatePartsField(
        label=_("Date of birth"),
        help_text=_("For example, 27 3 1985"),
        error_messages={"required": _("Enter your date of birth")},
    )
    sex = forms.ChoiceField(
        label=_("Sex"),
        choices=SEX_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select your sex, or prefer not to say")},
    )
    country = forms.ChoiceField(
        label=_("Country where you live"),
        help_text=_("If you leave the office to us, it decides which of our offices looks after you."),
        choices=country_choices,
        error_messages={"required": _("Select the country where you live")},
    )
    preferred_language = forms.ChoiceField(
        label=_("Language for our emails and your private pages"),
        choices=settings.LANGUAGES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select a language")},
    )
    condition = forms.CharField(
        label=_("Your condition"),
        help_text=_("The illness you would like treated, for example systemic lupus erythematosus."),
        max_length=200,
        error_messages={"required": _("Enter your condition")},
    )
    diagnosis_date = DatePartsField(
        label=_("When was it diagnosed? (optional)"),
        help_text=_("For example, 1 6 2019. An approximate date is fine."),
        required=False,
    )
    current_medications = forms.CharField(
        label=_("Current medications (optional)"),
        help_text=_("Each medicine with its dose, for example hydroxychloroquine 200 mg daily."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=BODY_MAX,
        required=False,
    )
    medical_history = forms.CharField(
        label=_("Medical history (optional)"),
        help_text=_("Other illnesses, operations and hospital stays that our doctors should know about."),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=BODY_MAX,
        required=False,
    )
    treatment_request = forms.CharField(
        label=_("What would you like from us? (optional)"),
        help_text=_("For example, the seven-day treatment, or a question before you decide."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=BODY_MAX,
        required=False,
    )
    office = forms.ChoiceField(
        label=_("Which office should handle your application?"),
        help_text=_("Our Delhi and Europe offices both offer the treatment."),
        choices=office_choices,
        widget=forms.RadioSelect,
        required=False,
    )
    privacy_consent = forms.BooleanField(
        label=_("I have read the privacy notice and agree that the clinic processes my data as it describes."),
        required=False,
    )
    documents = FilesField(
        label=_("Medical records (optional)"),
        help_text=_(
            "Letters, test results or scans as PDF, JPEG or PNG files: up to 10 files of at most %(size)s MB each. "
            "You can choose several files at once."
        ),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        size = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        self.fields["documents"].help_text = self.fields["documents"].help_text % {"size": size}

    @classmethod
    def initial_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """What was typed, as the initial values of an unchecked form (kept when a submission is refused unread)."""
        initial: dict[str, Any] = {}
        for name, field in cls.base_fields.items():
            if isinstance(field, DatePartsField):
                initial[name] = {part: str(data.get(f"{name}_{part}", "")) for part in DATE_PARTS}
            elif isinstance(field, forms.BooleanField):
                initial[name] = bool(data.get(name))
            elif not isinstance(field, FilesField):
                initial[name] = str(data.get(name, ""))
        return initial

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["office"] = data.get("office") or None
        data["privacy_consent"] = bool(data.get("privacy_consent"))
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """The intake service's field messages, beside the fields they name (in the page's language)."""
        messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        for field, texts in messages.items():
            translated = [service_message(text) for text in texts]
            self.add_error(field if field in self.fields else None, translated)


# The intake and upload services speak English; the patient reads their messages in the page's
# language. A message found in our catalogue is translated; anything else is shown as it is.
_FILE_TOO_LARGE = re.compile(r"^The file is (?P<size>\d+) bytes; the limit is (?P<limit>\d+) bytes\.$")


def service_message(text: str) -> str:
    name, separator, rest = text.rpartition(": ")
    if separator and name and "." in name:  # an upload's message: "scan.pdf: The file is empty."
        return f"{name}: {service_message(rest)}"
    match = _FILE_TOO_LARGE.match(text)
    if match:
        megabytes = int(match["limit"]) // (1024 * 1024)
        return gettext("The file is larger than %(limit)s MB.") % {"limit": megabytes}
    return gettext(text)


class MessageForm(SummaryForm):
    body = forms.CharField(
        label=_("Your message"),
        help_text=_("Our office replies within two working days."),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=BODY_MAX,
        error_messages={"required": _("Enter your message")},
    )


class LinkRequestForm(SummaryForm):
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("The address you gave when you applied."),
        max_length=254,
        error_messages={
            "required": _("Enter your email address"),
            "invalid": _("Enter an email address in the correct format, like name@example.com"),
        },
    )


class ConsentForm(SummaryForm):
    signer_name = forms.CharField(
        label=_("Your full name"),
        help_text=_("Typing your name here is your signature."),
        max_length=200,
        error_messages={"required": _("Type your full name to sign")},
    )
    understood = forms.BooleanField(
        label=_("I have read and understood the consent form, and my questions have been answered."),
        error_messages={"required": _("Confirm that you have read and understood the consent form")},
    )
    # What the page showed: signing is refused if the form changed meanwhile.
    sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class WithdrawForm(SummaryForm):
    reason = forms.CharField(
        label=_("Why do you want to withdraw?"),
        help_text=_("A few words are enough. It helps us improve."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        error_messages={"required": _("Tell us why you want to withdraw")},
    )


# ---- the follow-up questionnaire (SPEC §5): one question per page ----

OVERALL_CHANGE_CHOICES = [
    (3, _("Very much better")),
    (2, _("Much better")),
    (1, _("A little better")),
    (0, _("No change")),
    (-1, _("A little worse")),
    (-2, _("Much worse")),
    (-3, _("Very much worse")),
]
# 0–10 with its anchors on the two ends, as the question's hint also says.
SCORE_CHOICES = [
    (0, _("0 – none")),
    *((n, str(n)) for n in range(1, 10)),
    (10, _("10 – worst imaginable")),
]
FLARES_MAX = 365
# The aftercare service keeps at most this much of each free text.
ANSWER_TEXT_MAX = 4000


class OverallChangeForm(SummaryForm):
    overall_change = forms.TypedChoiceField(
        label=_("Compared with before your treatment, how are you overall now?"),
        help_text=_("Think about your health as a whole, not only your condition."),
        choices=OVERALL_CHANGE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select how you are overall now"),
            "invalid_choice": _("Select how you are overall now"),
        },
    )


class FatigueForm(SummaryForm):
    fatigue = forms.TypedChoiceField(
        label=_("How much fatigue (tiredness) have you had in the last 7 days?"),
        help_text=_("0 means none, 10 the worst you can imagine."),
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select a number from 0 to 10 for your fatigue"),
            "invalid_choice": _("Select a number from 0 to 10 for your fatigue"),
        },
    )


class JointPainForm(SummaryForm):
    joint_pain = forms.TypedChoiceField(
        label=_("How much joint pain have you had in the last 7 days?"),
        help_text=_("0 means none, 10 the worst you can imagine."),
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Select a number from 0 to 10 for your joint pain"),
            "invalid_choice": _("Select a number from 0 to 10 for your joint pain"),
        },
    )


class FlaresForm(SummaryForm):
    flares = forms.IntegerField(
        label=_("How many flares have you had since your last review?"),
        help_text=_(
            "A flare is a time when your symptoms got clearly worse for a few days or more. Enter 0 if you had none."
        ),
        min_value=0,
        max_value=FLARES_MAX,
        error_messages={
            "required": _("Enter the number of flares, or 0 if you had none"),
            "invalid": _("Enter the number of flares as a whole number, like 2"),
            "min_value": _("The number of flares must be 0 or more"),
            "max_value": _("The number of flares must be %(limit_value)s or fewer"),
        },
    )

    def __init__(self, *args: Any, first_review: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if first_review:
            self.fields["flares"].label = _("How many flares have you had since your treatment?")


class MedicationsForm(SummaryForm):
    current_medications = forms.CharField(
        label=_("Which medicines do you take now? (optional)"),
        help_text=_(
            "Each medicine with its dose, for example hydroxychloroquine 200 mg daily. Leave it empty if you take none."
        ),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=ANSWER_TEXT_MAX,
        required=False,
    )


class CommentsForm(SummaryForm):
    comments = forms.CharField(
        label=_("Is there anything else you would like to tell us? (optional)"),
        help_text=_("For example, a new illness, a hospital stay, or a question for our doctors."),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=ANSWER_TEXT_MAX,
        required=False,
    )
