"""PutRule's ScheduleExpression, judged by streams.schedules, through stock boto3 against a worker."""

from __future__ import annotations

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(15 minutes)", "rate(1 hour)", "rate(3 days)", "cron(0 10 * * ? *)",
    "cron(0/15 8-18 ? * MON-FRI *)", "cron(0 9 LW * ? 2026-2030)", "cron(30 6 ? * 6L *)", "cron(0 12 ? * 2#1 *)",
])
def test_valid_schedules_are_stored(events: BaseClient, expression: str) -> None:
    name = unique("sched")
    events.put_rule(Name=name, ScheduleExpression=expression)
    try:
        assert events.describe_rule(Name=name)["ScheduleExpression"] == expression
    finally:
        events.delete_rule(Name=name)


@pytest.mark.parametrize(("expression", "reason"), [
    ("cron(0 10 * * * *)", "exactly one of Day-of-month and Day-of-week must be '?'"),
    ("cron(0 10 ? * 8 *)", "Day-of-week: 8 is out of range (1-7 or SUN-SAT)"),
    ("cron(0 10 ? JANUARY * *)", "Month: 'JANUARY' is not a value of this field"),
    ("cron(0 10 * * ? 2200)", "Year: 2200 is out of range (1970-2199)"),
    ("cron(0 10 1,L * ? *)", "Day-of-month: '1,L': 'L' must stand alone"),
    ("rate(1 hours)", "a value of 1 takes the singular unit: rate(1 hour)"),
    ("rate(5 seconds)", "the unit 'seconds' is not one of"),
    ("at(2026-07-04T09:00:00)", "it must be rate(value unit) or cron(fields)"),  # at() is Scheduler's only
])
def test_invalid_schedules_are_refused_with_the_reason(events: BaseClient, expression: str, reason: str) -> None:
    name = unique("bad")
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name=name, ScheduleExpression=expression)
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Parameter ScheduleExpression is not valid: ")
    assert reason in error["Message"]
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name=name)
