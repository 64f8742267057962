"""Replays through stock boto3 against a running worker: an archived run of events replayed to
the chosen rules only, inside its time window, marked with the replay's name and not archived
again; progress and completion in DescribeReplay; cancelling; AWS's errors."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from confluent_kafka import Producer

from tests.support import WorkerProcess, unique
from tests.test_api_rules import error_code as code
from tests.test_api_support import client_for, raw_post
from tests.test_router_support import headers, read_all, wait_routed

pytestmark = pytest.mark.kafka

ACCOUNT_ARN = "arn:aws:events:us-east-1:000000000000"
FINAL = ("COMPLETED", "CANCELLED", "FAILED")


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


def bus_arn(bus: str) -> str:
    return f"{ACCOUNT_ARN}:event-bus/{bus}"


def rule_to_topic(events: BaseClient, bus: str, rule: str, topic: str) -> str:
    arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[
        {"Id": "t", "Arn": f"arn:aws:kafka:us-east-1:000000000000:topic/local/{topic}"}])
    return arn


def put(events: BaseClient, bus: str, count: int, batch: str) -> None:
    entries = [{"EventBusName": bus, "Source": "shop", "DetailType": "order", "Detail": json.dumps({"batch": batch,
                                                                                                   "n": i})}
               for i in range(count)]
    for at in range(0, count, 10):  # PutEvents takes 10 entries a call
        assert events.put_events(Entries=entries[at:at + 10])["FailedEntryCount"] == 0


def wait_replay(events: BaseClient, name: str, states: tuple[str, ...] = FINAL, timeout: float = 120.0
                ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replay = events.describe_replay(ReplayName=name)
        if replay["State"] in states:
            return replay
        time.sleep(0.1)
    raise AssertionError(f"replay {name} not in {states} within {timeout}s: {replay}")


def test_an_archived_run_replays_to_the_chosen_rules_only_inside_its_window(
        events: BaseClient, busbar_worker: WorkerProcess) -> None:
    bus, worker = unique("rp"), busbar_worker
    events.create_event_bus(Name=bus)
    out_a, out_b = unique("out-a"), unique("out-b")
    rule_a = rule_to_topic(events, bus, "a", out_a)
    rule_to_topic(events, bus, "b", out_b)
    archive = unique("arc")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))["ArchiveArn"]
    router, bus_topic = f"{worker.prefix}-router", worker.topics.bus(bus)

    started = time.time()
    put(events, bus, 20, "first")
    wait_routed(worker.bootstrap, router, bus_topic)
    time.sleep(1.1)
    between = time.time()
    time.sleep(1.1)
    put(events, bus, 10, "second")
    wait_routed(worker.bootstrap, router, bus_topic)
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 30
    live_a, live_b = len(read_all(worker.bootstrap, out_a)), len(read_all(worker.bootstrap, out_b))

    name = unique("replay")
    started_replay = events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=started - 1,
                                         EventEndTime=between, Destination={"Arn": bus_arn(bus),
                                                                           "FilterArns": [rule_a]})
    assert started_replay["State"] == "STARTING"
    replay = wait_replay(events, name)
    assert replay["State"] == "COMPLETED", replay
    assert replay["EventLastReplayedTime"].timestamp() < between
    assert replay["ReplayEndTime"] >= replay["ReplayStartTime"]
    wait_routed(worker.bootstrap, router, worker.topics.replay(bus))

    all_a = read_all(worker.bootstrap, out_a)
    assert len(all_a) == live_a + 20  # the first run, not the second, which came after the window
    to_a = [m for m in all_a if "replay-name" in orjson.loads(m.value())]
    replayed = [orjson.loads(m.value()) for m in to_a]
    assert len(replayed) == 20 and {e["replay-name"] for e in replayed} == {name}
    assert {e["detail"]["batch"] for e in replayed} == {"first"}
    assert {headers(m)["busbar-rule"] for m in to_a} == {"a"}
    assert len(read_all(worker.bootstrap, out_b)) == live_b  # rule b was not chosen
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 30  # nothing archived again

    # Without FilterArns every rule of the bus gets the replayed events (and still no archive).
    everything = unique("replay")
    events.start_replay(ReplayName=everything, EventSourceArn=archive_arn, EventStartTime=started - 1,
                        EventEndTime=time.time(), Destination={"Arn": bus_arn(bus)})
    assert wait_replay(events, everything)["State"] == "COMPLETED"
    wait_routed(worker.bootstrap, router, worker.topics.replay(bus))
    assert len(read_all(worker.bootstrap, out_b)) == live_b + 30
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 30

    listed = events.list_replays(NamePrefix=name)["Replays"]
    assert [(r["ReplayName"], r["State"], r["EventSourceArn"]) for r in listed] == [(name, "COMPLETED", archive_arn)]
    assert {r["ReplayName"] for r in events.list_replays(EventSourceArn=archive_arn)["Replays"]} == {name, everything}
    # The progress busbar adds to DescribeReplay (boto3 drops members it does not model).
    status, body, _ = raw_post(worker.url, json.dumps({"ReplayName": name}).encode(), "AWSEvents.DescribeReplay")
    assert status == 200 and body["EventsReplayed"] == body["EventsTotal"] == 20


def archive_directly(bootstrap: str, topic: str, count: int) -> float:
    """`count` events with ids "0".. written straight to an archive topic (as the router would have);
    returns their time."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 10_000,
                         "queue.buffering.max.messages": 1_000_000})
    stamp = time.time()
    for n in range(count):
        value = orjson.dumps({"version": "0", "id": str(n), "detail-type": "t", "source": "bulk",
                              "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                              "resources": [], "detail": {}})
        while True:
            try:
                producer.produce(topic, value, str(n).encode())
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0
    return stamp


def test_a_running_replay_shows_progress_and_stops_when_cancelled(
        events: BaseClient, busbar_worker: WorkerProcess) -> None:
    bus = unique("rc")
    events.create_event_bus(Name=bus)
    archive = unique("big")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))["ArchiveArn"]
    stamp = archive_directly(busbar_worker.bootstrap, busbar_worker.topics.archive(archive), 300_000)
    name = unique("cancel")
    events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=stamp - 5,
                        EventEndTime=time.time() + 1, Destination={"Arn": bus_arn(bus)})
    wait_replay(events, name, ("RUNNING", *FINAL))
    assert events.cancel_replay(ReplayName=name)["State"] == "CANCELLING"
    replay = wait_replay(events, name)
    assert replay["State"] == "CANCELLED"
    _, body, _ = raw_post(busbar_worker.url, json.dumps({"ReplayName": name}).encode(), "AWSEvents.DescribeReplay")
    assert body["EventsTotal"] == 300_000
    assert 0 <= body["EventsReplayed"] < 300_000
    with pytest.raises(ClientError) as again:
        events.cancel_replay(ReplayName=name)
    assert code(again) == "IllegalStatusException"


