"""Replay benchmark: how fast busbar replays archived events, against a plain copy of the topic.

Writes --events events to an archive topic (as the router archives them: the bus record's bytes,
keyed by event id), then replays the whole window with the code a worker runs for a replay
(streams/replay/copier.py: offsets-for-times, `replay-name` spliced into each envelope, the
replay headers, acks=all with idempotence) and reports events replayed per second, from the
start of the replay until Kafka has acknowledged its last event. The peer is the plain
confluent-kafka consume-produce loop a user writes to copy a topic (same producer settings, no
change to the records), run on the same topic; the last line is the ratio.

Run: .venv/bin/python bench/replay.py [--events N] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.brokers import kafka  # noqa: E402
from streams.envelope import new_event  # noqa: E402
from streams.replay.copier import PRODUCER_CONFIG, ReplayCopier  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402

PARTITIONS = 4
BATCH = 10_000


def archive_events(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": BATCH,
                         "queue.buffering.max.messages": 1_000_000, "log_level": 3})
    template = new_event(source="com.example.orders", detail_type="Order Placed", account="000000000000",
                         region="us-east-1", detail={"order": {"id": "o-1", "total": 42.5, "items": 3}})
    for i in range(count):
        event = {**template, "id": str(uuid.uuid4()), "detail": {"order": {"id": f"o-{i}", "total": i % 500}}}
        while True:
            try:
                producer.produce(topic, orjson.dumps(event), event["id"].encode())
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(120) == 0


def busbar_replay(bootstrap: str, names: TopicNames, archive: str, count: int) -> float:
    copier = ReplayCopier(bootstrap, "bench", names.archive(archive), names.replay("default"), 0,
                          int(time.time() * 1000) + 60_000)
    assert copier.window.total == count, copier.window.total
    started = time.monotonic()
    while not copier.step():
        pass
    elapsed = time.monotonic() - started
    copier.close()
    assert copier.replayed == count, copier.replayed
    return count / elapsed


def plain_copy(bootstrap: str, source: str, target: str, count: int) -> float:
    """What a user writes to copy a topic: consume from the start, produce each record as it is."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "fetch.max.bytes": 52_428_800, "log_level": 3})
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
    consumer.assign([TopicPartition(source, p, 0) for p in range(PARTITIONS)])
    produce = producer.produce
    copied = 0
    started = time.monotonic()
    while copied < count:
        for msg in consumer.consume(BATCH, 1.0):
            if msg.error() is not None:
                continue
            try:
                produce(target, msg.value(), msg.key(), -1, None, None, 0, msg.headers())
            except BufferError:
                producer.poll(0.05)
                produce(target, msg.value(), msg.key(), -1, None, None, 0, msg.headers())
            copied += 1
        producer.poll(0)
    assert producer.flush(120) == 0
    elapsed = time.monotonic() - started
    consumer.close()
    return copied / elapsed


def run(bootstrap: str, events: int) -> None:
    names = TopicNames(f"bench{uuid.uuid4().hex[:6]}")
    archive = "orders"
    ensure_topics(bootstrap, {names.archive(archive): {}, names.replay("default"): {}, f"{names.prefix}.copy": {}},
                  partitions=PARTITIONS, replication=1)
    started = time.monotonic()
    archive_events(bootstrap, names.archive(archive), events)
    print(f"setup: {events:,} events archived in {names.archive(archive)} ({PARTITIONS} partitions) "
          f"in {time.monotonic() - started:.1f}s", flush=True)
    peer = plain_copy(bootstrap, names.archive(archive), f"{names.prefix}.copy", events)
    print(f"peer: plain confluent-kafka consume-produce copy of the topic: {peer:,.0f} events/s", flush=True)
    rate = busbar_replay(bootstrap, names, archive, events)
    print(f"busbar replay (offsets-for-times, replay-name added, replay headers): {rate:,.0f} events/s", flush=True)
    print(f"replay: {rate:,.0f} events/s replayed, x{rate / peer:.2f} vs a plain consume-produce copy "
          f"({peer:,.0f} events/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events archived, then replayed")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp, kafka(args.kafka, Path(tmp), PARTITIONS) as bootstrap:
        run(bootstrap, args.events)


if __name__ == "__main__":
    main()
