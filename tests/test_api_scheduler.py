"""EventBridge Scheduler's API through boto3's own `scheduler` client (rest-json) against a worker."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support import WorkerProcess, credentialed, unique
from tests.test_api_support import REGION

pytestmark = pytest.mark.kafka

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
TARGET = {"Arn": QUEUE, "RoleArn": ROLE}
OFF = {"Mode": "OFF"}
KEY_ID, SECRET = "AKIDSCHEDULER", "sched/secret+chars"


def scheduler_client(url: str, key: str = "test", secret: str = "test", region: str = REGION) -> BaseClient:
    return boto3.client("scheduler", endpoint_url=url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def scheduler(busbar_worker: WorkerProcess) -> BaseClient:
    return scheduler_client(busbar_worker.url)


@pytest.fixture
def group(scheduler: BaseClient) -> str:
    name = unique("grp")
    scheduler.create_schedule_group(Name=name)
    return name


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_create_get_update_delete(scheduler: BaseClient, group: str) -> None:
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 12, 31, tzinfo=UTC)
    arn = scheduler.create_schedule(
        Name="nightly", GroupName=group, ScheduleExpression="cron(0 2 * * ? *)",
        ScheduleExpressionTimezone="Europe/Berlin", StartDate=start, EndDate=end, Description="backups",
        Target={**TARGET, "Input": '{"job": "backup"}', "RetryPolicy": {"MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"}},
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15})["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/nightly"

    got = scheduler.get_schedule(Name="nightly", GroupName=group)
    assert (got["Arn"], got["Name"], got["GroupName"]) == (arn, "nightly", group)
    assert (got["ScheduleExpression"], got["ScheduleExpressionTimezone"]) == ("cron(0 2 * * ? *)", "Europe/Berlin")
    assert (got["StartDate"], got["EndDate"], got["Description"]) == (start, end, "backups")
    assert (got["State"], got["ActionAfterCompletion"]) == ("ENABLED", "NONE")
    assert got["Target"]["Input"] == '{"job": "backup"}'
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3}
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["CreationDate"] == got["LastModificationDate"]

    # UpdateSchedule replaces every setting: the omitted ones go back to their defaults
    scheduler.update_schedule(Name="nightly", GroupName=group, ScheduleExpression="at(2030-06-01T09:30:00)",
                              Target={"Arn": BUS, "RoleArn": ROLE, "Input": "{}"}, FlexibleTimeWindow=OFF,
                              State="DISABLED", ActionAfterCompletion="DELETE")
    updated = scheduler.get_schedule(Name="nightly", GroupName=group)
    assert (updated["ScheduleExpression"], updated["State"], updated["ActionAfterCompletion"]) == (
        "at(2030-06-01T09:30:00)", "DISABLED", "DELETE")
    assert {"StartDate", "EndDate", "Description", "ScheduleExpressionTimezone"}.isdisjoint(updated)
    assert updated["Target"] == {"Arn": BUS, "RoleArn": ROLE, "Input": "{}"}
    assert updated["CreationDate"] == got["CreationDate"] < updated["LastModificationDate"]

    scheduler.delete_schedule(Name="nightly", GroupName=group)
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="nightly", GroupName=group)


def test_default_group(scheduler: BaseClient) -> None:
    name = unique("dflt")
    arn = scheduler.create_schedule(Name=name, ScheduleExpression="rate(1 hour)", Target=TARGET,
                                    FlexibleTimeWindow=OFF)["ScheduleArn"]
    assert arn.endswith(f":schedule/default/{name}")
    assert scheduler.get_schedule(Name=name)["GroupName"] == "default"
    assert scheduler.get_schedule_group(Name="default")["State"] == "ACTIVE"
    scheduler.delete_schedule(Name=name)


def test_create_and_missing_errors(scheduler: BaseClient, group: str) -> None:
    scheduler.create_schedule(Name="s", GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                              FlexibleTimeWindow=OFF)
    with pytest.raises(scheduler.exceptions.ConflictException) as exc:
        scheduler.create_schedule(Name="s", GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                                  FlexibleTimeWindow=OFF)
    assert error_of(exc) == ("ConflictException", 409, "Schedule s already exists.")
    # a retry of the call that created it (same ClientToken) succeeds again
    for _ in range(2):
        scheduler.create_schedule(Name="t", GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                                  FlexibleTimeWindow=OFF, ClientToken="retry-token-1")

    missing_group = unique("nogroup")
    calls = [
        lambda: scheduler.get_schedule(Name="nope", GroupName=group),
        lambda: scheduler.delete_schedule(Name="nope", GroupName=group),
        lambda: scheduler.update_schedule(Name="nope", GroupName=group, ScheduleExpression="rate(5 minutes)",
                                          Target=TARGET, FlexibleTimeWindow=OFF),
        lambda: scheduler.create_schedule(Name="s", GroupName=missing_group, ScheduleExpression="rate(5 minutes)",
                                          Target=TARGET, FlexibleTimeWindow=OFF),
        lambda: scheduler.list_schedules(GroupName=missing_group),
        lambda: scheduler.get_schedule_group(Name=missing_group),
        lambda: scheduler.delete_schedule_group(Name=missing_group),
    ]
    for call in calls:
        with pytest.raises(scheduler.exceptions.ResourceNotFoundException) as exc:
            call()
        code, status, message = error_of(exc)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert "does not exist" in message


@pytest.mark.parametrize(("changes", "reason"), [
    ({"ScheduleExpression": "cron(0 10 * * * *)"}, "exactly one of Day-of-month and Day-of-week must be '?'"),
    ({"ScheduleExpression": "cron(0 10 ? * MON-FRX *)"}, "Day-of-week: 'FRX' is not a value of this field"),
    ({"ScheduleExpression": "rate(1 days)"}, "a value of 1 takes the singular unit: rate(1 day)"),
    ({"ScheduleExpression": "at(2030-02-30T10:00:00)"}, "is not a date and time of the form yyyy-mm-ddThh:mm:ss"),
    ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "'Mars/Olympus' is not a known IANA time zone name"),
    ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "MaximumWindowInMinutes is required when Mode is FLEXIBLE"),
    ({"FlexibleTimeWindow": {"Mode": "OFF", "MaximumWindowInMinutes": 5}}, "must not be set when Mode is OFF"),
    ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}},
     "at 'flexibleTimeWindow.maximumWindowInMinutes' failed to satisfy constraint"),
    ({"FlexibleTimeWindow": {"Mode": "SOMETIMES"}}, "satisfy enum value set: [OFF, FLEXIBLE]"),
    ({"Target": {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f", "RoleArn": ROLE}},
     "Target.Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f': schedules cannot invoke functions yet "
     "(a rule with a schedule expression can)"),
    ({"Target": {"Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:f", "RoleArn": ROLE}},
     "Target.Arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:f': busbar cannot deliver to the states service"),
    ({"Target": {"Arn": "not-an-arn", "RoleArn": ROLE}}, "Target.Arn: 'not-an-arn' is not a valid ARN"),
    ({"Target": {"Arn": BUS, "RoleArn": ROLE, "Input": "{not json"}}, "Target.Input must be well-formed JSON"),
    ({"Target": {"Arn": QUEUE, "RoleArn": "role"}}, "at 'target.roleArn' failed to satisfy constraint"),
    ({"StartDate": datetime(2031, 1, 1, tzinfo=UTC), "EndDate": datetime(2030, 1, 1, tzinfo=UTC)},
     "EndDate must be later than StartDate"),
    ({"Name": "bad name!"}, "failed to satisfy constraint: Member must satisfy regular expression pattern"),
    ({"State": "PAUSED"}, "satisfy enum value set: [ENABLED, DISABLED]"),
])
def test_create_refuses_invalid_input(scheduler: BaseClient, group: str, changes: dict[str, Any], reason: str) -> None:
    request = {"Name": "s", "GroupName": group, "ScheduleExpression": "rate(5 minutes)", "Target": TARGET,
               "FlexibleTimeWindow": OFF, **changes}
    with pytest.raises(ClientError) as exc:
        scheduler.create_schedule(**request)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert reason in message
    assert scheduler.list_schedules(GroupName=group)["Schedules"] == []


def test_update_is_validated_too(scheduler: BaseClient, group: str) -> None:
    scheduler.create_schedule(Name="s", GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                              FlexibleTimeWindow=OFF)
    with pytest.raises(ClientError, match="Year: 2200 is out of range") as exc:
        scheduler.update_schedule(Name="s", GroupName=group, ScheduleExpression="cron(0 10 * * ? 2200)",
                                  Target=TARGET, FlexibleTimeWindow=OFF)
    assert error_of(exc)[:2] == ("ValidationException", 400)
    assert scheduler.get_schedule(Name="s", GroupName=group)["ScheduleExpression"] == "rate(5 minutes)"


def test_list_schedules_filters_and_pages(scheduler: BaseClient, group: str) -> None:
    other = unique("grp")
    scheduler.create_schedule_group(Name=other)
    for name, state in (("a-1", "ENABLED"), ("a-2", "DISABLED"), ("a-3", "ENABLED"), ("b-1", "ENABLED")):
        scheduler.create_schedule(Name=name, GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                                  FlexibleTimeWindow=OFF, State=state)
    scheduler.create_schedule(Name="a-0", GroupName=other, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                              FlexibleTimeWindow=OFF)

    first = scheduler.list_schedules(GroupName=group, NamePrefix="a-", MaxResults=2)
    assert [s["Name"] for s in first["Schedules"]] == ["a-1", "a-2"]
    second = scheduler.list_schedules(GroupName=group, NamePrefix="a-", MaxResults=2, NextToken=first["NextToken"])
    assert [s["Name"] for s in second["Schedules"]] == ["a-3"]
    assert "NextToken" not in second
    assert [s["Name"] for s in scheduler.list_schedules(GroupName=group, State="DISABLED")["Schedules"]] == ["a-2"]
    summary = first["Schedules"][0]
    assert summary["Arn"].endswith(f":schedule/{group}/a-1")
    assert (summary["GroupName"], summary["State"], summary["Target"]) == (group, "ENABLED", {"Arn": QUEUE})

    pages = scheduler.get_paginator("list_schedules").paginate(PaginationConfig={"PageSize": 1})
    everywhere = [(s["GroupName"], s["Name"]) for page in pages for s in page["Schedules"]]
    assert [entry for entry in everywhere if entry[0] in (group, other)] == sorted(
        [(group, "a-1"), (group, "a-2"), (group, "a-3"), (group, "b-1"), (other, "a-0")],
        key=lambda entry: f"{entry[0]}/{entry[1]}")
    with pytest.raises(ClientError) as exc:
        scheduler.list_schedules(MaxResults=101)
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_schedule_groups(scheduler: BaseClient) -> None:
    prefix = unique("g")
    arns = [scheduler.create_schedule_group(Name=f"{prefix}-{i}", Tags=[{"Key": "team", "Value": "ops"}])[
        "ScheduleGroupArn"] for i in range(3)]
    assert arns[0] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{prefix}-0"
    got = scheduler.get_schedule_group(Name=f"{prefix}-0")
    assert (got["Arn"], got["Name"], got["State"]) == (arns[0], f"{prefix}-0", "ACTIVE")
    assert got["CreationDate"] == got["LastModificationDate"]

    first = scheduler.list_schedule_groups(NamePrefix=prefix, MaxResults=2)
    second = scheduler.list_schedule_groups(NamePrefix=prefix, MaxResults=2, NextToken=first["NextToken"])
    assert [g["Name"] for g in first["ScheduleGroups"] + second["ScheduleGroups"]] == [f"{prefix}-{i}" for i in range(3)]
    names = [g["Name"] for page in scheduler.get_paginator("list_schedule_groups").paginate() for g in
             page["ScheduleGroups"]]
    assert "default" in names and f"{prefix}-2" in names

    for name in (f"{prefix}-0", "default"):
        with pytest.raises(scheduler.exceptions.ConflictException) as exc:
            scheduler.create_schedule_group(Name=name)
        assert error_of(exc) == ("ConflictException", 409, f"Schedule group {name} already exists.")
    with pytest.raises(ClientError) as exc:
        scheduler.delete_schedule_group(Name="default")
    assert error_of(exc) == ("ValidationException", 400, "The default schedule group cannot be deleted.")


def test_deleting_a_group_deletes_its_schedules(scheduler: BaseClient, group: str) -> None:
    for name in ("x", "y"):
        scheduler.create_schedule(Name=name, GroupName=group, ScheduleExpression="rate(5 minutes)", Target=TARGET,
                                  FlexibleTimeWindow=OFF)
    scheduler.delete_schedule_group(Name=group)
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule_group(Name=group)
    everywhere = [s for page in scheduler.get_paginator("list_schedules").paginate() for s in page["Schedules"]]
    assert [s for s in everywhere if s["GroupName"] == group] == []
    # recreated, the group starts empty: the old schedules are really gone
    scheduler.create_schedule_group(Name=group)
    assert scheduler.list_schedules(GroupName=group)["Schedules"] == []


def test_raw_errors_carry_the_error_type_header(busbar_worker: WorkerProcess) -> None:
    request = urllib.request.Request(f"{busbar_worker.url}/schedules/x", data=b'{"ScheduleExpression": ', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 400
    assert exc.value.headers["x-amzn-ErrorType"] == "SerializationException"
    assert "not valid JSON" in orjson.loads(exc.value.read())["Message"]


# --- signatures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def strict_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    with credentialed(kafka_bootstrap, worker_logs, KEY_ID, SECRET) as worker:
        yield worker


def test_signatures_are_checked_when_credentials_are_configured(strict_worker: WorkerProcess) -> None:
    signed = scheduler_client(strict_worker.url, KEY_ID, SECRET)
    group = unique("grp")
    signed.create_schedule_group(Name=group)
    signed.create_schedule(Name="s", GroupName=group, ScheduleExpression="rate(1 minute)", Target=TARGET,
                           FlexibleTimeWindow=OFF)
    assert [s["Name"] for s in signed.list_schedules(GroupName=group, NamePrefix="s")["Schedules"]] == ["s"]
    refused = [(scheduler_client(strict_worker.url, KEY_ID, "wrong"), "InvalidSignatureException"),
               (scheduler_client(strict_worker.url, "AKIDSTRANGER", SECRET), "UnrecognizedClientException"),
               (scheduler_client(strict_worker.url, KEY_ID, SECRET, region="eu-west-1"), "InvalidSignatureException")]
    for client, code in refused:
        with pytest.raises(ClientError) as exc:
            client.create_schedule(Name="intruder", GroupName=group, ScheduleExpression="rate(1 minute)",
                                   Target=TARGET, FlexibleTimeWindow=OFF)
        assert error_of(exc)[:2] == (code, 403)
    assert [s["Name"] for s in signed.list_schedules(GroupName=group)["Schedules"]] == ["s"]
