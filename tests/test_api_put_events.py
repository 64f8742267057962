"""PutEvents through stock boto3: what lands on the bus topics, per-entry failures, limits,
and the whole path PutEvents -> rule -> Kafka topic target (which needs the router)."""

from __future__ import annotations

import json

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from streams.arns import kafka_topic_arn
from streams.topics import ensure_topics
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for, read_topic

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


def entry(bus: str | None = None, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"total": 150})}
    if bus is not None:
        base["EventBusName"] = bus
    return {**base, **overrides}


def test_partial_failure_and_what_lands(events: BaseClient, busbar_worker: WorkerProcess) -> None:
    bus = unique("pe")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    entries = [
        entry(bus, Resources=["arn:aws:s3:::bucket"], Time=1767225600),
        entry(unique("nobus")),
        entry(bus, Detail="{not json"),
        entry(bus, Source=""),
        entry(bus_arn, DetailType="By ARN"),
        entry(bus, Detail="[1, 2]"),
    ]
    result = events.put_events(Entries=entries)
    assert result["FailedEntryCount"] == 4
    results = result["Entries"]
    assert [r.get("ErrorCode") for r in results] == [None, "InvalidArgument", "MalformedDetail", "InvalidArgument",
                                                     None, "MalformedDetail"]
    assert "does not exist" in results[1]["ErrorMessage"]
    assert results[3]["ErrorMessage"] == "Parameter Source is not valid. Reason: Source is a required argument."

    ids = {results[0]["EventId"], results[4]["EventId"]}
    landed = read_topic(busbar_worker.bootstrap, busbar_worker.topics.bus(bus),
                        until=lambda records: ids <= {r["id"] for r in records})
    by_id = {record["id"]: record for record in landed}
    assert set(by_id) == ids  # the failed entries wrote nothing
    first = by_id[results[0]["EventId"]]
    assert first == {"version": "0", "id": results[0]["EventId"], "detail-type": "Order Placed", "source": "shop",
                     "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                     "resources": ["arn:aws:s3:::bucket"], "detail": {"total": 150}}
    assert by_id[results[4]["EventId"]]["detail-type"] == "By ARN"


def test_default_bus(events: BaseClient, busbar_worker: WorkerProcess) -> None:
    event_id = events.put_events(Entries=[entry()])["Entries"][0]["EventId"]
    landed = read_topic(busbar_worker.bootstrap, busbar_worker.topics.bus("default"),
                        until=lambda records: event_id in {r["id"] for r in records})
    assert event_id in {r["id"] for r in landed}


def test_request_limits(events: BaseClient) -> None:
    with pytest.raises(ClientError, match="less than or equal to 10") as exc:
        events.put_events(Entries=[entry()] * 11)
    assert exc.value.response["Error"]["Code"] == "ValidationException"

    big = json.dumps({"pad": "x" * 100_000})
    with pytest.raises(ClientError, match="Total size of the entries") as exc:
        events.put_events(Entries=[entry(Detail=big)] * 3)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_event_reaches_kafka_topic_target(events: BaseClient, busbar_worker: WorkerProcess) -> None:
    """PutEvents -> rule -> Kafka topic target: needs the router running in the worker."""
    bus = unique("e2e")
    target_topic = unique("e2e-target")
    ensure_topics(busbar_worker.bootstrap, {target_topic: {}}, partitions=1, replication=1)
    events.create_event_bus(Name=bus)
    events.put_rule(Name="big", EventBusName=bus,
                    EventPattern=json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}))
    events.put_targets(Rule="big", EventBusName=bus, Targets=[
        {"Id": "topic", "Arn": kafka_topic_arn("us-east-1", "000000000000", target_topic)}])

    result = events.put_events(Entries=[entry(bus, Detail=json.dumps({"total": 50})), entry(bus)])
    assert result["FailedEntryCount"] == 0
    small, large = (r["EventId"] for r in result["Entries"])

    delivered = read_topic(busbar_worker.bootstrap, target_topic,
                           until=lambda records: large in {r.get("id") for r in records})
    ids = [record.get("id") for record in delivered]
    assert large in ids
    assert small not in ids
