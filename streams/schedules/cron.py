"""AWS's six-field cron dialect: parsed and checked here, evaluated by croniter.

AWS's cron is Quartz-like (`?`, `L`, `W`, `#`, a year field, day-of-week 1=SUN..7=SAT), not
Unix cron, so no library validates it as AWS does. This module reads each field into plain
numbers (names, ranges, wrap-around ranges, steps and lists expanded here), refusing what AWS
refuses with the field named, and hands croniter an expression of explicit values only: that
way croniter's own parsing quirks (a range `5-5` meaning the whole field, Unix day numbers)
never apply, and croniter does what it is good at, the calendar arithmetic of the next match,
including last day of month (`L`), last weekday of a kind (`5L`) and nth weekday (`2#3`).

Times here are naive local wall-clock times; time zones are streams.schedules.zones' job.
Only `W` (nearest weekday) is not croniter's: it is applied as a filter on croniter's days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from croniter import CroniterBadDateError, croniter

MONTH_NAMES = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
DAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
LAST_SATURDAY = 7  # `L` alone in day-of-week is the last day of the week: Saturday
FIRST_YEAR, LAST_YEAR = 1970, 2199
SATURDAY, SUNDAY = 5, 6  # datetime.weekday() numbers
ONE_SECOND = timedelta(seconds=1)

NUMBER = re.compile(r"\d+")
NEAREST_WEEKDAY = re.compile(r"(\d+|L)W")
LAST_OF_KIND = re.compile(r"(\w+)L")
NTH_OF_KIND = re.compile(r"(\w+)#(\d+)")


class InvalidScheduleExpression(ValueError):
    """The expression is not one AWS accepts; the message names the field and the problem."""


@dataclass(frozen=True)
class Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None

    def describe(self) -> str:
        extra = {"Month": " or JAN-DEC", "Day-of-week": " or SUN-SAT"}.get(self.name, "")
        return f"{self.low}-{self.high}{extra}"


MINUTES = Field("Minutes", 0, 59)
HOURS = Field("Hours", 0, 23)
DAY_OF_MONTH = Field("Day-of-month", 1, 31)
MONTH = Field("Month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = Field("Day-of-week", 1, 7, DAY_NAMES)
YEAR = Field("Year", FIRST_YEAR, LAST_YEAR)


class _AwsCroniter(croniter):
    """croniter with AWS's year range (croniter stops at 2099)."""

    RANGES = (*croniter.RANGES[:6], (FIRST_YEAR, LAST_YEAR))
    LEN_MEANS_ALL = (*croniter.LEN_MEANS_ALL[:6], LAST_YEAR - FIRST_YEAR + 1)


@dataclass(frozen=True)
class Cron:
    """A validated AWS cron expression. `croniter_expression` is its translation (7 fields:
    minute hour day month weekday second year, weekdays 0=SUN); `nearest_weekday` is the day of
    a `W` field (0 for `LW`), which croniter cannot express."""

    text: str
    croniter_expression: str
    nearest_weekday: int | None = None

    @cached_property
    def _iterator(self) -> croniter:
        # max_years_between_matches: a year field may name a year far ahead (up to 2199).
        return _AwsCroniter(self.croniter_expression, datetime(FIRST_YEAR, 1, 1),
                            max_years_between_matches=LAST_YEAR - FIRST_YEAR + 1)

    def next_local(self, after: datetime) -> datetime | None:
        """The first wall-clock minute strictly after `after` (naive) that matches; None if none
        ever will (the year field has run out)."""
        while True:
            try:
                candidate: datetime = self._iterator.get_next(datetime, start_time=after)
            except CroniterBadDateError:
                return None
            if candidate.year > LAST_YEAR:  # croniter's '*' year has no end; AWS's stops at 2199
                return None
            if self.nearest_weekday is None:
                return candidate
            day = nearest_weekday(candidate.year, candidate.month, self.nearest_weekday)
            if day == candidate.day:
                return candidate
            if day is not None and day > candidate.day:
                after = candidate.replace(day=day, hour=0, minute=0) - ONE_SECOND
            else:  # this month's W day has passed (or does not exist): look in the next month
                days = calendar.monthrange(candidate.year, candidate.month)[1]
                after = candidate.replace(day=days, hour=23, minute=59)


def nearest_weekday(year: int, month: int, day: int) -> int | None:
    """Quartz's `W`: the weekday (Mon-Fri) nearest the given day within the same month (0 means
    the last day of the month, for `LW`); None in a month that lacks the day."""
    days = calendar.monthrange(year, month)[1]
    if day == 0:
        day = days
    if day > days:
        return None
    weekday = calendar.weekday(year, month, day)
    if weekday == SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == SUNDAY:
        return day + 1 if day < days else day - 2
    return day


