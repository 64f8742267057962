"""Timings of what the configuration holds: Scheduler schedules and scheduled rules.

A firing service reads config records and asks when each fires next; building the Timing from
the record alone means every worker computes the same firing times for the same record, which
is what lets ownership of a schedule move between workers without firing a time twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.schedules.expressions import Timing, parse_expression
from streams.schedules.zones import zone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UTC_ZONE = "UTC"


def _instant(epoch_seconds: float | None) -> datetime | None:
    return None if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, UTC)


def schedule_timing(record: Mapping[str, Any]) -> Timing:
    """A schedule as the Scheduler API stores it: its expression in its zone (UTC by default),
    within StartDate/EndDate; a rate without StartDate counts from the schedule's creation, as
    Scheduler "starts invoking targets immediately"."""
    return Timing(parse_expression(record["ScheduleExpression"]),
                  zone(record.get("ScheduleExpressionTimezone") or UTC_ZONE),
                  anchor=_instant(record["CreationDate"]),  # type: ignore[arg-type]  # always stored
                  start=_instant(record.get("StartDate")), end=_instant(record.get("EndDate")))


def rule_timing(record: Mapping[str, Any], anchor: datetime = EPOCH) -> Timing:
    """A scheduled rule: in UTC, as EventBridge evaluates rules. A rule record has no creation
    time, so a rate counts from `anchor`: by default the epoch, which puts rate(5 minutes) on
    every fifth minute of the clock, the same on every worker."""
    return Timing(parse_expression(record["ScheduleExpression"], allow_at=False), zone(UTC_ZONE), anchor=anchor)
