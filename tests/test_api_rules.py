"""Rules, targets, tags and TestEventPattern through stock boto3, against a running worker."""

from __future__ import annotations

import json

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for, raw_post

pytestmark = pytest.mark.kafka

PATTERN = json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}})
QUEUE = "arn:aws:sqs:us-east-1:000000000000:orders"
TOPIC = "arn:aws:kafka:us-east-1:000000000000:topic/local/orders"


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


@pytest.fixture
def bus(events: BaseClient) -> str:
    name = unique("rules")
    events.create_event_bus(Name=name)
    return name


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_put_describe_enable_disable(events: BaseClient, bus: str) -> None:
    arn = events.put_rule(Name="big", EventBusName=bus, EventPattern=PATTERN, Description="big orders")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:000000000000:rule/{bus}/big"
    rule = events.describe_rule(Name="big", EventBusName=bus)
    assert rule["State"] == "ENABLED"
    assert (rule["Arn"], rule["EventBusName"], rule["EventPattern"], rule["Description"]) == (
        arn, bus, PATTERN, "big orders")

    events.disable_rule(Name="big", EventBusName=bus)
    assert events.describe_rule(Name="big", EventBusName=bus)["State"] == "DISABLED"
    events.enable_rule(Name="big", EventBusName=bus)
    assert events.describe_rule(Name="big", EventBusName=bus)["State"] == "ENABLED"

    # PutRule replaces the rule: the omitted Description is cleared, the targets stay.
    events.put_targets(Rule="big", EventBusName=bus, Targets=[{"Id": "q", "Arn": QUEUE}])
    events.put_rule(Name="big", EventBusName=bus, EventPattern=PATTERN)
    assert "Description" not in events.describe_rule(Name="big", EventBusName=bus)
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="big", EventBusName=bus)["Targets"]] == ["q"]


def test_default_bus_rule_arn_has_no_bus(events: BaseClient) -> None:
    name = unique("dflt")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:000000000000:rule/{name}"
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "rate(5 minutes)"
    events.delete_rule(Name=name)


def test_rule_errors(events: BaseClient, bus: str) -> None:
    with pytest.raises(events.exceptions.InvalidEventPatternException, match=r"detail\.total"):
        events.put_rule(Name="bad", EventBusName=bus, EventPattern='{"detail": {"total": [{"numeric": [">"]}]}}')
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name="bad", EventBusName=bus, EventPattern="{not json")
    too_complex = {"resources": [{"wildcard": f"*:stack/{n}/*"} for n in ("Alpha", "Beta", "Gamma", "Delta")]}
    with pytest.raises(events.exceptions.InvalidEventPatternException) as complex_exc:
        events.put_rule(Name="bad", EventBusName=bus, EventPattern=json.dumps(too_complex))
    assert complex_exc.value.response["Error"]["Message"] == (
        "Event pattern is not valid. Reason: Rule is too complex - try using fewer wildcard characters or fewer "
        "repeating character sequences after a wildcard character")
    with pytest.raises(events.exceptions.ResourceNotFoundException, match="does not exist"):
        events.put_rule(Name="r", EventBusName=unique("nobus"), EventPattern=PATTERN)
    with pytest.raises(events.exceptions.ResourceNotFoundException, match=f"Rule nope does not exist on EventBus {bus}"):
        events.describe_rule(Name="nope", EventBusName=bus)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.enable_rule(Name="nope", EventBusName=bus)
    refused = [
        {"EventBusName": bus},  # neither EventPattern nor ScheduleExpression
        {"EventBusName": bus, "ScheduleExpression": "rate(5 minutes)"},  # schedules: default bus only
        {"ScheduleExpression": "every day"},
        {"ScheduleExpression": "rate(1 minutes)"},
    ]
    for kwargs in refused:
        with pytest.raises(ClientError) as exc:
            events.put_rule(Name="r", **kwargs)
        assert error_code(exc) == "ValidationException", kwargs
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="r" * 65, EventBusName=bus, EventPattern=PATTERN)
    assert error_code(exc) == "ValidationException"
    assert "Member must have length less than or equal to 64" in exc.value.response["Error"]["Message"]


