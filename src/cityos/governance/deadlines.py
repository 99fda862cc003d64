"""Deadlines: how long each stage of a case may take, counted on the city's clock.

A city promises to accept a report within two working hours, not two hours of a Sunday
night, so deadlines are counted in working time of a `WorkingCalendar`; emergencies run
round the clock on the `WallClock`. Working time is real elapsed time: a working day that
spans a daylight-saving change is an hour shorter or longer, as the people working it find.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from cityos.governance.model import Priority, Stage

_DAY = timedelta(days=1)


def _aware(moment: datetime, what: str) -> datetime:
    """`moment` in UTC; naive datetimes are refused, since their zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, not {moment.isoformat()}")
    return moment.astimezone(UTC)


class Clock(Protocol):
    """What deadlines are counted on."""

    @property
    def day(self) -> timedelta:
        """How much counted time a day in a deadline ("resolve in 5d") stands for."""
        ...

    @property
    def week(self) -> timedelta:
        """How much counted time a week in a deadline stands for."""
        ...

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of counted time after `start`, in UTC."""
        ...

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from `start` to `end`; negative when `end` comes first."""
        ...


class WallClock:
    """Every moment counts: for cities without a calendar and for emergencies."""

    day = timedelta(days=1)
    week = timedelta(weeks=1)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        if duration < timedelta(0):
            raise ValueError(f"a duration must not be negative, not {duration}")
        return _aware(start, "start") + duration

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        return _aware(end, "end") - _aware(start, "start")

    def __repr__(self) -> str:
        return "WallClock()"


class WorkingCalendar:
    """Working hours on working days in one time zone.

    A day works if its weekday is in `days` and it is not in `holidays`, or if it is in
    `workdays` (the weekend days some countries, China among them, work to make up for a
    long holiday). Hours run from `start` to `end` local time on the same day.
    """

    def __init__(
        self,
        timezone: str | ZoneInfo,
        start: time,
        end: time,
        days: Iterable[int],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> None:
        """`days` are ISO weekday numbers minus one, as `date.weekday()`: 0 is Monday."""
        self.timezone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working hours are local times, without a time zone")
        if not start < end:
            raise ValueError(f"working hours must end after they start ({start} to {end})")
        self.start, self.end = start, end
        self.days = frozenset(days)
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("working days must be weekdays 0 (Monday) to 6, at least one")
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)

    @property
    def day(self) -> timedelta:
        """A working day: "resolve in 5d" means five working days, not 120 working hours."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    @property
    def week(self) -> timedelta:
        """A working week."""
        return self.day * len(self.days)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.days and day not in self.holidays

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        """The day's opening and closing, in UTC (aware arithmetic within one zone is
        wall-clock arithmetic, which would ignore a DST change)."""
        opening = datetime.combine(day, self.start, self.timezone).astimezone(UTC)
        closing = datetime.combine(day, self.end, self.timezone).astimezone(UTC)
        return opening, closing

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`duration` of working time after `start`; a start outside working hours begins
        at the next opening. A deadline ending exactly at closing time stays there."""
        if duration < timedelta(0):
            raise ValueError(f"a duration must not be negative, not {duration}")
        cursor = _aware(start, "start")
        day = cursor.astimezone(self.timezone).date()
        remaining = duration
        while True:
            if self.is_working_day(day):
                opening, closing = self._hours(day)
                begin = max(cursor, opening)
                if begin < closing:
                    if remaining <= closing - begin:
                        return begin + remaining
                    remaining -= closing - begin
            day += _DAY

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two moments; negative when `end` comes first."""
        first, last = _aware(start, "start"), _aware(end, "end")
        if last < first:
            return -self.working_time(end, start)
        total = timedelta(0)
        day = first.astimezone(self.timezone).date()
        final = last.astimezone(self.timezone).date()
        while day <= final:
            if self.is_working_day(day):
                opening, closing = self._hours(day)
                span = min(closing, last) - max(opening, first)
                if span > timedelta(0):
                    total += span
            day += _DAY
        return total

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar({self.timezone.key!r}, {self.start} to {self.end}, "
            f"days={sorted(self.days)}, {len(self.holidays)} holidays)"
        )


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """Durations for some stages of the cases it matches; None matches anything."""

    stages: Mapping[Stage, timedelta]
    categories: frozenset[str] | None = None
    priorities: frozenset[Priority] | None = None
    round_the_clock: bool = False
    """Count this rule's durations on the wall clock, not in working hours."""

    def matches(self, category: str, priority: Priority) -> bool:
        return (self.categories is None or category in self.categories) and (
            self.priorities is None or priority in self.priorities
        )


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Default durations per stage, rules that override them, and the clock they run on.

    For each stage, the first matching rule that sets it decides; otherwise the default.
    So one rule can shorten only `accept` for urgent cases while another sets `resolve`
    for a category.
    """

    default: Mapping[Stage, timedelta]
    rules: Sequence[DeadlineRule] = ()
    calendar: Clock = field(default_factory=WallClock)

    def __post_init__(self) -> None:
        missing = [stage.value for stage in Stage if stage not in self.default]
        if missing:
            raise ValueError(f"the default deadlines lack {', '.join(missing)}")

    def _choose(self, stage: Stage, category: str, priority: Priority) -> tuple[timedelta, Clock]:
        for rule in self.rules:
            if stage in rule.stages and rule.matches(category, priority):
                clock = WallClock() if rule.round_the_clock else self.calendar
                return rule.stages[stage], clock
        return self.default[stage], self.calendar

    def policy(self, category: str, priority: Priority) -> dict[Stage, timedelta]:
        """How long each stage may take for such a case."""
        return {stage: self._choose(stage, category, priority)[0] for stage in Stage}

    def due(self, stage: Stage, category: str, priority: Priority, started: datetime) -> datetime:
        """When `stage`, started at `started`, must be over (UTC)."""
        duration, clock = self._choose(stage, category, priority)
        return clock.add(started, duration)