def parse_cron(text: str) -> Cron:
    """`text` is the inside of cron(...): six fields separated by white space."""
    fields = text.split()
    if len(fields) != 6:
        raise InvalidScheduleExpression(f"a cron expression has 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), "
                          f"got {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidScheduleExpression("exactly one of Day-of-month and Day-of-week must be '?' "
                          f"(got '{dom}' and '{dow}')")
    day_part, nearest = _day_of_month(dom)
    parts = [_values(MINUTES, minutes), _values(HOURS, hours), day_part, _values(MONTH, month),
             _day_of_week(dow), "0", _values(YEAR, year)]
    return Cron(f"cron({text})", " ".join(parts), nearest)


def _day_of_month(text: str) -> tuple[str, int | None]:
    if text == "?":
        return "*", None
    if text == "L":
        return "L", None
    nearest = NEAREST_WEEKDAY.fullmatch(text)
    if nearest is not None:
        day = 0 if nearest.group(1) == "L" else _number(DAY_OF_MONTH, nearest.group(1))
        return "*", day
    _refuse_specials(DAY_OF_MONTH, text, "L, LW and W (as in 15W)")
    return _values(DAY_OF_MONTH, text), None


def _day_of_week(text: str) -> str:
    """Translated to croniter's numbering, 0=SUN..6=SAT."""
    if text == "?":
        return "*"
    if text == "L":
        return str(LAST_SATURDAY - 1)
    last = LAST_OF_KIND.fullmatch(text)
    if last is not None:
        return f"L{_number(DAY_OF_WEEK, last.group(1)) - 1}"
    nth = NTH_OF_KIND.fullmatch(text)
    if nth is not None:
        week = int(nth.group(2))
        if not 1 <= week <= 5:
            raise InvalidScheduleExpression(f"Day-of-week: '{text}': the week after '#' must be 1-5")
        return f"{_number(DAY_OF_WEEK, nth.group(1)) - 1}#{week}"
    _refuse_specials(DAY_OF_WEEK, text, "L, 6L (last Friday) and 6#3 (third Friday)")
    return ",".join(str(value - 1) for value in _expand(DAY_OF_WEEK, text))


def _refuse_specials(field: Field, text: str, allowed: str) -> None:
    for mark in "?LW#":
        if mark in text.upper():
            raise InvalidScheduleExpression(f"{field.name}: '{text}': '{mark}' must stand alone in the field "
                              f"(this field allows {allowed}), not within lists or ranges")


def _values(field: Field, text: str) -> str:
    """Explicit values as croniter takes them; '*' when every value is included."""
    values = _expand(field, text)
    if len(values) == field.high - field.low + 1:
        return "*"
    return ",".join(map(str, values))


def _expand(field: Field, text: str) -> list[int]:
    if "?" in text:
        raise InvalidScheduleExpression(f"{field.name}: '?' is only allowed in Day-of-month and Day-of-week")
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item(field, item))
    return sorted(values)


def _item(field: Field, item: str) -> list[int]:
    """One list item: '*', 'a', 'a-b' (may wrap around, as FRI-MON), each optionally '/step'."""
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not NUMBER.fullmatch(step_text) or int(step_text) < 1:
            raise InvalidScheduleExpression(f"{field.name}: '{item}': the increment after '/' must be a positive number")
        step = int(step_text)
    span = field.high - field.low + 1
    if base == "*":
        start, end = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(field, first), _number(field, last)
        if end < start and field is YEAR:
            raise InvalidScheduleExpression(f"Year: '{item}': the range runs backwards")
    else:
        start = _number(field, base)
        end = field.high if slash else start  # '5/15' runs from 5 to the field's end
    count = (end - start) % span + 1  # a range whose end precedes its start wraps around
    return [field.low + (start - field.low + offset) % span for offset in range(0, count, step)]


def _number(field: Field, text: str) -> int:
    if NUMBER.fullmatch(text):
        value = int(text)
    elif field.names is not None and text.upper() in field.names:
        value = field.names[text.upper()]
    elif not text:
        raise InvalidScheduleExpression(f"{field.name}: a value is missing")
    else:
        raise InvalidScheduleExpression(f"{field.name}: '{text}' is not a value of this field ({field.describe()})")
    if not field.low <= value <= field.high:
        raise InvalidScheduleExpression(f"{field.name}: {value} is out of range ({field.describe()})")
    return value