def test_rule_too_complex_is_refused(events: BaseClient, bus: str) -> None:
    """Issue 12: ten nested two-way $or (1,024 branches, 544 characters) cost a worker ~6 MB each."""
    heavy: dict[str, object] = {"source": ["app"]}
    level: dict[str, object] = {}
    heavy["detail"] = level
    for _ in range(7):  # 128 branches x 9 tests: under the branch limit, over the criteria limit
        deeper: dict[str, object] = {}
        level.update({"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": deeper})
        level = deeper
    level["z"] = ["1"]
    with pytest.raises(events.exceptions.InvalidEventPatternException, match="rule is too complex.*1152 values"):
        events.put_rule(Name="heavy", EventBusName=bus, EventPattern=json.dumps(heavy))
    assert events.list_rules(EventBusName=bus)["Rules"] == []
    with pytest.raises(events.exceptions.InvalidEventPatternException, match="rule is too complex"):
        events.test_event_pattern(EventPattern=json.dumps(heavy), Event=json.dumps({"source": "app"}))


def test_delete_rule(events: BaseClient, bus: str) -> None:
    events.put_rule(Name="r", EventBusName=bus, EventPattern=PATTERN)
    events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "q", "Arn": QUEUE}])
    with pytest.raises(ClientError, match="Rule can't be deleted since it has targets") as exc:
        events.delete_rule(Name="r", EventBusName=bus)
    assert error_code(exc) == "ValidationException"
    events.remove_targets(Rule="r", EventBusName=bus, Ids=["q"])
    events.delete_rule(Name="r", EventBusName=bus)
    events.delete_rule(Name="r", EventBusName=bus)  # again: still succeeds, as on AWS
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name="r", EventBusName=bus)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.delete_rule(Name="r", EventBusName=unique("nobus"))


def test_list_rules_prefix_and_paging(events: BaseClient, bus: str) -> None:
    for name in ("a-1", "a-2", "a-3", "b-1"):
        events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN)
    first = events.list_rules(EventBusName=bus, NamePrefix="a-", Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["a-1", "a-2"]
    second = events.list_rules(EventBusName=bus, NamePrefix="a-", Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in second["Rules"]] == ["a-3"]
    assert "NextToken" not in second
    everything = events.get_paginator("list_rules").paginate(EventBusName=bus, PaginationConfig={"PageSize": 1})
    assert [r["Name"] for page in everything for r in page["Rules"]] == ["a-1", "a-2", "a-3", "b-1"]
    assert first["Rules"][0]["Arn"].endswith(f"rule/{bus}/a-1")
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.list_rules(EventBusName=unique("nobus"))


def test_put_targets_partial_failure_and_listing(events: BaseClient, bus: str) -> None:
    events.put_rule(Name="r", EventBusName=bus, EventPattern=PATTERN)
    result = events.put_targets(Rule="r", EventBusName=bus, Targets=[
        {"Id": "topic", "Arn": TOPIC, "InputPath": "$.detail"},
        {"Id": "states", "Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:f"},
        {"Id": "queue", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 3}},
        {"Id": "bus", "Arn": f"arn:aws:events:us-east-1:000000000000:event-bus/{bus}"},
    ])
    assert result["FailedEntryCount"] == 1
    assert result["FailedEntries"][0]["TargetId"] == "states"
    assert result["FailedEntries"][0]["ErrorCode"] == "ValidationException"
    assert "states" in result["FailedEntries"][0]["ErrorMessage"]

    first = events.list_targets_by_rule(Rule="r", EventBusName=bus, Limit=2)
    second = events.list_targets_by_rule(Rule="r", EventBusName=bus, Limit=2, NextToken=first["NextToken"])
    targets = first["Targets"] + second["Targets"]
    assert [t["Id"] for t in targets] == ["bus", "queue", "topic"]
    assert {"Id": "topic", "Arn": TOPIC, "InputPath": "$.detail"} in targets
    assert {"Id": "queue", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": 3}} in targets

    assert events.list_rule_names_by_target(TargetArn=QUEUE, EventBusName=bus)["RuleNames"] == ["r"]
    assert events.list_rule_names_by_target(TargetArn=QUEUE)["RuleNames"] == []  # other bus

    removed = events.remove_targets(Rule="r", EventBusName=bus, Ids=["queue", "never-there"])
    assert removed["FailedEntryCount"] == 0
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"]] == ["bus", "topic"]


def test_put_targets_errors(events: BaseClient, bus: str) -> None:
    events.put_rule(Name="r", EventBusName=bus, EventPattern=PATTERN)
    with pytest.raises(ClientError) as exc:  # malformed input: the whole request fails, as on AWS
        events.put_targets(Rule="r", EventBusName=bus, Targets=[
            {"Id": "t", "Arn": TOPIC, "InputTransformer": {"InputPathsMap": {"s": "$.source"},
                                                           "InputTemplate": '{"a": <missing>}'}}])
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "t", "Arn": TOPIC, "Input": "{nope"}])
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "bad id!", "Arn": TOPIC}])
    assert error_code(exc) == "ValidationException"
    assert events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"] == []

    six = [{"Id": f"t{i}", "Arn": TOPIC} for i in range(6)]
    with pytest.raises(events.exceptions.LimitExceededException):
        events.put_targets(Rule="r", EventBusName=bus, Targets=six)
    assert events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"] == []
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.put_targets(Rule="nope", EventBusName=bus, Targets=[{"Id": "t", "Arn": TOPIC}])
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.list_targets_by_rule(Rule="nope", EventBusName=bus)


