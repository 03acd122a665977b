from __future__ import annotations

import zoneinfo
from datetime import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

if TYPE_CHECKING:
    from offices.calendar import WorkingCalendar

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


def validate_weekdays(value: object) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(not isinstance(day, int) or not 0 <= day <= 6 for day in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError("Working days are a list of distinct weekday numbers, 0 (Mon) to 6 (Sun).")


class Office(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    # ISO weekday numbers as Python counts them: 0 is Monday.
    working_weekdays = models.JSONField(default=list, validators=[validate_weekdays])
    opens_at = models.TimeField(default=time(9, 0))
    closes_at = models.TimeField(default=time(17, 0))
    holiday_country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, as the holidays package knows it.")
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3)
    reply_sla_days = models.PositiveSmallIntegerField(default=2)
    email = models.EmailField(help_text="Sender and reply-to address of the office's emails.")
    address = models.TextField(
        blank=True, help_text="Postal address, one line per line: the place of the treatment in calendar invitations."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.opens_at is not None and self.closes_at is not None and self.opens_at >= self.closes_at:
            raise ValidationError({"closes_at": "The office must close after it opens."})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def working_days_label(self) -> str:
        return ", ".join(WEEKDAY_NAMES[day] for day in sorted(self.working_weekdays))

    def calendar(self) -> WorkingCalendar:
        from offices.calendar import WorkingCalendar

        return WorkingCalendar.for_office(self)


class CalendarOverride(models.Model):
    """One date on which an office departs from its usual calendar."""

    class Kind(models.TextChoices):
        CLOSED = "closed", "Closed (office closure)"
        OPEN = "open", "Open (working on a public holiday or day off)"

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()
    kind = models.CharField(max_length=6, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["office", "date"]
        constraints = [models.UniqueConstraint(fields=["office", "date"], name="one_override_per_office_date")]

    def __str__(self) -> str:
        return f"{self.office.code} {self.date:%Y-%m-%d} {self.kind}"


class Membership(models.Model):
    """A staff member's role in one office; a person may belong to both offices."""

    class Role(models.TextChoices):
        COORDINATOR = "coordinator", "Coordinator"
        PHYSICIAN = "physician", "Physician"
        MANAGER = "manager", "Manager"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        ordering = ["office", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "office"], name="one_membership_per_office")]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} at {self.office.code}"


class CalendarChange(models.Model):
    """A change to an office's calendar and how many open deadlines it moved (SPEC §2)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="calendar_changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.CharField(max_length=300)
    obligations_recomputed = models.PositiveIntegerField(default=0)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.office.code}: {self.description}"
