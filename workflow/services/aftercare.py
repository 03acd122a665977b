"""Aftercare actions (SPEC §5): monitoring outcomes, questionnaire answers, a corrected discharge date.

Each locks the application, checks the action in `workflow.services.rules`, writes a history row with
its actor and its outbox rows in one transaction, like every other action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from notifications import events
from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, FollowUpReview, MonitoringCheck, QuestionnaireAnswer, State
from workflow.models.aftercare import FINAL_REVIEW_MONTHS
from workflow.services.aftercare_plan import review_dates
from workflow.services.common import lock, now_or, record
from workflow.services.rules import check_action
from workflow.services.transitions import application_complete

Channel = QuestionnaireAnswer.Channel
_NOTE_MAX = 4000
_TEXT_MAX = 4000


def _pk(obj: object) -> int:
    pk = getattr(obj, "pk", obj)
    assert isinstance(pk, int)  # noqa: S101 - callers pass a row or its id
    return pk


def monitoring_outcome_record(
    *,
    application: Application | int,
    actor: Actor,
    hours_after: int,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> MonitoringCheck:
    """Close a monitoring check with `well` or `concern`; a concern alerts the office's physicians."""
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in MonitoringCheck.Outcome.values:
        errors["outcome"] = ["Choose well or concern."]
    if outcome == MonitoringCheck.Outcome.CONCERN and not note:
        errors["note"] = ["Say what the concern is."]
    if len(note) > _NOTE_MAX:
        errors["note"] = [f"At most {_NOTE_MAX} characters."]
    if errors:
        raise ValidationError(errors)
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "record_monitoring_outcome", now=now)
        check = MonitoringCheck.objects.select_for_update().filter(application=app, hours_after=hours_after).first()
        if check is None:
            raise MonitoringCheck.DoesNotExist(f"There is no {hours_after} h monitoring check.")
        if check.recorded_at is not None:
            raise Conflict(f"The {hours_after} h check was already recorded as {check.outcome}.")
        check.outcome, check.note, check.recorded_at, check.recorded_by = outcome, note, now, actor.user
        check.save(update_fields=["outcome", "note", "recorded_at", "recorded_by"])
        history = record(
            app,
            action="record_monitoring_outcome",
            actor=actor,
            at=now,
            params={"hours_after": hours_after, "outcome": outcome, "note": note},
        )
        if outcome == MonitoringCheck.Outcome.CONCERN:
            events.monitoring_concern(app, check=check, history=history, now=now)
    return check


@dataclass(frozen=True)
class Answers:
    """The questionnaire (SPEC §5), validated: the portal form and the API build one."""

    overall_change: int
    fatigue: int
    joint_pain: int
    flares: int
    current_medications: str = ""
    comments: str = ""