def test_a_target_holding_a_null_or_a_wrong_type_is_refused_and_stores_nothing(
        events: BaseClient, bus: str, busbar_worker: WorkerProcess) -> None:
    """boto3 refuses None before sending, so the body goes out raw, as other clients may send it."""
    events.put_rule(Name="r", EventBusName=bus, EventPattern=PATTERN)
    events.put_targets(Rule="r", EventBusName=bus, Targets=[{"Id": "first", "Arn": TOPIC}])

    def put_retry_policy(attempts: object) -> tuple[int, dict[str, object]]:
        target = {"Id": "second", "Arn": QUEUE, "RetryPolicy": {"MaximumRetryAttempts": attempts}}
        body = json.dumps({"Rule": "r", "EventBusName": bus, "Targets": [target]}).encode()
        status, reply, _ = raw_post(busbar_worker.url, body, target="AWSEvents.PutTargets")
        return status, reply

    path = "'targets.1.member.retryPolicy.maximumRetryAttempts'"
    status, reply = put_retry_policy(None)
    assert (status, reply["__type"]) == (400, "ValidationException")
    assert f"Value null at {path} failed to satisfy constraint: Member must not be null" in str(reply["message"])
    status, reply = put_retry_policy("3")
    assert (status, reply["__type"]) == (400, "SerializationException")
    assert f"{path} must be an integer, got a string" in str(reply["message"])
    assert events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"] == [{"Id": "first", "Arn": TOPIC}]

    assert put_retry_policy(3)[0] == 200  # the same request with a valid value is stored
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"]] == ["first", "second"]


def test_tags(events: BaseClient, bus: str) -> None:
    arn = events.put_rule(Name="tagged", EventBusName=bus, EventPattern=PATTERN,
                          Tags=[{"Key": "team", "Value": "a"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}]
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]

    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    events.tag_resource(ResourceARN=bus_arn, Tags=[{"Key": "k", "Value": "v"}])
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "k", "Value": "v"}]

    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.list_tags_for_resource(ResourceARN=f"arn:aws:events:us-east-1:000000000000:rule/{bus}/nope")
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.tag_resource(ResourceARN="arn:aws:events:us-east-1:000000000000:event-bus/" + unique("nobus"),
                            Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(ClientError) as exc:
        events.list_tags_for_resource(ResourceARN="not-an-arn")
    assert error_code(exc) == "ValidationException"


def test_test_event_pattern(events: BaseClient) -> None:
    event = {"id": "1", "account": "000000000000", "source": "shop", "time": "2026-01-01T00:00:00Z",
             "region": "us-east-1", "resources": [], "detail-type": "Order", "detail": {"total": 150}}
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))["Result"] is True
    event["detail"]["total"] = 50
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(event))["Result"] is False
    with pytest.raises(events.exceptions.InvalidEventPatternException, match=r"source"):
        events.test_event_pattern(EventPattern='{"source": "shop"}', Event=json.dumps(event))
    # resources and detail may be absent, as AWS accepts.
    bare = {k: v for k, v in event.items() if k not in ("resources", "detail")}
    assert events.test_event_pattern(EventPattern='{"source": ["shop"]}', Event=json.dumps(bare))["Result"] is True
    assert events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(bare))["Result"] is False
    for required in ("id", "account", "source", "time", "region", "detail-type"):
        without = {k: v for k, v in event.items() if k != required}
        with pytest.raises(ClientError, match=f"Parameter Event is not valid.*{required}") as exc:
            events.test_event_pattern(EventPattern=PATTERN, Event=json.dumps(without))
        assert error_code(exc) == "ValidationException"
