"""Deadline arithmetic: working hours, nights, weekends, holidays, make-up days, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityos.governance.deadlines import (
    DeadlineRule,
    Deadlines,
    WallClock,
    WorkingCalendar,
)
from cityos.governance.model import Priority, Stage

SHANGHAI = ZoneInfo("Asia/Shanghai")
WARSAW = ZoneInfo("Europe/Warsaw")
WEEKDAYS = range(5)
NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 8)]
MAKE_UP_SATURDAY = date(2026, 10, 10)

OFFICE = WorkingCalendar(
    "Asia/Shanghai", time(9), time(18), WEEKDAYS, NATIONAL_DAY, [MAKE_UP_SATURDAY]
)
WARSAW_OFFICE = WorkingCalendar(WARSAW, time(9), time(18), WEEKDAYS)
NIGHT_SHIFT = WorkingCalendar(WARSAW, time(0), time(6), range(7))
"""Works through the hours in which Europe changes its clocks."""


def cst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # 2026-09-15 is a Tuesday.
        (cst(2026, 9, 15, 10), h(2), cst(2026, 9, 15, 12)),
        (cst(2026, 9, 15, 9), h(9), cst(2026, 9, 15, 18)),  # ends at closing, not next day
        (cst(2026, 9, 15, 17), h(2), cst(2026, 9, 16, 10)),  # across a night
        (cst(2026, 9, 15, 7), timedelta(minutes=30), cst(2026, 9, 15, 9, 30)),  # early start
        (cst(2026, 9, 15, 20), timedelta(0), cst(2026, 9, 16, 9)),  # late start
        (cst(2026, 9, 15, 18), h(1), cst(2026, 9, 16, 10)),  # at closing time
        (cst(2026, 9, 18, 17, 30), h(1), cst(2026, 9, 21, 9, 30)),  # Friday → Monday
        (cst(2026, 9, 19, 12), h(1), cst(2026, 9, 21, 10)),  # reported on a Saturday
        (cst(2026, 9, 15, 10), h(45), cst(2026, 9, 22, 10)),  # a working week
        (cst(2026, 9, 30, 17), h(2), cst(2026, 10, 8, 10)),  # across National Day
        (cst(2026, 10, 9, 17), h(2), cst(2026, 10, 10, 10)),  # into a make-up Saturday
        (cst(2026, 10, 3, 12), h(1), cst(2026, 10, 8, 10)),  # reported on a holiday
    ],
)
def test_working_calendar_adds_only_working_time(
    start: datetime, duration: timedelta, due: datetime
) -> None:
    result = OFFICE.add(start, duration)
    assert result == due
    assert result.tzinfo is UTC


def test_a_calendar_answers_in_utc_whatever_zone_it_is_given() -> None:
    start = datetime(2026, 9, 15, 2, tzinfo=UTC)  # 10:00 in Shanghai
    assert OFFICE.add(start, h(2)) == datetime(2026, 9, 15, 4, tzinfo=UTC)
    assert OFFICE.add(start.astimezone(WARSAW), h(2)) == datetime(2026, 9, 15, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "worked"),
    [
        (cst(2026, 9, 15, 10), cst(2026, 9, 15, 12), h(2)),
        (cst(2026, 9, 15, 17), cst(2026, 9, 16, 10), h(2)),
        (cst(2026, 9, 18, 17), cst(2026, 9, 21, 10), h(2)),
        (cst(2026, 9, 19, 8), cst(2026, 9, 20, 23), h(0)),  # a weekend
        (cst(2026, 9, 30, 9), cst(2026, 10, 9, 0), h(9 + 9)),  # 30 Sept and 8 Oct
        (cst(2026, 10, 10, 0), cst(2026, 10, 11, 0), h(9)),  # the make-up Saturday
        (cst(2026, 9, 16, 10), cst(2026, 9, 15, 17), -h(2)),  # backwards
        (cst(2026, 9, 15, 10), cst(2026, 9, 15, 10), h(0)),
    ],
)
def test_working_time_counts_only_working_hours(
    start: datetime, end: datetime, worked: timedelta
) -> None:
    assert OFFICE.working_time(start, end) == worked


def test_working_days_and_weeks() -> None:
    assert OFFICE.day == h(9)
    assert OFFICE.week == h(45)
    assert OFFICE.is_working_day(date(2026, 9, 15))
    assert not OFFICE.is_working_day(date(2026, 9, 19))
    assert not OFFICE.is_working_day(date(2026, 10, 1))
    assert OFFICE.is_working_day(MAKE_UP_SATURDAY)
    assert WallClock().day == h(24)
    assert WallClock().week == h(168)


def test_office_hours_follow_the_clocks_when_they_change() -> None:
    # Spring: Friday 27 March 2026 17:00 CET; the clocks go forward on Sunday 29 March.
    start = datetime(2026, 3, 27, 17, tzinfo=WARSAW)
    due = WARSAW_OFFICE.add(start, h(2))
    assert due == datetime(2026, 3, 30, 10, tzinfo=WARSAW)
    assert due == datetime(2026, 3, 30, 8, tzinfo=UTC)
    # Autumn: back on Sunday 25 October 2026.
    start = datetime(2026, 10, 23, 17, tzinfo=WARSAW)
    assert WARSAW_OFFICE.add(start, h(2)) == datetime(2026, 10, 26, 9, tzinfo=UTC)
    assert WARSAW_OFFICE.working_time(start, datetime(2026, 10, 26, 10, tzinfo=WARSAW)) == h(2)


def test_working_time_is_real_time_across_a_clock_change() -> None:
    def night(day: int, month: int) -> timedelta:
        return NIGHT_SHIFT.working_time(
            datetime(2026, month, day, tzinfo=WARSAW), datetime(2026, month, day, 12, tzinfo=WARSAW)
        )

    assert night(28, 3) == h(6)
    assert night(29, 3) == h(5)  # 02:00 became 03:00
    assert night(25, 10) == h(7)  # 03:00 became 02:00 again
    # Four real hours from midnight of the spring change end at 05:00 on the new clock.
    start = datetime(2026, 3, 29, tzinfo=WARSAW)
    assert NIGHT_SHIFT.add(start, h(4)) == datetime(2026, 3, 29, 5, tzinfo=WARSAW)


def test_the_wall_clock_counts_every_moment() -> None:
    clock = WallClock()
    start = cst(2026, 9, 19, 23)
    assert clock.add(start, h(2)) == datetime(2026, 9, 19, 17, tzinfo=UTC)
    assert clock.add(start, h(2)).tzinfo is UTC
    assert clock.working_time(start, cst(2026, 9, 20, 1)) == h(2)
    assert clock.working_time(cst(2026, 9, 20, 1), start) == -h(2)


@pytest.mark.parametrize("clock", [OFFICE, WallClock()], ids=["calendar", "wall"])
def test_clocks_refuse_naive_times_and_negative_durations(
    clock: WorkingCalendar | WallClock,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.add(datetime(2026, 9, 15, 10), h(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.working_time(cst(2026, 9, 15, 10), datetime(2026, 9, 15, 12))
    with pytest.raises(ValueError, match="negative"):
        clock.add(cst(2026, 9, 15, 10), -h(1))


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"start": time(18), "end": time(9)}, "end after they start"),
        ({"start": time(9), "end": time(9)}, "end after they start"),
        ({"days": []}, "at least one"),
        ({"days": [7]}, "weekdays 0"),
        ({"start": time(9, tzinfo=UTC)}, "local times"),
    ],
)
def test_a_calendar_refuses_impossible_hours(kwargs: dict[str, object], problem: str) -> None:
    arguments: dict[str, object] = {
        "timezone": "Asia/Shanghai",
        "start": time(9),
        "end": time(18),
        "days": WEEKDAYS,
    }
    with pytest.raises(ValueError, match=problem):
        WorkingCalendar(**{**arguments, **kwargs})  # type: ignore[arg-type]


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@pytest.mark.parametrize("calendar", [OFFICE, WARSAW_OFFICE, NIGHT_SHIFT])
@given(start=moments, duration=durations)
def test_adding_working_time_then_measuring_it_gives_it_back(
    calendar: WorkingCalendar, start: datetime, duration: timedelta
) -> None:
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.working_time(start, due) == duration


@pytest.mark.parametrize("calendar", [OFFICE, NIGHT_SHIFT])
@given(start=moments, end=moments)
def test_measuring_then_adding_reaches_the_end_or_the_last_closing_before_it(
    calendar: WorkingCalendar, start: datetime, end: datetime
) -> None:
    worked = calendar.working_time(start, end)
    assert worked == -calendar.working_time(end, start)
    if worked > timedelta(0):
        reached = calendar.add(start, worked)
        assert reached <= end
        assert calendar.working_time(reached, end) == timedelta(0)


# -- deadline policies -----------------------------------------------------------------------

DEFAULT = {Stage.ACCEPT: h(2), Stage.DISPATCH: h(4), Stage.RESOLVE: h(45)}
DEADLINES = Deadlines(
    DEFAULT,
    [
        DeadlineRule(
            {Stage.ACCEPT: timedelta(minutes=15), Stage.RESOLVE: h(24)},
            priorities=frozenset({Priority.URGENT}),
            round_the_clock=True,
        ),
        DeadlineRule(
            {Stage.ACCEPT: h(1), Stage.DISPATCH: h(1), Stage.RESOLVE: h(9)},
            categories=frozenset({"pothole"}),
            priorities=frozenset({Priority.HIGH, Priority.URGENT}),
        ),
        DeadlineRule({Stage.RESOLVE: h(27)}, categories=frozenset({"pothole"})),
    ],
    OFFICE,
)


@pytest.mark.parametrize(
    ("category", "priority", "policy"),
    [
        ("noise", Priority.NORMAL, (h(2), h(4), h(45))),
        ("pothole", Priority.NORMAL, (h(2), h(4), h(27))),
        ("pothole", Priority.HIGH, (h(1), h(1), h(9))),
        # Each stage from the first rule that sets it: dispatch comes from the pothole rule.
        ("pothole", Priority.URGENT, (timedelta(minutes=15), h(1), h(24))),
        ("noise", Priority.URGENT, (timedelta(minutes=15), h(4), h(24))),
    ],
)
def test_each_stage_takes_the_first_rule_that_sets_it(
    category: str, priority: Priority, policy: tuple[timedelta, ...]
) -> None:
    assert DEADLINES.policy(category, priority) == dict(zip(Stage, policy, strict=True))


def test_due_counts_on_the_calendar_unless_a_rule_runs_round_the_clock() -> None:
    saturday_night = cst(2026, 9, 19, 22)
    normal = DEADLINES.due(Stage.ACCEPT, "noise", Priority.NORMAL, saturday_night)
    assert normal == cst(2026, 9, 21, 11)
    urgent = DEADLINES.due(Stage.ACCEPT, "noise", Priority.URGENT, saturday_night)
    assert urgent == cst(2026, 9, 19, 22, 15)
    # The urgent rule sets no dispatch: that comes from the default, on the calendar.
    dispatch = DEADLINES.due(Stage.DISPATCH, "noise", Priority.URGENT, saturday_night)
    assert dispatch == cst(2026, 9, 21, 13)


def test_without_a_calendar_deadlines_run_on_the_wall_clock() -> None:
    deadlines = Deadlines(DEFAULT)
    start = cst(2026, 9, 19, 22)
    assert deadlines.due(Stage.ACCEPT, "noise", Priority.LOW, start) == start + h(2)


def test_the_default_must_cover_every_stage() -> None:
    with pytest.raises(ValueError, match="lack resolve"):
        Deadlines({Stage.ACCEPT: h(1), Stage.DISPATCH: h(1)})
