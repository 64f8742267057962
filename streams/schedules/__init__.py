"""Schedule expressions (rate, cron, at) validated as AWS does, and their firing times.

Pure code with no Kafka import: the API validates with it and the firing service asks it when
each schedule fires next.
"""

from streams.schedules.expressions import (
    At,
    CronExpression,
    Expression,
    InvalidScheduleExpression,
    Rate,
    Timing,
    parse_expression,
)
from streams.schedules.records import rule_timing, schedule_timing
from streams.schedules.zones import InvalidTimeZone, zone

__all__ = ["At", "CronExpression", "Expression", "InvalidScheduleExpression", "InvalidTimeZone", "Rate", "Timing",
           "parse_expression", "rule_timing", "schedule_timing", "zone"]
