"""What the router tests share: putting events on a bus, waiting until the router has
committed them, and reading what reached a topic. No tests here.

"Routed" is judged by the router's committed offsets, not by waiting a while: the router
commits a batch only after every record for it is acknowledged, so once the group's
offsets reach a bus topic's end, everything those events caused is readable, and anything
absent was (correctly or not) never produced.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streams.envelope import new_event
from streams.model import bus_key, rule_key
from streams.topics import TopicNames, ensure_topics

REGION, ACCOUNT = "us-east-1", "000000000000"
PARTITIONS = 2


def event(source: str, detail: dict[str, Any] | None = None, detail_type: str = "test") -> dict[str, Any]:
    return new_event(source=source, detail_type=detail_type, detail=detail or {}, account=ACCOUNT, region=REGION)


def topic_arn(topic: str, cluster: str = "local") -> str:
    return f"arn:aws:kafka:{REGION}:{ACCOUNT}:topic/{cluster}/{topic}"


def bus_target_arn(bus: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"


def rule(bus: str, name: str, pattern: dict[str, Any], targets: list[dict[str, Any]],
         state: str = "ENABLED") -> tuple[str, dict[str, Any]]:
    return rule_key(bus, name), {"Name": name, "EventBusName": bus, "EventPattern": orjson.dumps(pattern).decode(),
                                 "State": state, "Targets": targets}


def create_bus(bootstrap: str, topics: TopicNames, bus: str) -> tuple[str, dict[str, Any]]:
    """The bus's topics (as the API would create them) and its config record, to write."""
    ensure_topics(bootstrap, {topics.bus(bus): {}, topics.dlq(bus): {}}, partitions=PARTITIONS, replication=1)
    return bus_key(bus), {"Name": bus}


def create_topics(bootstrap: str, *names: str) -> None:
    ensure_topics(bootstrap, dict.fromkeys(names, {}), partitions=PARTITIONS, replication=1)


def put(bootstrap: str, topic: str, records: list[dict[str, Any] | bytes], key: bytes | None = None) -> None:
    """Events (dicts) or raw records (bytes) onto a bus topic, in order when they share a key."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for record in records:
        value = record if isinstance(record, bytes) else orjson.dumps(record)
        producer.produce(topic, value, key if key is not None else uuid.uuid4().bytes)
    assert producer.flush(30) == 0


NO_LEADER_YET = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                           KafkaError.UNKNOWN_TOPIC_OR_PART})


def end_offsets(bootstrap: str, topic: str, timeout: float = 15.0) -> dict[int, int]:
    """Each partition's end offset; a topic created a moment ago may not have its leaders yet
    (NOT_LEADER_FOR_PARTITION), which is retried until timeout."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "busbar-test-reader", "log_level": 0})
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
                return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
            except KafkaException as exc:
                err = exc.args[0]
                if not (err.retriable() or err.code() in NO_LEADER_YET) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        consumer.close()


def wait_routed(bootstrap: str, group: str, topic: str, timeout: float = 30.0) -> float:
    """Wait until the router group has committed the whole bus topic; returns the seconds it took."""
    started = time.monotonic()
    ends = end_offsets(bootstrap, topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        while time.monotonic() - started < timeout:
            committed = consumer.committed([TopicPartition(topic, p) for p in ends], timeout=10)
            if all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in committed):
                return time.monotonic() - started
            time.sleep(0.1)
    finally:
        consumer.close()
    raise AssertionError(f"router group {group} did not commit {topic} up to {ends} within {timeout}s")


def read_all(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every record on the topic now (up to each partition's end offset). On a topic written in
    transactions the last offsets may be commit markers, never delivered: a partition's end of
    file at its end offset says it was read."""
    ends = {p: end for p, end in end_offsets(bootstrap, topic).items() if end > 0}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "busbar-test-reader", "log_level": 0,
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    records: list[Message] = []
    positions = dict.fromkeys(ends, 0)
    deadline = time.monotonic() + timeout
    try:
        while any(positions[p] < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to {ends} within {timeout}s (at {positions})")
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is None:
                    records.append(msg)
                    positions[msg.partition()] = msg.offset() + 1
                elif msg.error().code() == KafkaError._PARTITION_EOF:
                    positions[msg.partition()] = max(positions[msg.partition()], msg.offset())
    finally:
        consumer.close()
    return records


def ids(records: list[Message]) -> list[str]:
    return [orjson.loads(msg.value())["id"] for msg in records]


def headers(msg: Message) -> dict[str, str]:
    return {name: value.decode() for name, value in (msg.headers() or [])}
