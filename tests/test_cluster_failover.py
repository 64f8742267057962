"""A broker of a three-broker cluster dies while busbar routes: nothing is lost, routing goes on.

This is the setup users run in production (replication factor 3, min.insync.replicas 2): a
write acknowledged by two brokers survives the loss of any one, so every event PutEvents
accepted must reach the rule's target, at least once (duplicates are allowed, and counted
out by event id), both those in flight when the broker dies and those put after it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from confluent_kafka.admin import AdminClient

from streams.arns import kafka_topic_arn
from streams.embedded_kafka import EmbeddedCluster
from streams.topics import ensure_topics
from tests.support import WorkerProcess, running, unique
from tests.test_api_support import client_for, read_topic

pytestmark = pytest.mark.kafka

BATCHES = 40
BATCH = 10
KILL_AFTER_BATCHES = 10


@pytest.fixture(scope="module")
def worker(kafka_cluster: EmbeddedCluster, worker_logs: Path) -> Iterator[WorkerProcess]:
    with running(WorkerProcess(kafka_cluster.bootstrap, extra_env={"BUSBAR_REPLICATION": "3"}), worker_logs) as proc:
        yield proc


class Producer(threading.Thread):
    """Puts BATCHES batches of events through PutEvents, recording each accepted id per batch."""

    def __init__(self, events: BaseClient, bus: str) -> None:
        super().__init__(daemon=True)
        self.events, self.bus = events, bus
        self.accepted: list[list[str]] = []
        self.failed: list[dict[str, object]] = []

    def run(self) -> None:
        for batch in range(BATCHES):
            entries = [{"EventBusName": self.bus, "Source": "ha", "DetailType": "Tick",
                        "Detail": json.dumps({"batch": batch, "n": n})} for n in range(BATCH)]
            answer = self.events.put_events(Entries=entries)
            self.failed += [entry for entry in answer["Entries"] if "ErrorCode" in entry]
            self.accepted.append([entry["EventId"] for entry in answer["Entries"] if "ErrorCode" not in entry])
            time.sleep(0.05)


def leader_of(admin: AdminClient, topic: str) -> int:
    return admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader


def test_killing_a_broker_loses_no_event(kafka_cluster: EmbeddedCluster, worker: WorkerProcess) -> None:
    events = client_for(worker.url)
    bus, target = unique("ha"), unique("ha-target")
    ensure_topics(kafka_cluster.bootstrap, {target: {}}, partitions=4, replication=3)
    events.create_event_bus(Name=bus)
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["ha"]}))
    events.put_targets(Rule="all", EventBusName=bus,
                       Targets=[{"Id": "t", "Arn": kafka_topic_arn("us-east-1", "000000000000", target)}])

    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap, "log_level": 0})
    producer = Producer(events, bus)
    producer.start()
    while len(producer.accepted) < KILL_AFTER_BATCHES and producer.is_alive():
        time.sleep(0.05)
    victim = leader_of(admin, worker.topics.bus(bus))
    kafka_cluster.kill(victim)
    killed_after = len(producer.accepted)
    producer.join(120)
    assert not producer.is_alive()

    assert producer.failed == []
    sent = {event_id for batch in producer.accepted for event_id in batch}
    after_kill = {event_id for batch in producer.accepted[killed_after:] for event_id in batch}
    assert len(sent) == BATCHES * BATCH and len(after_kill) >= (BATCHES - KILL_AFTER_BATCHES - 1) * BATCH
    records = read_topic(kafka_cluster.bootstrap, target, lambda got: sent <= {r["id"] for r in got}, 90.0)
    arrived = {r["id"] for r in records}
    assert sent - arrived == set(), f"{len(sent - arrived)} of {len(sent)} events never reached the target"
    assert after_kill <= arrived  # routing went on without the dead broker
    assert leader_of(admin, worker.topics.bus(bus)) != victim

    # Every topic busbar created here is kept on all three brokers.
    topics = admin.list_topics(timeout=10).topics
    ours = [name for name in topics if name.startswith(worker.prefix)]
    assert worker.topics.bus(bus) in ours and worker.topics.config in ours
    assert {name: {len(p.replicas) for p in topics[name].partitions.values()} for name in ours} == {
        name: {3} for name in ours}
