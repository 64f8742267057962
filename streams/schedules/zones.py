"""IANA time zones and the wall-clock rules AWS documents for EventBridge Scheduler.

Scheduler evaluates cron and at() expressions in the schedule's time zone. Across daylight
saving changes it behaves thus (AWS: "When the time shifts forward in Spring, your schedule
invocation gets skipped if the cron expression falls on a non-existent date and time. When
the time shifts back in the Fall, your schedule runs only once"): a wall-clock time that does
not exist is skipped, and one that happens twice is taken at its first occurrence. zoneinfo
(the stdlib, on the system's or the tzdata package's database) does the conversions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class InvalidTimeZone(ValueError):
    """The name is not an IANA time zone this machine knows."""


@cache
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a malformed key such as '../x'
        raise InvalidTimeZone(f"'{name}' is not a known IANA time zone name (such as UTC or "
                              "America/New_York)") from None


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock time of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)


def to_instant(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive wall-clock time: its first occurrence when the clock shows it
    twice, None when the clock skips it."""
    instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return instant if to_local(instant, tz) == local else None


def to_instant_or_later(local: datetime, tz: ZoneInfo) -> datetime:
    """Like to_instant, but a skipped time gives the instant the same distance after the
    change as the time is after the last valid one (02:30 in a 02:00->03:00 gap is 03:30): for
    one-time schedules, which must fire once rather than never."""
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)