def test_errors_as_aws_answers_them(events: BaseClient) -> None:
    bus, other = unique("re"), unique("re")
    events.create_event_bus(Name=bus)
    events.create_event_bus(Name=other)
    archive = unique("arc")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))["ArchiveArn"]
    now = time.time()
    name = unique("r")
    events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=now - 60, EventEndTime=now,
                        Destination={"Arn": bus_arn(bus)})

    def start(**changes: Any) -> Any:
        args = {"ReplayName": unique("r"), "EventSourceArn": archive_arn, "EventStartTime": now - 60,
                "EventEndTime": now, "Destination": {"Arn": bus_arn(bus)}, **changes}
        return events.start_replay(**args)

    cases = [
        (lambda: start(ReplayName=name), "ResourceAlreadyExistsException"),
        (lambda: start(EventSourceArn=f"{ACCOUNT_ARN}:archive/{unique('none')}"), "ResourceNotFoundException"),
        (lambda: start(EventSourceArn=bus_arn(bus)), "ValidationException"),
        (lambda: start(EventStartTime=now, EventEndTime=now - 60), "ValidationException"),
        (lambda: start(Destination={"Arn": bus_arn(other)}), "ValidationException"),
        (lambda: start(Destination={"Arn": bus_arn(bus), "FilterArns": [f"{ACCOUNT_ARN}:rule/{bus}/none"]}),
         "ResourceNotFoundException"),
        (lambda: start(Destination={"Arn": bus_arn(bus), "FilterArns": [f"{ACCOUNT_ARN}:rule/{other}/x"]}),
         "ValidationException"),
        (lambda: events.describe_replay(ReplayName=unique("none")), "ResourceNotFoundException"),
        (lambda: events.cancel_replay(ReplayName=unique("none")), "ResourceNotFoundException"),
        (lambda: events.list_replays(NamePrefix="r", State="RUNNING"), "ValidationException"),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == expected, call
    assert wait_replay(events, name)["State"] == "COMPLETED"  # an empty window completes at once
