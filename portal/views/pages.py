"""The portal's pages (SPEC §7): status and timeline, messages, quote, consent form, withdrawal.

Each page reads the application the session is bound to (`patient_page`), asks the service layer
what the patient may do now, and calls the patient's services. Nothing here decides a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from portal import timefmt
from portal.forms import ConsentForm, MessageForm, WithdrawForm, service_message
from portal.web import client_address, patient_page
from workflow import services
from workflow.actors import Actor
from workflow.errors import Conflict, WorkflowError
from workflow.models import Application
from workflow.selectors_portal import (
    ReviewEntry,
    TimelineEntry,
    patient_conversation,
    patient_review_timeline,
    patient_timeline,
    portal_consent,
    portal_open_review,
    portal_quote,
)

# What each state means to the patient, in plain words.
STATE_TEXT: dict[str, Promise] = {
    "received": _("We have your application. Our doctors will review it."),
    "medically_reviewed": _("Our doctors have reviewed your application. We are preparing your quote."),
    "quoted": _("We have sent you a quote."),
    "admitted": _("You are in treatment with us."),
    "discharged": _("You have finished your treatment. We will check how you are."),
    "in_follow_up": _("Follow-up: we will ask how you are 1, 3, 6, 12 and 24 months after your treatment."),
    "declined": _("Our doctors cannot offer you the treatment."),
    "withdrawn": _("Your application has been withdrawn."),
    "completed": _("Your treatment and its follow-up are complete."),
}
STATE_NAME: dict[str, Promise] = {
    "received": pgettext_lazy("state", "Received"),
    "medically_reviewed": pgettext_lazy("state", "Reviewed by our doctors"),
    "quoted": pgettext_lazy("state", "Quote sent"),
    "admitted": pgettext_lazy("state", "In treatment"),
    "discharged": pgettext_lazy("state", "Discharged"),
    "in_follow_up": pgettext_lazy("state", "Follow-up"),
    "declined": pgettext_lazy("state", "Declined"),
    "withdrawn": pgettext_lazy("state", "Withdrawn"),
    "completed": pgettext_lazy("state", "Completed"),
}


ACCEPTED = _("Thank you: you have accepted the quote. We will now agree your admission date with you.")
REVISED_QUOTE_REQUEST = _("Please send me a revised quote. My quote of %(date)s expired on %(until)s.")
CONSENT_CHANGED = _("The consent form has changed since you opened this page. Please read this version and sign again.")
NOT_WITHDRAWN = _("Your application could not be withdrawn. Please reload the page and try again.")
WITHDRAWN = _("You have withdrawn your application. We have sent you an email to confirm it.")
SIGNED = _("Thank you: you have signed the consent form. We are emailing you a PDF of what you signed.")
SENT_REPLY_BY = _("Your message has been sent. We will reply by %(when)s.")


def _language() -> str:
    return get_language() or "en"


@dataclass(frozen=True)
class NavItem:
    name: str
    label: str
    url: str


@dataclass(frozen=True)
class Offers:
    """What the patient may do now, as the service layer says."""

    actions: Sequence[str]
    transitions: Sequence[str]

    @classmethod
    def of(cls, application: Application, now: datetime) -> Offers:
        patient = Actor.patient()
        return cls(
            actions=services.available_actions(application, patient, now=now),
            transitions=services.available_transitions(application, patient, now=now),
        )


def _nav(application: Application, offers: Offers) -> list[NavItem]:
    items = [
        NavItem("status", gettext("Your application"), reverse("portal:status")),
        NavItem("messages", gettext("Messages"), reverse("portal:messages")),
    ]
    if application.quotes.exists():
        items.append(NavItem("quote", gettext("Quote"), reverse("portal:quote")))
    if "sign_consent" in offers.actions or application.signatures.exists():
        items.append(NavItem("consent", gettext("Consent form"), reverse("portal:consent")))
    if "withdraw" in offers.transitions:
        items.append(NavItem("withdraw", gettext("Withdraw"), reverse("portal:withdraw")))
    if application.reviews.exists():
        items.append(NavItem("questionnaire", gettext("Questionnaire"), reverse("portal:questionnaire")))
    return items


def _page(
    request: HttpRequest,
    application: Application,
    template: str,
    nav_current: str,
    *,
    now: datetime,
    offers: Offers | None = None,
    status: int = 200,
    **context: Any,
) -> HttpResponseBase:
    offers = offers or Offers.of(application, now)
    moment = application.reply_due_at or now
    zone = timefmt.zone_name(moment, application.office, _language())
    base = {
        "application": application,
        "office": application.office,
        "zone": f"{zone} ({application.office.timezone})",
        "nav_items": _nav(application, offers),
        "nav_current": nav_current,
        "offers": offers,
    }
    return render(request, template, {**base, **context}, status=status)


def _timeline_label(entry: TimelineEntry, application: Application) -> str:
    office = application.office.name
    labels: dict[str, str] = {
        "submit": gettext("You sent your application")
        if entry.by == "patient"
        else gettext("Our %(office)s office entered your application") % {"office": office},
        "approve_review": gettext("Our doctors reviewed your application and recommend the treatment"),
        "decline": gettext("Our doctors reviewed your application: we cannot offer you the treatment"),
        "send_quote": gettext("We sent you a quote"),
        "revise_quote": gettext("We sent you a revised quote"),
        "accept_quote": gettext("You accepted the quote")
        if entry.by == "patient"
        else gettext("Our %(office)s office recorded that you accepted the quote") % {"office": office},
        "schedule_admission": gettext("Your admission was scheduled for %(date)s")
        % {"date": timefmt.long_date(entry.admission_date, _language(), weekday=True)}
        if entry.admission_date
        else gettext("Your admission was scheduled"),
        "sign_consent": gettext("The consent form was signed (version %(n)s)") % {"n": entry.consent_version}
        if entry.consent_version
        else gettext("The consent form was signed"),
        "withdraw_consent": gettext("Your consent was withdrawn"),
        "admit": gettext("You were admitted for treatment"),
        "discharge": gettext("You were discharged"),
        "withdraw": gettext("You withdrew your application")
        if entry.by == "patient"
        else gettext("Your application was withdrawn"),
        "message_reply": gettext("Our %(office)s office wrote to you") % {"office": office},
        "message_inbound": gettext("You wrote to us"),
    }
    return labels.get(entry.action, "")


def _review_label(entry: ReviewEntry) -> str:
    months = {"months": entry.months}
    if entry.kind == "missed":
        return (
            ngettext(
                "Follow-up review at %(months)s month: not answered in time",
                "Follow-up review at %(months)s months: not answered in time",
                entry.months,
            )
            % months
        )
    if entry.kind == "corrected":
        return (
            ngettext(
                "Follow-up review at %(months)s month: answers corrected",
                "Follow-up review at %(months)s months: answers corrected",
                entry.months,
            )
            % months
        )
    if entry.channel == "phone":
        return (
            ngettext(
                "Follow-up review at %(months)s month answered by phone",
                "Follow-up review at %(months)s months answered by phone",
                entry.months,
            )
            % months
        )
    return (
        ngettext(
            "Follow-up review at %(months)s month answered",
            "Follow-up review at %(months)s months answered",
            entry.months,
        )
        % months
    )


def _review_by(entry: ReviewEntry) -> str:
    if entry.kind == "missed":
        return "system"
    return "office" if entry.channel == "phone" else "patient"


@patient_page
def status(request: HttpRequest, application: Application) -> HttpResponseBase:
    now = timezone.now()
    offers = Offers.of(application, now)
    consent = portal_consent(application=application, now=now)
    timeline = [
        {"at": entry.at, "label": _timeline_label(entry, application), "by": entry.by}
        for entry in patient_timeline(application=application)
    ]
    timeline += [
        {"at": entry.at, "label": _review_label(entry), "by": _review_by(entry)}
        for entry in patient_review_timeline(application=application)
    ]
    timeline.sort(key=lambda item: item["at"])
    review = portal_open_review(application=application, now=now)
    return _page(
        request,
        application,
        "portal/status.html",
        "status",
        now=now,
        offers=offers,
        state_name=STATE_NAME.get(application.state, application.state),
        state_text=STATE_TEXT.get(application.state, ""),
        timeline=list(reversed(timeline)),
        can_sign=consent.can_sign,
        open_review=review.review if review is not None and review.latest is None else None,
    )


@patient_page
def messages(request: HttpRequest, application: Application) -> HttpResponseBase:
    now = timezone.now()
    form = MessageForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.message_receive(
                application=application, actor=Actor.patient(), body=form.cleaned_data["body"], channel="portal"
            )
        except ValidationError as error:
            for field, texts in error.message_dict.items():
                form.add_error(field if field in form.fields else None, [service_message(t) for t in texts])
        except WorkflowError:
            form.add_error(None, gettext("Your message could not be sent. Please try again."))
        else:
            application.refresh_from_db()
            if application.reply_due_at:
                when = timefmt.office_time(application.reply_due_at, application.office, _language())
                flash.success(request, str(SENT_REPLY_BY) % {"when": when})
            else:
                flash.success(request, gettext("Your message has been sent."))
            return redirect("portal:messages")
    return _page(
        request,
        application,
        "portal/messages.html",
        "messages",
        now=now,
        form=form,
        conversation=patient_conversation(application=application),
    )


@patient_page
def quote(request: HttpRequest, application: Application) -> HttpResponseBase:
    now = timezone.now()
    problem = ""
    if request.method == "POST":
        try:
            services.quote_accept(application=application, actor=Actor.patient(), now=now)
        except Conflict:
            problem = gettext("This quote can no longer be accepted. The page below shows why.")
        else:
            flash.success(request, str(ACCEPTED))
            return redirect("portal:quote")
    current = portal_quote(application=application, now=now)
    revised_request = ""
    if current is not None and current.status == "expired":
        sent_on = current.quote.created_at.astimezone(application.office.tz).date()
        revised_request = str(REVISED_QUOTE_REQUEST) % {
            "date": timefmt.long_date(sent_on, _language()),
            "until": timefmt.long_date(current.quote.valid_until, _language()),
        }
    return _page(
        request,
        application,
        "portal/quote.html",
        "quote",
        now=now,
        status=409 if problem else 200,
        quote=current,
        extra_errors=[problem] if problem else [],
        revised_form=MessageForm(initial={"body": revised_request}) if revised_request else None,
    )


@patient_page
def consent(request: HttpRequest, application: Application) -> HttpResponseBase:
    now = timezone.now()
    state = portal_consent(application=application, now=now)
    form = ConsentForm(request.POST if request.method == "POST" else None)
    if state.document is not None and not form.is_bound:
        form = ConsentForm(initial={"sha256": state.document.sha256})
    if form.is_bound and form.is_valid():
        if state.document is None or form.cleaned_data["sha256"] != state.document.sha256:
            form.add_error(None, str(CONSENT_CHANGED))
            form = _refreshed(form, state.document.sha256 if state.document else "")
        elif not state.can_sign:
            form.add_error(None, gettext("The consent form cannot be signed now."))
        else:
            try:
                services.consent_sign_portal(
                    application=application,
                    signer_name=form.cleaned_data["signer_name"],
                    ip_address=client_address(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    expected_sha256=form.cleaned_data["sha256"],
                    now=now,
                )
            except ValidationError as error:
                for field, texts in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, [service_message(t) for t in texts])
            except WorkflowError:
                form.add_error(None, gettext("The consent form cannot be signed now."))
            else:
                flash.success(request, str(SIGNED))
                return redirect("portal:consent")
    return _page(
        request,
        application,
        "portal/consent.html",
        "consent",
        now=now,
        status=400 if form.is_bound and form.errors else 200,
        consent=state,
        form=form,
    )


def _refreshed(form: ConsentForm, sha256: str) -> ConsentForm:
    """The same answers against the document now shown, with the error kept."""
    data = {key: form.data.get(key) for key in form.data}
    data["sha256"] = sha256
    refreshed = ConsentForm(data)
    refreshed.is_valid()
    for message in form.non_field_errors():
        refreshed.add_error(None, message)
    return refreshed


@patient_page
def withdraw(request: HttpRequest, application: Application) -> HttpResponseBase:
    """Three steps: a reason, a confirmation that says what withdrawing means, then the withdrawal."""
    now = timezone.now()
    offers = Offers.of(application, now)
    if "withdraw" not in offers.transitions:
        return _page(request, application, "portal/withdraw.html", "withdraw", now=now, offers=offers, closed=True)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        return _page(request, application, "portal/withdraw.html", "withdraw", now=now, offers=offers, form=form)
    if request.POST.get("confirm") != "yes":
        template = "portal/withdraw_confirm.html"
        return _page(request, application, template, "withdraw", now=now, offers=offers, form=form)
    try:
        services.application_withdraw(
            application=application, actor=Actor.patient(), reason=form.cleaned_data["reason"], now=now
        )
    except (WorkflowError, ValidationError):
        form.add_error(None, str(NOT_WITHDRAWN))
        template = "portal/withdraw.html"
        return _page(request, application, template, "withdraw", now=now, offers=offers, form=form, status=409)
    flash.success(request, str(WITHDRAWN))
    return redirect("portal:status")
