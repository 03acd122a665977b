"""Aftercare (SPEC §5): the monitoring checks after discharge and the 24-month follow-up programme.

Every deadline here is a column that beat sweeps (SPEC §11), each with a partial index of the rows
still waiting for that step, so a sweep reads only what it may have to do.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# SPEC §5: reviews at 1, 3, 6, 12 and 24 calendar months after the discharge date.
REVIEW_MONTHS = (1, 3, 6, 12, 24)
# The review whose answer (or miss) completes the follow-up.
FINAL_REVIEW_MONTHS = 24
MONITORING_HOURS = (24, 48)


class MonitoringCheck(models.Model):
    """A coordinator's check on the patient 24 h or 48 h after discharge; an outcome closes it."""

    class Outcome(models.TextChoices):
        WELL = "well", _("Well")
        CONCERN = "concern", _("Concern")

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="monitoring_checks")
    hours_after = models.PositiveSmallIntegerField(choices=[(h, f"{h} h") for h in MONITORING_HOURS])
    due_at = models.DateTimeField()
    # The coordinators were alerted that it is due (the monitoring sweep), once.
    alerted_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    note = models.TextField(blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["application", "hours_after"]
        constraints = [
            models.UniqueConstraint(fields=["application", "hours_after"], name="one_monitoring_check_per_hour"),
            models.CheckConstraint(
                condition=models.Q(recorded_at__isnull=True, outcome="")
                | models.Q(recorded_at__isnull=False, outcome__in=["well", "concern"]),
                name="monitoring_outcome_with_its_time",
            ),
        ]
        indexes = [
            # The monitoring-due sweep (workflow.services.aftercare_sweeps.monitoring_due_sweep) reads
            # only checks neither alerted nor recorded, by due time.
            models.Index(
                fields=["due_at"],
                condition=models.Q(alerted_at__isnull=True, recorded_at__isnull=True),
                name="monitoring_checks_to_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hours_after} h check due {self.due_at:%Y-%m-%d %H:%M} UTC"

    @property
    def status(self) -> str:
        """`recorded`, `due` (alerted, waiting for an outcome) or `scheduled`."""
        if self.recorded_at is not None:
            return "recorded"
        if self.alerted_at is not None:
            return "due"
        return "scheduled"


class FollowUpReview(models.Model):
    """A follow-up review N calendar months after the discharge date, with its answer window.

    The dates are the office's local dates; the swept instants (`*_at`) are UTC, computed from those
    dates at a fixed local time in the office's zone (workflow.services.aftercare), each with a stamp
    (`invited_at`, …) its sweep sets once. `discharge_date_correct` recomputes unanswered rows and
    clears the stamps whose instants moved into the future.
    """

    application = models.ForeignKey("workflow.Application", on_delete=models.CASCADE, related_name="reviews")
    months = models.PositiveSmallIntegerField(choices=[(m, f"{m} months") for m in REVIEW_MONTHS])
    due_date = models.DateField()
    window_opens = models.DateField()
    window_closes = models.DateField()

    # On the due date: the patient is emailed the questionnaire link (follow_up_due).
    invite_at = models.DateTimeField()
    invited_at = models.DateTimeField(null=True, blank=True)
    # Due + 7 days, if unanswered: the patient is reminded (follow_up_reminder).
    remind_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Due + 14 days, if unanswered: the coordinators are alerted (follow_up_overdue).
    overdue_at = models.DateTimeField()
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)
    # The end of `window_closes` (local): unanswered by then, the review is missed.
    closes_at = models.DateTimeField()
    missed_at = models.DateTimeField(null=True, blank=True)
    # The first answer's time; corrections are later versions of `answers`.
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "months"]
        constraints = [
            models.UniqueConstraint(fields=["application", "months"], name="one_review_per_point"),
            models.CheckConstraint(
                condition=models.Q(answered_at__isnull=True) | models.Q(missed_at__isnull=True),
                name="review_answered_or_missed_not_both",
            ),
        ]
        # The follow-up sweeps (workflow.services.aftercare_sweeps), one per step, each reads only the
        # rows still waiting for that step.
        indexes = [
            models.Index(
                fields=["invite_at"],
                condition=models.Q(invited_at__isnull=True, answered_at__isnull=True, missed_at__isnull=True),
                name="reviews_to_invite",
            ),
            models.Index(
                fields=["remind_at"],
                condition=models.Q(reminded_at__isnull=True, answered_at__isnull=True, missed_at__isnull=True),
                name="reviews_to_remind",
            ),
            models.Index(
                fields=["overdue_at"],
                condition=models.Q(overdue_alerted_at__isnull=True, answered_at__isnull=True, missed_at__isnull=True),
                name="reviews_to_alert_overdue",
            ),
            models.Index(
                fields=["closes_at"],
                condition=models.Q(answered_at__isnull=True, missed_at__isnull=True),
                name="reviews_to_close",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.months}-month review due {self.due_date}"

    @property
    def status(self) -> str:
        """`answered`, `missed` or `pending` (not answered yet, its window not closed)."""
        if self.answered_at is not None:
            return "answered"
        if self.missed_at is not None:
            return "missed"
        return "pending"


class AppendOnlyAnswerQuerySet(models.QuerySet["QuestionnaireAnswer"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Questionnaire answers are append-only: a correction is a new version.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Questionnaire answers are append-only.")


class QuestionnaireAnswer(models.Model):
    """One version of a review's answer; a correction is a new version, the old one stays."""

    class OverallChange(models.IntegerChoices):
        VERY_MUCH_WORSE = -3, _("Very much worse")
        MUCH_WORSE = -2, _("Much worse")
        A_LITTLE_WORSE = -1, _("A little worse")
        NO_CHANGE = 0, _("No change")
        A_LITTLE_BETTER = 1, _("A little better")
        MUCH_BETTER = 2, _("Much better")
        VERY_MUCH_BETTER = 3, _("Very much better")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        PHONE = "phone", _("Phone")

    review = models.ForeignKey(FollowUpReview, on_delete=models.PROTECT, related_name="answers")
    version = models.PositiveSmallIntegerField()
    overall_change = models.SmallIntegerField(choices=OverallChange.choices)
    fatigue = models.PositiveSmallIntegerField()
    joint_pain = models.PositiveSmallIntegerField()
    flares = models.PositiveSmallIntegerField()
    current_medications = models.TextField(blank=True)
    comments = models.TextField(blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # Null when the patient answered in the portal.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()

    objects = AppendOnlyAnswerQuerySet.as_manager()

    class Meta:
        ordering = ["review", "version"]
        constraints = [
            models.UniqueConstraint(fields=["review", "version"], name="one_answer_per_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="answer_version_from_one"),
            models.CheckConstraint(
                condition=models.Q(overall_change__gte=-3, overall_change__lte=3), name="overall_change_on_scale"
            ),
            models.CheckConstraint(condition=models.Q(fatigue__lte=10), name="fatigue_on_scale"),
            models.CheckConstraint(condition=models.Q(joint_pain__lte=10), name="joint_pain_on_scale"),
        ]

    def __str__(self) -> str:
        return f"answer v{self.version} to {self.review}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Questionnaire answers are append-only: a correction is a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Questionnaire answers are append-only.")
