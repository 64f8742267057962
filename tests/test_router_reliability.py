"""Records that used to stop the router, sent the way any API user or Kafka producer can, and
the lag a restarted router reports. Each ends in a dead-letter queue with the reason, and the
events after it are routed by the same, still healthy, worker."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from botocore.client import BaseClient
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from streams.arns import kafka_topic_arn
from tests.support import WorkerProcess, http_status, unique
from tests.test_api_support import client_for
from tests.test_router_support import create_topics, event, headers, put, read_all, wait_routed

pytestmark = pytest.mark.kafka

REGION, ACCOUNT = "us-east-1", "000000000000"


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


def route_to(events: BaseClient, bus: str, target_spec: dict[str, object]) -> str:
    """A bus with one rule for source `poison-test` and one target; the target topic's name."""
    events.create_event_bus(Name=bus)
    topic = unique("reliable-target")
    events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["poison-test"]}))
    events.put_targets(Rule="r", EventBusName=bus, Targets=[
        {"Id": "t", "Arn": kafka_topic_arn(REGION, ACCOUNT, topic), **target_spec}])
    return topic


def settle(kafka_bootstrap: str, worker: WorkerProcess, bus: str) -> None:
    wait_routed(kafka_bootstrap, f"{worker.prefix}-router", worker.topics.bus(bus), timeout=60)
    assert http_status(f"{worker.url}/health") == 200, worker.log_tail()


def test_a_shaped_input_larger_than_kafka_takes_is_dead_lettered_with_its_event(
        kafka_bootstrap: str, busbar_worker: WorkerProcess, events: BaseClient) -> None:
    bus = unique("shaped")
    template = "[" + ",".join(["<aws.events.event.json>"] * 6) + "]"
    topic = route_to(events, bus, {"InputTransformer": {"InputTemplate": template}})
    create_topics(kafka_bootstrap, topic)
    big = events.put_events(Entries=[{"EventBusName": bus, "Source": "poison-test", "DetailType": "big",
                                      "Detail": json.dumps({"blob": "x" * 200_000})}])
    small = events.put_events(Entries=[{"EventBusName": bus, "Source": "poison-test", "DetailType": "small",
                                        "Detail": "{}"}])
    settle(kafka_bootstrap, busbar_worker, bus)
    (letter,) = read_all(kafka_bootstrap, busbar_worker.topics.dlq(bus))
    assert orjson.loads(letter.value())["id"] == big["Entries"][0]["EventId"]  # the event itself, which fits
    assert "more than the 1048588 its destination accepts" in headers(letter)["busbar-error"]
    (delivered,) = read_all(kafka_bootstrap, topic)
    assert orjson.loads(delivered.value())[0]["id"] == small["Entries"][0]["EventId"]


def test_records_as_large_as_a_bus_topic_takes_are_dead_lettered_whole(
        kafka_bootstrap: str, busbar_worker: WorkerProcess, events: BaseClient) -> None:
    bus = unique("huge")
    topic = route_to(events, bus, {})
    create_topics(kafka_bootstrap, topic)
    bus_topic = busbar_worker.topics.bus(bus)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap, "log_level": 0})
    for future in admin.incremental_alter_configs([ConfigResource(
            "topic", bus_topic, incremental_configs=[ConfigEntry("max.message.bytes", str(3 * 1024 * 1024),
                                             incremental_operation=AlterConfigOpType.SET)])]).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 4 * 1024 * 1024})
    one_mb, two_mb = b"x" * 1_000_000, b"y" * 2_000_000
    for value in (one_mb, two_mb):
        producer.produce(bus_topic, value, b"k")
    producer.flush(30)
    after = event("poison-test")
    put(kafka_bootstrap, bus_topic, [after], key=b"k")
    settle(kafka_bootstrap, busbar_worker, bus)
    letters = read_all(kafka_bootstrap, busbar_worker.topics.dlq(bus))
    assert [msg.value() for msg in letters] == [one_mb, two_mb]
    assert all("invalid envelope" in headers(msg)["busbar-error"] for msg in letters)
    assert [orjson.loads(msg.value())["id"] for msg in read_all(kafka_bootstrap, topic)] == [after["id"]]


def test_an_event_nested_deeper_than_the_encoder_goes_is_dead_lettered(
        kafka_bootstrap: str, busbar_worker: WorkerProcess, events: BaseClient) -> None:
    bus = unique("deep")
    topic = route_to(events, bus, {"InputPath": "$.detail"})
    create_topics(kafka_bootstrap, topic)
    deep = event("poison-test", {"n": "DEEP"})
    raw = orjson.dumps(deep).replace(b'"DEEP"', b'{"n":' * 1000 + b"{}" + b"}" * 1000)
    after = event("poison-test", {"n": 1})
    put(kafka_bootstrap, busbar_worker.topics.bus(bus), [raw, after], key=b"k")
    settle(kafka_bootstrap, busbar_worker, bus)
    (letter,) = read_all(kafka_bootstrap, busbar_worker.topics.dlq(bus))
    assert letter.value() == raw
    assert headers(letter)["busbar-error"]
    assert [msg.value() for msg in read_all(kafka_bootstrap, topic)] == [b'{"n":1}']


def lag_series(worker: WorkerProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"{worker.url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("busbar_router_consumer_lag{")}


def test_a_restarted_router_reports_no_lag_for_what_it_had_committed(kafka_bootstrap: str,
                                                                     worker_logs: Path) -> None:
    worker = WorkerProcess(kafka_bootstrap).start(worker_logs)
    try:
        put(kafka_bootstrap, worker.topics.bus("default"), [event("lag-test") for _ in range(200)])
        wait_routed(kafka_bootstrap, f"{worker.prefix}-router", worker.topics.bus("default"), timeout=60)
    finally:
        worker.stop()
    restarted = WorkerProcess(kafka_bootstrap, prefix=worker.prefix).start(worker_logs)
    try:
        deadline = time.monotonic() + 30
        while not (series := lag_series(restarted)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert series, "no lag series exported"
        assert set(series.values()) == {0.0}, series
    finally:
        restarted.stop()
