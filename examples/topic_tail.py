"""What the examples' runs read back from Kafka: the records they cause on a few topics.

The topics are created when missing (so reading can start before a rule's first record) and
read from where each partition ends when the run starts, so an earlier run's records are not
counted again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


@dataclass(frozen=True)
class Record:
    topic: str
    value: Any  # the JSON value, or the raw text when it is not JSON
    headers: dict[str, str]


class TopicTail:
    def __init__(self, bootstrap: str, topics: list[str], group: str) -> None:
        self._create_missing(bootstrap, topics)
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                                   "log_level": 0})
        starts = []
        for topic in topics:
            for partition in self._consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                _, end = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                starts.append(TopicPartition(topic, partition, end))
        self._consumer.assign(starts)

    @staticmethod
    def _create_missing(bootstrap: str, topics: list[str]) -> None:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        existing = admin.list_topics(timeout=10).topics
        missing = [NewTopic(topic, 1, 1) for topic in topics if topic not in existing]
        for future in admin.create_topics(missing).values() if missing else []:
            try:
                future.result()
            except KafkaException as exc:  # a rule's first record created it meanwhile
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise

    def poll(self, seconds: float) -> list[Record]:
        records = []
        for message in self._consumer.consume(500, seconds):
            if message.error() is not None:
                continue
            text = message.value().decode()
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            headers = {key: (raw or b"").decode(errors="replace") for key, raw in message.headers() or []}
            records.append(Record(message.topic(), value, headers))
        return records

    def close(self) -> None:
        self._consumer.close()
