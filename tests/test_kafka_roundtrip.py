"""The fixture's broker is a real Kafka: records, keys and headers survive a produce/consume trip."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer

from streams.envelope import decode_json, encode_json, new_event
from streams.topics import ensure_topics
from tests.support import unique

pytestmark = pytest.mark.kafka


def test_envelope_round_trip_through_kafka(kafka_bootstrap: str) -> None:
    topic = unique("roundtrip")
    ensure_topics(kafka_bootstrap, {topic: {}}, partitions=2, replication=1)
    events = [new_event(source="test.roundtrip", detail_type="Tick", detail={"n": n}, account="000000000000",
                        region="us-east-1") for n in range(50)]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for event in events:
        producer.produce(topic, key=event["id"].encode(), value=encode_json(event), headers={"busbar-rule": b"r1"})
    assert producer.flush(10) == 0

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": unique("g"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = {}
    deadline = time.monotonic() + 30
    while len(got) < len(events) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        event = decode_json(msg.value())
        assert msg.key().decode() == event["id"]
        assert dict(msg.headers()) == {"busbar-rule": b"r1"}
        got[event["id"]] = event
    consumer.close()
    assert got == {e["id"]: e for e in events}
