from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offices import calendar as calendar_module
from offices.calendar import WorkingCalendar
from offices.models import CalendarOverride, Office

MICROSECOND = timedelta(microseconds=1)


def delhi_calendar(overrides: Mapping[date, str] | None = None) -> WorkingCalendar:
    return WorkingCalendar(
        timezone="Asia/Kolkata",
        working_weekdays=range(6),
        opens_at=time(9, 30),
        closes_at=time(18, 30),
        holiday_country="IN",
        holiday_subdivision="DL",
        overrides=overrides,
    )


def europe_calendar(overrides: Mapping[date, str] | None = None) -> WorkingCalendar:
    return WorkingCalendar(
        timezone="Europe/Berlin",
        working_weekdays=range(5),
        opens_at=time(9, 0),
        closes_at=time(17, 0),
        holiday_country="DE",
        overrides=overrides,
    )


DELHI = delhi_calendar()
EUROPE = europe_calendar()


def local(cal: WorkingCalendar, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=cal.tz)


# SPEC §2 worked examples


@pytest.mark.parametrize(
    ("office", "received", "due"),
    [
        ("delhi", (2026, 11, 23, 10, 0), (2026, 11, 26, 10, 0)),
        ("delhi", (2026, 11, 28, 20, 0), (2026, 12, 1, 18, 30)),
        ("europe", (2026, 12, 18, 16, 0), (2026, 12, 22, 16, 0)),
        ("europe", (2026, 11, 20, 9, 0), (2026, 11, 23, 17, 0)),
    ],
)
def test_it_reproduces_every_worked_example_of_the_spec(office, received, due):
    cal = DELHI if office == "delhi" else EUROPE
    result = cal.deadline(local(cal, *received), 2)
    assert result == local(cal, *due)
    assert result.tzinfo is UTC
    assert cal.working_time(local(cal, *received), result) == 2 * cal.daily_hours


def test_it_skips_the_delhi_public_holiday():
    assert DELHI.holiday_name(date(2026, 11, 24)) == "Guru Nanak's Birthday"
    assert not DELHI.is_working_date(date(2026, 11, 24))
    assert DELHI.opening_interval(date(2026, 11, 24)) is None


def test_it_ends_a_budget_that_runs_out_at_closing_at_that_closing_time():
    due = EUROPE.deadline(local(EUROPE, 2026, 11, 20, 9), 2)
    assert due == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert not EUROPE.is_open(due)


def test_it_returns_the_start_in_utc_for_a_zero_budget():
    start = local(EUROPE, 2026, 11, 21, 3)  # a Saturday night: zero budget does not move to the opening
    assert EUROPE.deadline(start, 0) == start
    assert EUROPE.deadline(start, 0).tzinfo is UTC


def test_it_rejects_a_negative_budget():
    with pytest.raises(ValueError, match="negative"):
        EUROPE.deadline(local(EUROPE, 2026, 11, 20, 9), -1)
    with pytest.raises(ValueError, match="negative"):
        EUROPE.add_working_time(local(EUROPE, 2026, 11, 20, 9), -MICROSECOND)


# Overrides


def test_a_closed_override_pushes_the_deadline_by_a_day_and_leaves_its_neighbours_alone():
    cal = europe_calendar({date(2026, 11, 23): "closed"})
    assert not cal.is_working_date(date(2026, 11, 23))
    assert cal.is_working_date(date(2026, 11, 20))
    assert cal.is_working_date(date(2026, 11, 24))
    assert not cal.is_working_date(date(2026, 11, 22))
    # Across the closure: one day later than without it.
    assert cal.deadline(local(cal, 2026, 11, 20, 9), 2) == local(cal, 2026, 11, 24, 17)
    # Budgets that end before it, or start after it, are unchanged.
    assert cal.deadline(local(cal, 2026, 11, 19, 9), 2) == EUROPE.deadline(local(cal, 2026, 11, 19, 9), 2)
    assert cal.deadline(local(cal, 2026, 11, 24, 9), 2) == EUROPE.deadline(local(cal, 2026, 11, 24, 9), 2)
    assert cal.deadline(local(cal, 2026, 11, 24, 9), 2) == local(cal, 2026, 11, 25, 17)


def test_a_closed_override_in_delhi_moves_the_reply_to_the_next_working_day():
    cal = delhi_calendar({date(2026, 11, 25): "closed"})
    assert cal.deadline(local(cal, 2026, 11, 23, 10), 2) == local(cal, 2026, 11, 27, 10)
    assert cal.is_working_date(date(2026, 11, 26))


