"""ARN forms and the in-memory model: pure code, no broker."""

from __future__ import annotations

import pytest

from streams.arns import (
    TargetRef,
    UnsupportedTarget,
    bus_arn,
    kafka_topic_arn,
    parse_bus_or_rule_arn,
    parse_target_arn,
    rule_arn,
)
from streams.model import Model, bus_key, decode_record, rule_key


def test_rule_arns_follow_aws_forms() -> None:
    assert rule_arn("eu-west-1", "123456789012", "default", "r") == "arn:aws:events:eu-west-1:123456789012:rule/r"
    assert rule_arn("eu-west-1", "123456789012", "orders", "r") == "arn:aws:events:eu-west-1:123456789012:rule/orders/r"
    assert parse_bus_or_rule_arn(rule_arn("r", "123456789012", "default", "x")) == ("rule", "default", "x")
    assert parse_bus_or_rule_arn(rule_arn("r", "123456789012", "b", "x")) == ("rule", "b", "x")
    assert parse_bus_or_rule_arn(bus_arn("r", "123456789012", "b")) == ("event-bus", "b", None)
    with pytest.raises(ValueError, match="not the ARN of an event bus or a rule"):
        parse_bus_or_rule_arn("arn:aws:sqs:us-east-1:123456789012:q")


@pytest.mark.parametrize(("arn", "ref"), [
    (kafka_topic_arn("us-east-1", "123456789012", "orders.out"), TargetRef("topic", "orders.out", "local")),
    ("arn:aws:kafka:us-east-1:123456789012:topic/west/t1", TargetRef("topic", "t1", "west")),
    ("arn:aws:sqs:us-east-1:123456789012:my-queue", TargetRef("topic", "sqs.my-queue")),
    ("arn:aws:sqs:us-east-1:123456789012:my-queue.fifo", TargetRef("topic", "sqs.my-queue.fifo")),
    ("arn:aws:sns:us-east-1:123456789012:alerts", TargetRef("topic", "sns.alerts")),
    ("arn:aws:kinesis:us-east-1:123456789012:stream/clicks", TargetRef("topic", "kinesis.clicks")),
    ("arn:aws:firehose:us-east-1:123456789012:deliverystream/lake", TargetRef("topic", "firehose.lake")),
    ("arn:aws:events:us-east-1:123456789012:event-bus/other", TargetRef("bus", "other")),
    ("arn:aws:events:us-east-1:123456789012:api-destination/hook/0a1b", TargetRef("api-destination", "hook")),
])
def test_target_arns_map_to_where_events_go(arn: str, ref: TargetRef) -> None:
    assert parse_target_arn(arn) == ref


def test_target_arns_busbar_cannot_serve_are_refused_by_name() -> None:
    with pytest.raises(UnsupportedTarget, match="states"):
        parse_target_arn("arn:aws:states:us-east-1:123456789012:stateMachine:f")
    with pytest.raises(ValueError, match="not a valid ARN"):
        parse_target_arn("my-topic")
    with pytest.raises(ValueError, match="topic/<cluster>/<topic>"):
        parse_target_arn("arn:aws:kafka:us-east-1:123456789012:cluster/x")


def test_model_applies_changes_and_reports_only_real_ones() -> None:
    model = Model()
    assert model.bus_names() == ["default"]
    assert model.bus("default") == {"Name": "default"}
    change = model.apply(bus_key("b"), {"Name": "b"})
    assert change is not None and change.kind == "bus" and change.old is None
    assert model.apply(bus_key("b"), {"Name": "b"}) is None
    model.apply(rule_key("b", "z"), {"Name": "z", "EventBusName": "b"})
    model.apply(rule_key("b", "a"), {"Name": "a", "EventBusName": "b"})
    model.apply(rule_key("default", "m"), {"Name": "m", "EventBusName": "default"})
    assert [r["Name"] for r in model.rules("b")] == ["a", "z"]
    assert len(model.rules()) == 3
    assert model.apply(bus_key("nope"), None) is None
    assert model.apply(bus_key("b"), None).new is None
    assert model.bus_names() == ["default"]


def test_decode_record_refuses_non_objects() -> None:
    assert decode_record(None) is None
    with pytest.raises(ValueError, match="JSON list, not an object"):
        decode_record(b"[1]")
