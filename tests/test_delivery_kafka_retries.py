"""Durable retries for a Kafka target on another cluster: while that cluster is down, the
router parks each failed event as a job in a retry topic of its own cluster and goes on; once
the cluster is back, the delivery service delivers every parked event, also when the worker
that parked them was killed (kill -9) in between."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient

from streams.arns import kafka_topic_arn
from streams.delivery.breaker import MAX_COOLING_S
from streams.embedded_kafka import EmbeddedKafka, port_free
from streams.jobs import Job
from streams.retry_schedule import TIERS_S
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.support import WorkerProcess, running, unique
from tests.test_api_support import client_for, read_topic
from tests.test_router_support import end_offsets, read_all

pytestmark = pytest.mark.kafka

REMOTE = "remote"
# Jobs held by a destination's open breaker reach it within two cooling periods of its return:
# the longer the outage (on a loaded machine, the slower the test), the longer those periods.
RECOVERY_S = 2 * MAX_COOLING_S + 60


def ports_below_the_ephemeral_range(count: int) -> list[int]:
    """Free ports that no client socket is given as its own: a client that keeps dialling a port
    of the ephemeral range on loopback while nothing listens there can connect to itself (TCP
    simultaneous open) and so hold the very port the broker is to take when it comes up."""
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(20_000, 32_000)
        if port not in ports and port_free(port):
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    """A second cluster (one embedded broker), on ports of its own, not started: each test
    starts it when it wants it up."""
    port, controller_port = ports_below_the_ephemeral_range(2)
    broker = EmbeddedKafka(tmp_path_factory.mktemp("remote"), port, Settings.from_env().kafka_lib,
                           controller_port=controller_port)
    try:
        yield broker
    finally:
        broker.stop()


def worker_for(kafka_bootstrap: str, remote: EmbeddedKafka, **same: str) -> WorkerProcess:
    return WorkerProcess(kafka_bootstrap, extra_env={"BUSBAR_CLUSTERS": f"{REMOTE}={remote.bootstrap}"}, **same)


def route_to_remote(events: BaseClient, topic: str) -> str:
    """A rule sending source `name` to `topic` on the remote cluster; returns the name."""
    name = unique("r")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    arn = kafka_topic_arn("us-east-1", "000000000000", topic, cluster=REMOTE)
    answer = events.put_targets(Rule=name, Targets=[{"Id": "remote", "Arn": arn}])
    assert answer["FailedEntryCount"] == 0
    return name


def put(events: BaseClient, source: str, n: int) -> set[str]:
    entries = [{"Source": source, "DetailType": "t", "Detail": json.dumps({"n": i})} for i in range(n)]
    answer = events.put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 0
    return {entry["EventId"] for entry in answer["Entries"]}


def parked(worker: WorkerProcess, wanted: set[str], timeout: float = 60.0) -> set[str]:
    """Ids of the wanted events parked in the worker's retry topics, waiting until all are or time runs out."""
    deadline, found = time.monotonic() + timeout, set()
    while time.monotonic() < deadline:
        for tier in TIERS_S:
            topic = worker.topics.retry(tier)
            if any(end_offsets(worker.bootstrap, topic).values()):
                for record in read_all(worker.bootstrap, topic):
                    found.add(json.loads(Job.decode(record.value(), 0).payload)["id"])
        if wanted <= found:
            break
        time.sleep(1)
    return found & wanted


def arrived(remote: EmbeddedKafka, topic: str, wanted: set[str], timeout: float) -> set[str]:
    records = read_topic(remote.bootstrap, topic, lambda got: wanted <= {r["id"] for r in got}, timeout)
    return {record["id"] for record in records} & wanted


def bring_up(remote: EmbeddedKafka, topic: str) -> None:
    remote.start()
    ensure_topics(remote.bootstrap, {topic: {}}, partitions=2, replication=1)


def test_a_target_cluster_down_then_up_gets_every_parked_event(kafka_bootstrap: str, remote: EmbeddedKafka,
                                                               worker_logs: Path) -> None:
    topic = unique("orders")
    with running(worker_for(kafka_bootstrap, remote), worker_logs) as worker:
        events = client_for(worker.url)
        source = route_to_remote(events, topic)
        sent = put(events, source, 10)
        assert parked(worker, sent) == sent  # each failed once (the produce timed out) and waits in Kafka
        other = unique("local")  # meanwhile the router goes on routing everything else
        ensure_topics(kafka_bootstrap, {other: {}}, partitions=1, replication=1)
        events.put_rule(Name=other, EventPattern=json.dumps({"source": [other]}))
        events.put_targets(Rule=other, Targets=[{"Id": "t", "Arn": kafka_topic_arn("us-east-1", "000000000000",
                                                                                      other)}])
        local = put(events, other, 5)
        assert {r["id"] for r in read_topic(kafka_bootstrap, other, lambda got: len(got) >= 5, 30)} == local
        bring_up(remote, topic)
        try:
            assert arrived(remote, topic, sent, RECOVERY_S) == sent
        finally:
            remote.stop()


def test_parked_retries_survive_a_kill_9_of_the_worker(kafka_bootstrap: str, remote: EmbeddedKafka,
                                                      worker_logs: Path) -> None:
    topic = unique("orders")
    first = worker_for(kafka_bootstrap, remote).start(worker_logs)
    try:
        events = client_for(first.url)
        source = route_to_remote(events, topic)
        sent = put(events, source, 10)
        assert parked(first, sent) == sent
    finally:
        first.kill()
    bring_up(remote, topic)
    try:
        second = worker_for(kafka_bootstrap, remote, prefix=first.prefix, app_id=first.prefix)
        second.start(worker_logs, timeout=120)  # Faust's group waits out the killed member's session first
        try:
            assert arrived(remote, topic, sent, 120) == sent
        finally:
            second.stop()
    finally:
        remote.stop()