def test_an_open_override_makes_a_public_holiday_count():
    cal = delhi_calendar({date(2026, 11, 24): "open"})
    assert cal.is_working_date(date(2026, 11, 24))
    assert cal.holiday_name(date(2026, 11, 24)) == "Guru Nanak's Birthday"
    assert cal.deadline(local(cal, 2026, 11, 23, 10), 2) == local(cal, 2026, 11, 25, 10)
    assert cal.is_working_date(date(2026, 11, 23))
    assert cal.is_working_date(date(2026, 11, 25))
    assert not cal.is_working_date(date(2026, 11, 22))


def test_an_open_override_makes_a_sunday_count_but_not_the_saturday_before():
    cal = europe_calendar({date(2026, 11, 22): "open"})
    assert cal.deadline(local(cal, 2026, 11, 20, 9), 2) == local(cal, 2026, 11, 22, 17)
    assert not cal.is_working_date(date(2026, 11, 21))
    assert cal.working_time(local(cal, 2026, 11, 21, 0), local(cal, 2026, 11, 23, 0)) == timedelta(hours=8)


def test_it_rejects_an_unknown_override_kind():
    with pytest.raises(ValueError, match="override"):
        europe_calendar({date(2026, 11, 22): "maybe"})


# Daylight saving in the Europe office


def test_a_working_day_is_eight_hours_on_both_sides_of_the_spring_change():
    assert EUROPE.opening_interval(date(2026, 3, 27)) == (
        datetime(2026, 3, 27, 8, tzinfo=UTC),
        datetime(2026, 3, 27, 16, tzinfo=UTC),
    )
    assert EUROPE.opening_interval(date(2026, 3, 30)) == (
        datetime(2026, 3, 30, 7, tzinfo=UTC),
        datetime(2026, 3, 30, 15, tzinfo=UTC),
    )
    monday = EUROPE.working_time(local(EUROPE, 2026, 3, 30, 0), local(EUROPE, 2026, 3, 31, 0))
    assert monday == timedelta(hours=8)


def test_a_deadline_across_the_spring_change_lands_on_summer_wall_clock_time():
    start = local(EUROPE, 2026, 3, 27, 16)
    due = EUROPE.deadline(start, 2)
    assert due == datetime(2026, 3, 31, 14, tzinfo=UTC)
    assert due.astimezone(EUROPE.tz).replace(tzinfo=None).isoformat() == "2026-03-31T16:00:00"
    assert due.astimezone(EUROPE.tz).utcoffset() == timedelta(hours=2)
    assert start.utcoffset() == timedelta(hours=1)
    assert EUROPE.working_time(start, due) == timedelta(hours=16)


def test_a_deadline_across_the_autumn_change_lands_on_winter_wall_clock_time():
    start = local(EUROPE, 2026, 10, 23, 16)
    due = EUROPE.deadline(start, 2)
    assert due == datetime(2026, 10, 27, 15, tzinfo=UTC)
    assert due.astimezone(EUROPE.tz).utcoffset() == timedelta(hours=1)
    assert start.utcoffset() == timedelta(hours=2)
    full_week = EUROPE.working_time(local(EUROPE, 2026, 10, 19, 0), local(EUROPE, 2026, 10, 31, 0))
    assert full_week == timedelta(hours=8 * 10)


# Year boundaries


def test_christmas_eve_is_a_working_day_in_europe_but_christmas_and_new_year_are_not():
    assert EUROPE.is_working_date(date(2026, 12, 24))
    assert EUROPE.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert EUROPE.holiday_name(date(2026, 12, 26)) == "Second Day of Christmas"
    assert EUROPE.is_working_date(date(2026, 12, 31))
    assert EUROPE.holiday_name(date(2027, 1, 1)) == "New Year's Day"
    assert not EUROPE.is_working_date(date(2027, 1, 1))


def test_a_deadline_from_christmas_eve_skips_christmas_and_the_weekend():
    assert EUROPE.deadline(local(EUROPE, 2026, 12, 24, 10), 2) == local(EUROPE, 2026, 12, 29, 10)


def test_a_deadline_crosses_new_year_into_the_next_years_holidays():
    assert EUROPE.deadline(local(EUROPE, 2026, 12, 30, 12), 2) == local(EUROPE, 2027, 1, 4, 12)


def test_a_delhi_deadline_crosses_new_year():
    # 1 Jan 2027 is a Friday and no Delhi holiday; Saturday works in Delhi.
    assert DELHI.deadline(local(DELHI, 2026, 12, 31, 10), 2) == local(DELHI, 2027, 1, 2, 10)


# Opening hours


def test_it_is_open_at_opening_time_and_closed_at_closing_time():
    assert EUROPE.is_open(local(EUROPE, 2026, 11, 23, 9))
    assert not EUROPE.is_open(local(EUROPE, 2026, 11, 23, 9) - MICROSECOND)
    assert EUROPE.is_open(local(EUROPE, 2026, 11, 23, 17) - MICROSECOND)
    assert not EUROPE.is_open(local(EUROPE, 2026, 11, 23, 17))
    assert not EUROPE.is_open(local(EUROPE, 2026, 11, 22, 12))  # Sunday
    assert not DELHI.is_open(local(DELHI, 2026, 11, 24, 12))  # holiday