def _int_in(value: object, low: int, high: int | None, field: str, errors: dict[str, list[str]]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        upper = f" to {high}" if high is not None else " or more"
        errors[field] = [f"A whole number from {low}{upper}."]


def answers_errors(answers: Answers) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    _int_in(answers.overall_change, -3, 3, "overall_change", errors)
    _int_in(answers.fatigue, 0, 10, "fatigue", errors)
    _int_in(answers.joint_pain, 0, 10, "joint_pain", errors)
    _int_in(answers.flares, 0, 999, "flares", errors)
    for field in ("current_medications", "comments"):
        if len(getattr(answers, field) or "") > _TEXT_MAX:
            errors[field] = [f"At most {_TEXT_MAX} characters."]
    return errors


def review_is_open(review: FollowUpReview, now: datetime) -> bool:
    """Inside its answer window (office-local dates) and not missed."""
    today = timezone.localdate(now, review.application.office.tz)
    return review.missed_at is None and review.window_opens <= today <= review.window_closes and now < review.closes_at


def review_answer_submit(
    *,
    review: FollowUpReview | int,
    actor: Actor,
    answers: Answers,
    channel: str,
    application: Application | int | None = None,
    now: datetime | None = None,
) -> QuestionnaireAnswer:
    """A questionnaire answer: the patient's from the portal, or one staff took by phone.

    The patient (`Actor.patient()`, channel `portal`) answers a review of the application their link
    opens — pass it as `application` — while its window is open. Staff (channel `phone`) record an
    answer in an open window, or correct an answered review at any time. A second answer is a new
    version; the first stays. Answering the 24-month review completes the follow-up (system actor).
    """
    errors = answers_errors(answers)
    if actor.kind == "patient" and channel != Channel.PORTAL:
        errors["channel"] = ["The patient answers in the portal."]
    if actor.kind == "user" and channel != Channel.PHONE:
        errors["channel"] = ["Staff record answers given by phone."]
    if errors:
        raise ValidationError(errors)
    now = now_or(now)
    review_pk = _pk(review)
    owner = FollowUpReview.objects.filter(pk=review_pk).values_list("application_id", flat=True).first()
    if owner is None or (application is not None and _pk(application) != owner):
        raise FollowUpReview.DoesNotExist("No such review for this application.")
    with transaction.atomic():
        app = lock(owner, actor)
        check_action(app, actor, "answer_questionnaire" if actor.kind == "patient" else "record_phone_answer", now=now)
        row = FollowUpReview.objects.select_for_update().select_related("application__office").get(pk=review_pk)
        correction = row.answered_at is not None and actor.kind == "user"
        if not correction and not review_is_open(row, now):
            raise Conflict(
                f"The {row.months}-month questionnaire can be answered from {row.window_opens:%Y-%m-%d} "
                f"to {row.window_closes:%Y-%m-%d}; it is {row.status} now."
            )
        version = (row.answers.aggregate(v=Max("version"))["v"] or 0) + 1
        answer = QuestionnaireAnswer.objects.create(
            review=row,
            version=version,
            overall_change=answers.overall_change,
            fatigue=answers.fatigue,
            joint_pain=answers.joint_pain,
            flares=answers.flares,
            current_medications=(answers.current_medications or "").strip(),
            comments=(answers.comments or "").strip(),
            channel=channel,
            recorded_by=actor.user if actor.kind == "user" else None,
            submitted_at=now,
        )
        if row.answered_at is None:
            row.answered_at = now
            row.save(update_fields=["answered_at"])
        record(
            app,
            action="answer_questionnaire" if actor.kind == "patient" else "record_phone_answer",
            actor=actor,
            at=now,
            params={"months": row.months, "version": version, "channel": channel},
        )
        if row.months == FINAL_REVIEW_MONTHS and app.state == State.IN_FOLLOW_UP:
            application_complete(application=app, actor=Actor.system(), now=now)
    return answer


def discharge_date_correct(
    *, application: Application | int, actor: Actor, discharge_date: date, reason: str, now: datetime | None = None
) -> Application:
    """Correct the discharge date and recompute every review not yet answered (SPEC §5).

    A stamp (`invited_at`, `reminded_at`, `overdue_alerted_at`, `missed_at`) whose instant moved into
    the future is cleared, so that step happens again at its new time; one still in the past stays
    (what was sent was sent). The monitoring checks and the automatic start count from the recorded
    discharge, not the date, and do not move.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the date is corrected."]})
    now = now_or(now)
    with transaction.atomic():
        app = lock(application, actor)
        check_action(app, actor, "correct_discharge_date", now=now)
        today = timezone.localdate(now, app.office.tz)
        if discharge_date > today:
            raise ValidationError({"discharge_date": ["The discharge date cannot be in the future."]})
        if app.admission_date and discharge_date < app.admission_date:
            raise ValidationError({"discharge_date": ["The discharge date cannot be before the admission date."]})
        if discharge_date == app.discharge_date:
            raise ValidationError({"discharge_date": ["This is already the discharge date."]})
        previous = app.discharge_date
        app.discharge_date = discharge_date
        app.save(update_fields=["discharge_date", "updated_at"])
        moved = []
        for row in FollowUpReview.objects.select_for_update().filter(application=app, answered_at__isnull=True):
            dates = review_dates(app.office, discharge_date, row.months)
            for field, value in dates.__dict__.items():
                setattr(row, field, value)
            for stamp, instant in (
                ("invited_at", row.invite_at),
                ("reminded_at", row.remind_at),
                ("overdue_alerted_at", row.overdue_at),
                ("missed_at", row.closes_at),
            ):
                if instant > now:
                    setattr(row, stamp, None)
            row.save()
            moved.append(row.months)
        history = record(
            app,
            action="correct_discharge_date",
            actor=actor,
            at=now,
            params={
                "discharge_date": discharge_date.isoformat(),
                "previous": previous.isoformat() if previous else None,
                "reason": reason,
                "reviews_recomputed": moved,
            },
        )
        events.follow_up_dates_changed(app, history=history, now=now)
    return app
