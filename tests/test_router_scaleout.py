"""Two workers with one app id share the bus partitions; one is killed mid-stream.

At least once means: every event reaches its target although a worker died with a batch
produced but not committed. Duplicates are expected (the survivor re-routes what the dead
worker had not committed); they are counted and printed, not forbidden.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streams.config_store import ConfigStore
from tests.support import WorkerProcess, unique
from tests.test_router_support import create_topics, event, ids, put, read_all, rule, topic_arn, wait_routed

pytestmark = pytest.mark.kafka

EVENTS = 20_000
RATE = 5_000  # events/s offered, so that the kill lands while events are still arriving
KILL_AFTER_S = 1.5


def wait_members(bootstrap: str, group: str, count: int, timeout: float = 60.0) -> list[set[tuple[str, int]]]:
    """Until `count` routers are in the group, each owning partitions; what each owns."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        description = admin.describe_consumer_groups([group])[group].result()
        members = [m for m in description.members if m.assignment.topic_partitions]
        if len(members) == count:
            return [{(tp.topic, tp.partition) for tp in m.assignment.topic_partitions} for m in members]
        time.sleep(0.3)
    raise AssertionError(f"{group} did not reach {count} members with partitions within {timeout}s")


def put_steadily(bootstrap: str, topic: str, events: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    started = time.monotonic()
    for n, value in enumerate(events):
        producer.produce(topic, value, orjson.loads(value)["id"].encode())
        if n % 500 == 0:
            producer.poll(0)
            ahead = n / RATE - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    assert producer.flush(30) == 0


def test_every_event_arrives_when_one_of_two_workers_is_killed(kafka_bootstrap: str, worker_logs: Path) -> None:
    prefix = unique("scale")
    workers = [WorkerProcess(kafka_bootstrap, prefix=prefix) for _ in range(2)]
    try:
        for worker in workers:
            worker.start(worker_logs)
        names = workers[0].topics
        target = unique("scale-target")
        create_topics(kafka_bootstrap, target)
        store = ConfigStore(kafka_bootstrap, names.config)
        store.start()
        store.write(*rule("default", "all", {"source": ["load"]}, [{"Id": "t", "Arn": topic_arn(target)}]))
        store.stop()
        owned = wait_members(kafka_bootstrap, f"{prefix}-router", 2)
        # One bus is served by both workers: its partitions are spread, not the topic handed whole to one.
        assert all(any(topic == names.bus("default") for topic, _ in partitions) for partitions in owned), owned

        events = [orjson.dumps(event("load", {"n": n})) for n in range(EVENTS)]
        producing = threading.Thread(target=put_steadily, args=(kafka_bootstrap, names.bus("default"), events))
        producing.start()
        time.sleep(KILL_AFTER_S)
        workers[0].kill()
        producing.join()

        took = wait_routed(kafka_bootstrap, f"{prefix}-router", names.bus("default"), timeout=90)
        arrived = Counter(ids(read_all(kafka_bootstrap, target)))
        sent = {orjson.loads(value)["id"] for value in events}
        missing = sent - set(arrived)
        duplicates = sum(n - 1 for n in arrived.values())
        print(f"\nscale-out: {len(sent)} events, {len(arrived)} distinct arrived, {duplicates} duplicates, "
              f"all committed {took:.1f}s after the last put")
        assert not missing, f"{len(missing)} events never reached the target"
        assert set(arrived) == sent
    finally:
        for worker in workers:
            worker.stop()


def test_a_worker_restarted_with_its_instance_id_takes_its_partitions_back_at_once(kafka_bootstrap: str,
                                                                                   worker_logs: Path) -> None:
    """Static membership (classic protocol): the restarted worker replaces its dead self in the
    group straight away, rather than joining beside it and waiting for the dead member's session
    to time out."""
    prefix, instance = unique("static"), unique("worker")
    env = {"BUSBAR_INSTANCE_ID": instance, "BUSBAR_GROUP_PROTOCOL": "classic"}
    first = WorkerProcess(kafka_bootstrap, prefix=prefix, extra_env=env)
    first.start(worker_logs)
    group = f"{prefix}-router"
    try:
        wait_members(kafka_bootstrap, group, 1)
        first.kill()
    finally:
        first.stop()
    again = WorkerProcess(kafka_bootstrap, prefix=prefix, extra_env=env)
    again.start(worker_logs)  # healthy means its router has been assigned its partitions
    try:
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap, "log_level": 0})
        members = admin.describe_consumer_groups([group])[group].result().members
        assert [m.group_instance_id for m in members] == [instance]
        topics = again.topics
        assert topics.bus("default") in {tp.topic for tp in members[0].assignment.topic_partitions}
        events = [event("static", {"n": n}) for n in range(20)]
        put(kafka_bootstrap, topics.bus("default"), events)
        wait_routed(kafka_bootstrap, group, topics.bus("default"), timeout=30)
    finally:
        again.stop()


def test_health_says_ready_only_once_the_router_has_its_partitions(kafka_bootstrap: str, worker_logs: Path) -> None:
    """A worker restarted after a crash waits for its dead predecessor's session before it gets
    partitions; meanwhile /health answers 503 naming the router, and its first 200 comes only
    when the router owns the bus partitions (a load balancer or `busbar up` trusts exactly that)."""
    prefix = unique("ready")
    first = WorkerProcess(kafka_bootstrap, prefix=prefix).start(worker_logs)
    group, bus_topic = f"{prefix}-router", first.topics.bus("default")
    wait_members(kafka_bootstrap, group, 1)
    first.kill()
    first.stop()
    again = WorkerProcess(kafka_bootstrap, prefix=prefix)
    waiting: list[str] = []

    def note_waiting(status: int, body: dict[str, Any]) -> None:
        waiting.extend(body.get("worker", {}).get("waiting_for", []))

    try:
        again.start(worker_logs, until=note_waiting)
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap, "log_level": 0})
        members = admin.describe_consumer_groups([group])[group].result().members
        owned = {(tp.topic, tp.partition) for m in members for tp in m.assignment.topic_partitions}
        # (Whether a 503 naming the router was seen first depends on how fast the worker started
        # compared with the dead member's session: `waiting` is shown, not required.)
        assert len(members) == 1 and bus_topic in {topic for topic, _ in owned}, (members, waiting)
    finally:
        again.stop()