def test_it_answers_is_open_for_an_instant_given_in_another_zone():
    assert DELHI.is_open(datetime(2026, 11, 23, 4, 0, tzinfo=UTC))  # 09:30 in Delhi
    assert not DELHI.is_open(datetime(2026, 11, 23, 3, 59, tzinfo=UTC))


def test_next_opening_is_the_instant_itself_inside_hours():
    inside = local(EUROPE, 2026, 11, 23, 12, 34)
    assert EUROPE.next_opening(inside) == inside
    assert EUROPE.next_opening(inside).tzinfo is UTC


def test_next_opening_before_hours_is_the_same_days_opening():
    assert EUROPE.next_opening(local(EUROPE, 2026, 11, 23, 6)) == local(EUROPE, 2026, 11, 23, 9)


def test_next_opening_after_hours_is_the_next_working_days_opening():
    assert EUROPE.next_opening(local(EUROPE, 2026, 11, 23, 17)) == local(EUROPE, 2026, 11, 24, 9)
    assert EUROPE.next_opening(local(EUROPE, 2026, 11, 20, 18)) == local(EUROPE, 2026, 11, 23, 9)


def test_next_opening_on_a_holiday_skips_it():
    assert DELHI.next_opening(local(DELHI, 2026, 11, 24, 8)) == local(DELHI, 2026, 11, 25, 9, 30)


def test_working_time_adds_up_over_several_days():
    start = local(EUROPE, 2026, 11, 16, 12)  # Monday noon
    end = local(EUROPE, 2026, 11, 19, 10)  # Thursday 10:00
    assert EUROPE.working_time(start, end) == timedelta(hours=5 + 8 + 8 + 1)


def test_working_time_over_a_week_with_a_holiday_in_delhi():
    start = local(DELHI, 2026, 11, 22, 0)  # Sunday
    end = local(DELHI, 2026, 11, 29, 0)  # the next Sunday
    assert DELHI.working_time(start, end) == 5 * timedelta(hours=9)


def test_working_time_is_zero_when_the_end_is_not_after_the_start():
    start = local(EUROPE, 2026, 11, 23, 12)
    assert EUROPE.working_time(start, start) == timedelta()
    assert EUROPE.working_time(start, start - timedelta(hours=1)) == timedelta()


def test_it_rejects_naive_datetimes():
    naive = local(EUROPE, 2026, 11, 23, 12).replace(tzinfo=None)
    aware = local(EUROPE, 2026, 11, 23, 12)
    for call in (
        lambda: EUROPE.is_open(naive),
        lambda: EUROPE.next_opening(naive),
        lambda: EUROPE.working_time(naive, aware),
        lambda: EUROPE.working_time(aware, naive),
        lambda: EUROPE.add_working_time(naive, timedelta()),
        lambda: EUROPE.deadline(naive, 2),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_a_calendar_with_no_working_dates_fails_instead_of_looping():
    cal = WorkingCalendar(
        timezone="UTC", working_weekdays=[], opens_at=time(9), closes_at=time(17), holiday_country="DE"
    )
    with pytest.raises(ValueError, match="no working dates"):
        cal.deadline(datetime(2026, 1, 1, tzinfo=UTC), 1)
    with pytest.raises(ValueError, match="no working dates"):
        cal.next_opening(datetime(2026, 1, 1, tzinfo=UTC))


def test_it_rejects_hours_that_close_before_they_open():
    with pytest.raises(ValueError, match="close after it opens"):
        WorkingCalendar(
            timezone="UTC", working_weekdays=[0], opens_at=time(17), closes_at=time(9), holiday_country="DE"
        )


def test_it_builds_the_holidays_of_a_year_once():
    calendar_module._public_holidays.cache_clear()
    for day in range(1, 29):
        EUROPE.is_working_date(date(2026, 2, day))
    assert calendar_module._public_holidays.cache_info().misses == 1


# Closures


def test_closures_list_the_delhi_holiday_and_an_office_closure_but_not_sundays():
    cal = delhi_calendar({date(2026, 11, 27): "closed", date(2026, 11, 29): "closed"})
    # Diwali (8 Nov 2026) falls on a Sunday, an ordinary day off, so it is not a closure.
    assert cal.holiday_name(date(2026, 11, 8)) == "Diwali"
    assert cal.closures(date(2026, 11, 1), date(2026, 11, 30)) == [
        (date(2026, 11, 24), "Guru Nanak's Birthday"),
        (date(2026, 11, 27), "Office closure"),
    ]


def test_closures_include_both_ends_of_the_range():
    assert DELHI.closures(date(2026, 11, 24), date(2026, 11, 24)) == [(date(2026, 11, 24), "Guru Nanak's Birthday")]
    assert DELHI.closures(date(2026, 11, 25), date(2026, 11, 24)) == []


def test_closures_leave_out_a_holiday_opened_by_an_override():
    cal = delhi_calendar({date(2026, 11, 24): "open"})
    assert cal.closures(date(2026, 11, 1), date(2026, 11, 30)) == []


def test_closures_over_christmas_in_europe_skip_the_saturday_holiday():
    assert EUROPE.closures(date(2026, 12, 20), date(2027, 1, 3)) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 1, 1), "New Year's Day"),
    ]


