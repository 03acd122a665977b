"""Working calendars of the offices (SPEC §2): opening hours, working dates and working-time deadlines."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:
    from offices.models import Office

CLOSED = "closed"
OPEN = "open"
OFFICE_CLOSURE = "Office closure"
# A calendar whose next working date is further away than this is broken, not merely sparse.
MAX_SCAN_DAYS = 3 * 366
# Holiday names end up in the API; pin the language so they do not follow the server's locale.
HOLIDAY_LANGUAGE = "en_US"
ONE_DAY = timedelta(days=1)


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str, year: int) -> holidays.HolidayBase:
    # expand=False keeps the cached object immutable: a lookup outside `year` must not grow it.
    return holidays.country_holidays(
        country, subdiv=subdivision or None, years=year, expand=False, language=HOLIDAY_LANGUAGE
    )


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} has no time zone; pass an aware datetime")


class WorkingCalendar:
    """One office's calendar. Every datetime it returns is aware and in UTC."""

    def __init__(
        self,
        *,
        timezone: str,
        working_weekdays: Iterable[int],
        opens_at: time,
        closes_at: time,
        holiday_country: str,
        holiday_subdivision: str = "",
        overrides: Mapping[date, str] | None = None,
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.working_weekdays = frozenset(working_weekdays)
        if not self.working_weekdays <= set(range(7)):
            raise ValueError(f"working weekdays must be 0 (Mon) to 6 (Sun), got {sorted(self.working_weekdays)}")
        if opens_at >= closes_at:
            raise ValueError("the office must close after it opens")
        self.opens_at = opens_at
        self.closes_at = closes_at
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        self.overrides: dict[date, str] = dict(overrides or {})
        unknown = {kind for kind in self.overrides.values() if kind not in (CLOSED, OPEN)}
        if unknown:
            raise ValueError(f"unknown override kinds: {sorted(unknown)}")
        # Local date -> its opening interval: a page of the queue asks for the same few dates fifty times.
        self._intervals: dict[date, tuple[datetime, datetime] | None] = {}
        # `_opening_until`: running[i] is the opening time of the dates anchor + 1 … anchor + i.
        self._anchor: date | None = None
        self._running: list[timedelta] = []

    @classmethod
    def for_office(cls, office: Office, *, overrides: Mapping[date, str] | None = None) -> WorkingCalendar:
        """The office's calendar; `overrides` (date -> kind), when given, stand for the office's own, already read."""
        return cls(
            timezone=office.timezone,
            working_weekdays=office.working_weekdays,
            opens_at=office.opens_at,
            closes_at=office.closes_at,
            holiday_country=office.holiday_country,
            holiday_subdivision=office.holiday_subdivision,
            overrides=overrides
            if overrides is not None
            else {override.date: override.kind for override in office.overrides.all()},
        )

    @property
    def daily_hours(self) -> timedelta:
        """The nominal length of a working day; one working day of budget is this much working time."""
        return datetime.combine(date.min, self.closes_at) - datetime.combine(date.min, self.opens_at)

    # Dates

    def holiday_name(self, day: date) -> str | None:
        name: str | None = _public_holidays(self.holiday_country, self.holiday_subdivision, day.year).get(day)
        return name

    def is_working_date(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override == OPEN
        return day.weekday() in self.working_weekdays and self.holiday_name(day) is None

    def closures(self, start: date, end: date) -> list[tuple[date, str]]:
        """Dates in [start, end] that are usually working by weekday but closed, with the reason.

        Ordinary days off (weekends) are not closures, nor is a "closed" override on one.
        """
        result: list[tuple[date, str]] = []
        day = start
        while day <= end:
            if day.weekday() in self.working_weekdays and not self.is_working_date(day):
                result.append((day, self.holiday_name(day) or OFFICE_CLOSURE))
            day += ONE_DAY
        return result

    # Instants

    def opening_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The half-open UTC interval [opens, closes) of a local date, or None on a non-working date."""
        if day in self._intervals:
            return self._intervals[day]
        interval = None
        if self.is_working_date(day):
            # Combining in the office zone, then converting, is what makes daylight-saving days come out right.
            opens = datetime.combine(day, self.opens_at, tzinfo=self.tz).astimezone(UTC)
            closes = datetime.combine(day, self.closes_at, tzinfo=self.tz).astimezone(UTC)
            interval = (opens, closes)
        self._intervals[day] = interval
        return interval

    def _local_date(self, at: datetime) -> date:
        _require_aware(at)
        return at.astimezone(self.tz).date()

    def _intervals_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals of the working dates from `day` on, in order, without end."""
        idle_days = 0
        while True:
            interval = self.opening_interval(day)
            if interval is not None:
                idle_days = 0
                yield interval
            else:
                idle_days += 1
                if idle_days > MAX_SCAN_DAYS:
                    raise ValueError("calendar has no working dates")
            day += ONE_DAY

    def is_open(self, at: datetime) -> bool:
        """Opening time is inside the hours, closing time is not."""
        interval = self.opening_interval(self._local_date(at))
        return interval is not None and interval[0] <= at < interval[1]

    def next_opening(self, at: datetime) -> datetime:
        """The earliest instant at or after `at` at which the office is open: `at` itself if it is open."""
        for opens, closes in self._intervals_from(self._local_date(at)):
            if at < closes:
                return max(opens, at.astimezone(UTC))
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """The working time inside [start, end]; zero if end is not after start."""
        first, last = self._local_date(start), self._local_date(end)
        if end <= start:
            return timedelta()
        if first == last:
            return self._overlap(first, start, end)
        total = self._overlap(first, start, end) + self._overlap(last, start, end)
        if (last - first).days > 1:
            # The dates between lie wholly inside [start, end]: each counts its whole opening.
            # `first` before `last`: the lower end, if it moves the anchor back, does so before the upper.
            lower = self._opening_until(first)
            total += self._opening_until(last - ONE_DAY) - lower
        return total

    def _overlap(self, day: date, start: datetime, end: datetime) -> timedelta:
        interval = self.opening_interval(day)
        if interval is None:
            return timedelta()
        return max(min(interval[1], end) - max(interval[0], start), timedelta())

    def _opening_until(self, day: date) -> timedelta:
        """The opening time of the dates after an anchor up to and including `day` (a running sum).

        A queue page asks for the working time left of fifty rows whose deadlines lie days apart: the
        difference of two running sums costs two lookups, where walking the dates cost one per day.
        """
        if self._anchor is None or day < self._anchor:
            # Rebuilt from a month earlier: a rare step back (an old breach) is not paid per row.
            until = self._anchor + timedelta(days=len(self._running) - 1) if self._anchor is not None else day
            self._anchor, self._running = day - timedelta(days=31), [timedelta()]
            self._extend_running(until)
        self._extend_running(day)
        return self._running[(day - self._anchor).days]

    def _extend_running(self, day: date) -> None:
        assert self._anchor is not None  # noqa: S101 - set by the caller
        running = self._running
        next_day = self._anchor + timedelta(days=len(running))
        while next_day <= day:
            interval = self.opening_interval(next_day)
            running.append(running[-1] + (interval[1] - interval[0] if interval is not None else timedelta()))
            next_day += ONE_DAY

    def add_working_time(self, start: datetime, budget: timedelta) -> datetime:
        """The earliest instant T with working_time(start, T) == budget.

        Counting starts at the next opening when `start` is outside the hours; a budget that runs out
        exactly at closing time ends at that closing time. A zero budget returns `start`.
        """
        if budget < timedelta():
            raise ValueError("the budget of working time cannot be negative")
        _require_aware(start)
        start = start.astimezone(UTC)
        if budget == timedelta():
            return start
        remaining = budget
        for opens, closes in self._intervals_from(self._local_date(start)):
            if closes <= start:
                continue
            counted_from = max(opens, start)
            available = closes - counted_from
            if remaining <= available:
                return counted_from + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end of a budget of `working_days` working days started at `start` (SPEC §2)."""
        if working_days < 0:
            raise ValueError("the number of working days cannot be negative")
        return self.add_working_time(start, working_days * self.daily_hours)
