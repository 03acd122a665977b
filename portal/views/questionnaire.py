"""The follow-up questionnaire (SPEC §5, §7): the patient answers their open review, one question per page.

One question per page, not one long form: STYLE.md's "Pages people use" asks for one thing per page
where a patient answers questions, and names this questionnaire. Each question is short, many
patients answer on a phone, and an error then concerns the one question on the screen. The answers
are kept in the session until the last page, "Check your answers" (GOV.UK's pattern), where each can
be changed and all are sent at once: the service sees one complete answer, never a half-filled one.

Correcting an answered review starts on that same page, prefilled with the latest answer; sending it
records a new version and the earlier one is kept (the service never overwrites an answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from portal.forms import (
    CommentsForm,
    FatigueForm,
    FlaresForm,
    JointPainForm,
    MedicationsForm,
    OverallChangeForm,
    SummaryForm,
    service_message,
)
from portal.views.pages import _page
from portal.web import patient_page
from workflow.actors import Actor
from workflow.errors import WorkflowError
from workflow.models import Application, FollowUpReview
from workflow.selectors_portal import PortalReview, portal_next_review, portal_open_review
from workflow.services.aftercare import Answers, review_answer_submit

SESSION_DRAFT = "portal.questionnaire"


@dataclass(frozen=True)
class Step:
    slug: str
    field: str
    form: type[SummaryForm]
    # How the answer is asked for: radios of words, a 0–10 scale, a number, free text.
    kind: str


STEPS = (
    Step("overall-change", "overall_change", OverallChangeForm, "radios"),
    Step("fatigue", "fatigue", FatigueForm, "scale"),
    Step("joint-pain", "joint_pain", JointPainForm, "scale"),
    Step("flares", "flares", FlaresForm, "number"),
    Step("medications", "current_medications", MedicationsForm, "text"),
    Step("comments", "comments", CommentsForm, "text"),
)
STEP_BY_SLUG = {step.slug: step for step in STEPS}
FIELDS = tuple(step.field for step in STEPS)
REQUIRED = ("overall_change", "fatigue", "joint_pain", "flares")


def _draft(request: HttpRequest, current: PortalReview) -> dict[str, Any]:
    """The answers typed so far for this review; a correction starts from the latest answer."""
    draft = request.session.get(SESSION_DRAFT)
    if isinstance(draft, dict) and draft.get("review") == current.review.pk and isinstance(draft.get("answers"), dict):
        return dict(draft["answers"])
    if current.latest is not None:
        return {name: getattr(current.latest, name) for name in FIELDS}
    return {}


def _save_draft(request: HttpRequest, current: PortalReview, answers: dict[str, Any]) -> None:
    request.session[SESSION_DRAFT] = {"review": current.review.pk, "answers": answers}


def _form(step: Step, current: PortalReview, *args: Any, **kwargs: Any) -> SummaryForm:
    if step.form is FlaresForm:
        return FlaresForm(*args, first_review=current.review.months == 1, **kwargs)
    return step.form(*args, **kwargs)


def _first_missing(answers: dict[str, Any]) -> Step | None:
    return next((step for step in STEPS if step.field in REQUIRED and answers.get(step.field) is None), None)


def _closed(request: HttpRequest, application: Application, now: datetime) -> HttpResponseBase:
    return _page(
        request,
        application,
        "portal/questionnaire.html",
        "questionnaire",
        now=now,
        current=None,
        next_review=portal_next_review(application=application, now=now),
    )


@patient_page
def questionnaire(request: HttpRequest, application: Application) -> HttpResponseBase:
    """The start: the open review (to answer, or answered and correctable), or when we will ask next."""
    now = timezone.now()
    current = portal_open_review(application=application, now=now)
    if current is None:
        return _closed(request, application, now)
    return _page(
        request,
        application,
        "portal/questionnaire.html",
        "questionnaire",
        now=now,
        current=current,
        first_step=reverse("portal:questionnaire_step", args=[STEPS[0].slug]),
    )


@patient_page
def questionnaire_step(request: HttpRequest, application: Application, step_slug: str) -> HttpResponseBase:
    step = STEP_BY_SLUG.get(step_slug)
    if step is None:
        raise Http404
    now = timezone.now()
    current = portal_open_review(application=application, now=now)
    if current is None:
        return redirect("portal:questionnaire")
    answers = _draft(request, current)
    changing = request.GET.get("change") == "1"
    if request.method == "POST":
        form = _form(step, current, request.POST)
        if form.is_valid():
            answers[step.field] = form.cleaned_data[step.field]
            _save_draft(request, current, answers)
            index = STEPS.index(step)
            if changing or index == len(STEPS) - 1:
                return redirect("portal:questionnaire_check")
            return redirect("portal:questionnaire_step", STEPS[index + 1].slug)
    else:
        value = answers.get(step.field)
        form = _form(step, current, initial={step.field: value} if value is not None else {})
    index = STEPS.index(step)
    back = (
        reverse("portal:questionnaire_check")
        if changing
        else reverse("portal:questionnaire_step", args=[STEPS[index - 1].slug])
        if index
        else reverse("portal:questionnaire")
    )
    return _page(
        request,
        application,
        "portal/questionnaire_step.html",
        "questionnaire",
        now=now,
        status=400 if form.is_bound and form.errors else 200,
        current=current,
        step=step,
        number=index + 1,
        total=len(STEPS),
        form=form,
        field=form[step.field],
        back=back,
        action=request.get_full_path(),
    )


@patient_page
def questionnaire_check(request: HttpRequest, application: Application) -> HttpResponseBase:
    """Every answer with a link to change it, and the button that sends them."""
    now = timezone.now()
    current = portal_open_review(application=application, now=now)
    if current is None:
        return redirect("portal:questionnaire")
    answers = _draft(request, current)
    missing = _first_missing(answers)
    if missing is not None:
        return redirect("portal:questionnaire_step", missing.slug)
    problems: list[str] = []
    if request.method == "POST":
        try:
            review_answer_submit(
                review=current.review,
                application=application,
                actor=Actor.patient(),
                answers=Answers(
                    overall_change=answers["overall_change"],
                    fatigue=answers["fatigue"],
                    joint_pain=answers["joint_pain"],
                    flares=answers["flares"],
                    current_medications=answers.get("current_medications") or "",
                    comments=answers.get("comments") or "",
                ),
                channel="portal",
                now=now,
            )
        except ValidationError as error:
            messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            problems = [service_message(text) for texts in messages.values() for text in texts]
        except (WorkflowError, FollowUpReview.DoesNotExist):
            problems = [gettext("Your answers could not be sent: this questionnaire is closed.")]
        else:
            request.session.pop(SESSION_DRAFT, None)
            request.session[SESSION_DRAFT + ".sent"] = current.review.pk
            return redirect("portal:questionnaire_sent")
    rows = []
    for step in STEPS:
        form = _form(step, current)
        bound = form[step.field]
        value = answers.get(step.field)
        if step.kind in {"radios", "scale"}:
            shown = str(dict(bound.field.choices).get(value, value))  # type: ignore[attr-defined]
        else:
            shown = "" if value is None else str(value)
        rows.append(
            {
                "question": bound.label,
                "answer": shown,
                "change": reverse("portal:questionnaire_step", args=[step.slug]) + "?change=1",
            }
        )
    return _page(
        request,
        application,
        "portal/questionnaire_check.html",
        "questionnaire",
        now=now,
        status=409 if problems else 200,
        current=current,
        rows=rows,
        extra_errors=problems,
        correcting=current.latest is not None,
    )


@patient_page
def questionnaire_sent(request: HttpRequest, application: Application) -> HttpResponseBase:
    """The confirmation after sending, once; afterwards the start page says what was answered."""
    now = timezone.now()
    sent = request.session.pop(SESSION_DRAFT + ".sent", None)
    current = portal_open_review(application=application, now=now)
    if current is None or sent != current.review.pk:
        return redirect("portal:questionnaire")
    return _page(
        request,
        application,
        "portal/questionnaire_sent.html",
        "questionnaire",
        now=now,
        current=current,
    )
