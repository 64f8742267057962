"""Correlation rules in a real worker: events put over the EventBridge API, derived events routed by
ordinary rules to a Kafka topic, windows kept across a restart and across a kill -9."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.credentials import Credentials
from confluent_kafka import Consumer, TopicPartition

from streams.busbar_client import BusbarClient
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for, high_watermarks, read_topic
from tests.test_router_support import topic_arn

pytestmark = pytest.mark.kafka



def failed_logins(url: str, bus: str, ip: str, count: int, start: int) -> None:
    entries = [{"EventBusName": bus, "Source": "aws.signin", "DetailType": "Login Failed",
                "Detail": f'{{"sourceIPAddress": "{ip}", "attempt": {start + n}}}'} for n in range(count)]
    assert client_for(url).put_events(Entries=entries)["FailedEntryCount"] == 0


def setup_bus(worker: WorkerProcess) -> tuple[str, str]:
    bus, topic = unique("sec"), unique("findings")
    events = client_for(worker.url)
    events.create_event_bus(Name=bus)
    events.put_rule(Name="derived", EventBusName=bus, EventPattern='{"source": ["busbar.correlation"]}')
    events.put_targets(Rule="derived", EventBusName=bus, Targets=[{"Id": "t", "Arn": topic_arn(topic)}])
    BusbarClient(worker.url, "us-east-1", Credentials("test", "test")).put_correlation({
        "name": "brute-force", "bus": bus, "type": "event_count", "pattern": {"detail-type": ["Login Failed"]},
        "group-by": ["detail.sourceIPAddress"], "timespan": "5m", "condition": {"gte": 5}, "lateness": "1m"})
    return bus, topic


def wait_committed(bootstrap: str, group: str, topic: str, count: int, timeout: float = 30.0) -> None:
    """Until the Faust group has committed `count` records of the topic (and that is all there is)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
            if done == count == high_watermarks(bootstrap, topic):
                return
            time.sleep(0.3)
    finally:
        consumer.close()
    raise AssertionError(f"group {group} did not commit {count} records of {topic} within {timeout}s")


def derived(worker: WorkerProcess, topic: str, expected: int, settle_s: float = 6.0) -> list[dict]:
    """What reached the topic once `expected` records have, after a while more for any extra one."""
    read_topic(worker.bootstrap, topic, lambda found: len(found) >= expected, timeout=60)
    time.sleep(settle_s)
    return read_topic(worker.bootstrap, topic, lambda found: False, timeout=3)


def test_fires_once_per_group_and_keeps_counts_over_a_restart(own_worker: WorkerProcess, worker_logs: Path) -> None:
    worker = own_worker
    bus, topic = setup_bus(worker)
    failed_logins(worker.url, bus, "203.0.113.9", 3, 0)
    failed_logins(worker.url, bus, "198.51.100.7", 4, 0)  # one short of the condition
    # Once the agent has committed every observation, the restarted worker does not read them
    # again: the counts it goes on from can only come from the table's changelog.
    wait_committed(worker.bootstrap, worker.prefix, worker.topics.correlation, 7)
    assert high_watermarks(worker.bootstrap, f"{worker.prefix}-correlation-windows-changelog") >= 7
    worker.stop()
    worker.start(worker_logs)
    failed_logins(worker.url, bus, "203.0.113.9", 4, 3)  # the 4th and 5th, and one past the threshold
    found = derived(worker, topic, 1)
    assert len(found) == 1, found
    detail = found[0]["detail"]
    assert found[0]["source"] == "busbar.correlation" and found[0]["detail-type"] == "brute-force"
    assert detail["groupBy"] == {"detail.sourceIPAddress": "203.0.113.9"}
    assert detail["count"] == 5 and len(detail["eventIds"]) == 5


def test_a_worker_killed_mid_window_loses_nothing(own_worker: WorkerProcess, worker_logs: Path) -> None:
    worker = own_worker
    bus, topic = setup_bus(worker)
    failed_logins(worker.url, bus, "192.0.2.44", 3, 0)
    time.sleep(3)
    worker.kill()
    worker.start(worker_logs)
    failed_logins(worker.url, bus, "192.0.2.44", 2, 3)
    found = derived(worker, topic, 1)
    assert [record["detail"]["groupBy"] for record in found] == [{"detail.sourceIPAddress": "192.0.2.44"}]
    assert found[0]["detail"]["count"] == 5