# Built from the database


@pytest.mark.django_db
def test_an_office_builds_its_calendar_with_its_overrides_in_one_query(django_assert_num_queries):
    office = Office.objects.create(
        code="calendar-test",
        name="Calendar test",
        timezone="Europe/Berlin",
        working_weekdays=[0, 1, 2, 3, 4],
        opens_at=time(9),
        closes_at=time(17),
        holiday_country="DE",
        currency="EUR",
        email="calendar-test@clinic.example",
    )
    CalendarOverride.objects.create(office=office, date=date(2026, 11, 23), kind="closed")
    CalendarOverride.objects.create(office=office, date=date(2026, 11, 22), kind="open")
    with django_assert_num_queries(1):
        cal = office.calendar()
    assert cal.tz.key == "Europe/Berlin"
    assert cal.daily_hours == timedelta(hours=8)
    assert not cal.is_working_date(date(2026, 11, 23))
    assert cal.is_working_date(date(2026, 11, 22))


# Properties

RANGE_START = datetime(2025, 1, 1, tzinfo=UTC)
RANGE_MICROSECONDS = (datetime(2029, 1, 1, tzinfo=UTC) - RANGE_START) // MICROSECOND
instants = st.integers(0, RANGE_MICROSECONDS).map(lambda offset: RANGE_START + offset * MICROSECOND)
calendars = st.sampled_from([DELHI, EUROPE])
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, days=st.integers(0, 5))
def test_the_working_time_up_to_a_deadline_is_exactly_the_budget(cal, start, days):
    assert cal.working_time(start, cal.deadline(start, days)) == days * cal.daily_hours


@PROPERTY_SETTINGS
@given(cal=calendars, first=instants, second=instants, days=st.integers(0, 5))
def test_a_later_start_never_gives_an_earlier_deadline(cal, first, second, days):
    earlier, later = sorted((first, second))
    assert cal.deadline(earlier, days) <= cal.deadline(later, days)


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants, days=st.integers(1, 5))
def test_a_deadline_is_reached_while_the_office_is_open(cal, start, days):
    # The deadline itself may be a closing time (not open), but the budget is only ever used up
    # while the office is open, so the instant just before it is open: T is the earliest such instant.
    due = cal.deadline(start, days)
    assert cal.is_open(due - MICROSECOND)
    assert cal.working_time(start, due - MICROSECOND) < days * cal.daily_hours
    assert due > start


@PROPERTY_SETTINGS
@given(cal=calendars, start=instants)
def test_next_opening_is_open_and_no_working_time_passes_before_it(cal, start):
    opening = cal.next_opening(start)
    assert opening >= start
    assert cal.is_open(opening)
    assert cal.working_time(start, opening) == timedelta()


def working_time_day_by_day(cal: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """The definition: each local date's opening interval clipped to [start, end], summed."""
    if end <= start:
        return timedelta()
    total = timedelta()
    day, last = start.astimezone(cal.tz).date(), end.astimezone(cal.tz).date()
    while day <= last:
        interval = cal.opening_interval(day)
        if interval is not None:
            total += max(min(interval[1], end) - max(interval[0], start), timedelta())
        day += timedelta(days=1)
    return total


@PROPERTY_SETTINGS
@given(
    fresh=st.booleans(),
    europe=st.booleans(),
    spans=st.lists(st.tuples(instants, instants), min_size=1, max_size=8),
)
def test_the_working_time_by_running_sums_is_the_day_by_day_sum(fresh, europe, spans):
    # A calendar answers many spans (a queue page's rows); later spans may start long before the
    # earlier ones, which moves the running sums' anchor back.
    if fresh:
        cal = europe_calendar({date(2026, 12, 24): "closed"}) if europe else delhi_calendar({date(2026, 3, 7): "open"})
    else:
        cal = EUROPE if europe else DELHI
    for start, end in spans:
        assert cal.working_time(start, end) == working_time_day_by_day(cal, start, end)
