"""How many events an archive holds and how many bytes, read from its topic without reading it.

EventCount is exact: an archive topic is written by an idempotent producer without
transactions, so its offsets are dense, and end minus start offset of each partition counts
the events Kafka still keeps (retention drops whole segments, and the start offset moves
with them). SizeBytes is an estimate: Kafka's clients do not expose a topic's size on disk, so
it is EventCount times the mean size (value, key and headers) of up to SAMPLE of the newest
events of each partition, as AWS's own SizeBytes is the size of the events, not of storage.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition

SAMPLE = 20
TIMEOUT_S = 10.0


def archive_sizes(bootstrap: str, topics: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(EventCount, SizeBytes) of each archive topic; (0, 0) for one Kafka does not know (yet)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"busbar-archive-stats-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "log_level": 0})
    try:
        known = consumer.list_topics(timeout=TIMEOUT_S).topics
        counts: dict[str, int] = {}
        samples: list[TopicPartition] = []
        for topic in topics:
            counts[topic] = 0
            for partition in known[topic].partitions if topic in known else ():
                try:
                    low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=TIMEOUT_S)
                except KafkaException:  # a partition without a leader this instant holds nothing readable
                    continue
                counts[topic] += high - low
                if high > low:
                    samples.append(TopicPartition(topic, partition, max(low, high - SAMPLE)))
        means = _mean_sizes(consumer, samples)
        return {topic: (count, round(count * means.get(topic, 0.0))) for topic, count in counts.items()}
    finally:
        consumer.close()


def _mean_sizes(consumer: Consumer, partitions: list[TopicPartition]) -> dict[str, float]:
    if not partitions:
        return {}
    consumer.assign(partitions)
    sizes: dict[str, list[int]] = {}
    wanted = SAMPLE * len(partitions)
    deadline = time.monotonic() + TIMEOUT_S
    seen = 0
    while seen < wanted and time.monotonic() < deadline:
        messages = consumer.consume(wanted - seen, 0.2)
        if not messages and sizes:
            break  # fewer than SAMPLE in some partition: what came is the sample
        for msg in messages:
            if msg.error() is None:
                seen += 1
                headers = sum(len(name) + len(value or b"") for name, value in msg.headers() or ())
                sizes.setdefault(msg.topic(), []).append(len(msg.value() or b"") + len(msg.key() or b"") + headers)
    return {topic: sum(values) / len(values) for topic, values in sizes.items()}
