"""Schedule expressions as EventBridge takes them: rate(...), cron(...) and, in Scheduler, at(...).

`parse_expression` validates an expression as AWS does and returns an object that says when it
fires next; the messages of `InvalidScheduleExpression` name the problem and become the API's
ValidationException. A `Timing` adds what a schedule wraps around its expression (time zone,
StartDate, EndDate) and is what a firing service asks for the next firing time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from streams.schedules.cron import Cron, InvalidScheduleExpression, parse_cron
from streams.schedules.zones import to_instant, to_instant_or_later, to_local

UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
RATE = re.compile(r"rate\((.*)\)", re.DOTALL)
RATE_BODY = re.compile(r"(\d+) ([a-z]+)")
CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
AT = re.compile(r"at\((.*)\)", re.DOTALL)
AT_FORMAT = "%Y-%m-%dT%H:%M:%S"
AT_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
MAX_RATE = timedelta(days=999_999)  # beyond datetime's reach after a few: refused as nonsense


class Expression(Protocol):
    text: str

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime) -> datetime | None:
        """The first firing strictly after `after` (aware), or None if there is none.
        `anchor` is a rate's first firing; cron and at() ignore it."""
        ...


@dataclass(frozen=True)
class Rate:
    """Fires at anchor, anchor + period, ...: elapsed time, so a day is always 24 hours, also
    across daylight saving changes (as AWS documents for Scheduler)."""

    text: str
    period: timedelta

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime) -> datetime | None:
        if after < anchor:
            return anchor
        periods = (after - anchor) // self.period + 1
        return anchor + periods * self.period


@dataclass(frozen=True)
class CronExpression:
    """Wall-clock times in the schedule's zone; skipped local times do not fire, repeated ones
    fire once (streams.schedules.zones)."""

    text: str
    cron: Cron

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime) -> datetime | None:
        local = to_local(after, tz)
        while True:
            candidate = self.cron.next_local(local)
            if candidate is None:
                return None
            instant = to_instant(candidate, tz)
            # An instant not after `after` is the first occurrence of a repeated hour that has
            # already passed: the repeat does not fire again.
            if instant is not None and instant > after:
                return instant
            local = candidate


@dataclass(frozen=True)
class At:
    """One firing at a wall-clock time of the schedule's zone."""

    text: str
    local: datetime

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime) -> datetime | None:
        instant = to_instant_or_later(self.local, tz)
        return instant if instant > after else None


def parse_expression(text: str, *, allow_at: bool = True) -> Expression:
    """rate(...), cron(...) or (with allow_at, as Scheduler has it) at(...)."""
    try:
        if (match := RATE.fullmatch(text)) is not None:
            return Rate(text, _rate_period(match.group(1)))
        if (match := CRON.fullmatch(text)) is not None:
            return CronExpression(text, parse_cron(match.group(1)))
        if allow_at and (match := AT.fullmatch(text)) is not None:
            return At(text, _at_time(match.group(1)))
    except InvalidScheduleExpression as exc:
        raise InvalidScheduleExpression(f"Invalid schedule expression '{text}': {exc}") from None
    forms = "at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)" if allow_at else \
        "rate(value unit) or cron(fields)"
    raise InvalidScheduleExpression(f"Invalid schedule expression '{text}': it must be {forms}")


def _rate_period(body: str) -> timedelta:
    match = RATE_BODY.fullmatch(body)
    if match is None:
        raise InvalidScheduleExpression(f"a rate is rate(value unit), as rate(5 minutes), got rate({body})")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in UNITS:
        raise InvalidScheduleExpression(f"the unit '{unit}' is not one of minute, minutes, hour, hours, day, days")
    if value < 1:
        raise InvalidScheduleExpression("the value must be a positive whole number")
    if value == 1 and unit != singular:
        raise InvalidScheduleExpression(f"a value of 1 takes the singular unit: rate(1 {singular})")
    if value > 1 and unit == singular:
        raise InvalidScheduleExpression(f"a value above 1 takes the plural unit: rate({value} {singular}s)")
    period = value * UNITS[singular]
    if period > MAX_RATE:
        raise InvalidScheduleExpression(f"the rate may be at most {MAX_RATE.days} days")
    return period


def _at_time(body: str) -> datetime:
    try:
        if AT_SHAPE.fullmatch(body) is None:
            raise ValueError
        return datetime.strptime(body, AT_FORMAT)
    except ValueError:
        raise InvalidScheduleExpression(f"'{body}' is not a date and time of the form yyyy-mm-ddThh:mm:ss") from None


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: its expression in its zone, within StartDate and EndDate.

    `anchor` is when a rate schedule without StartDate starts (its creation, for Scheduler,
    which "starts invoking targets immediately"). One-time at() schedules ignore StartDate and
    EndDate, as Scheduler does.
    """

    expression: Expression
    tz: ZoneInfo
    anchor: datetime
    start: datetime | None = None
    end: datetime | None = None

    def next_after(self, after: datetime) -> datetime | None:
        if isinstance(self.expression, At):
            return self.expression.next_after(after, self.tz, self.anchor)
        anchor = self.start or self.anchor
        if self.start is not None and after < self.start:
            after = self.start - timedelta(microseconds=1)  # StartDate: firings "on, or after" it
        instant = self.expression.next_after(after, self.tz, anchor)
        if instant is None or (self.end is not None and instant >= self.end):  # EndDate: "before which"
            return None
        return instant

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        """Up to `count` firings after `after`, in order."""
        times: list[datetime] = []
        while len(times) < count and (after := self.next_after(after)) is not None:  # type: ignore[assignment]
            times.append(after)
        return times
