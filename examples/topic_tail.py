"""What the examples' runs read back from Kafka: the records they cause on a few topics.

The topics are created when missing (so reading can start before a rule's first record) and
read from where each partition ends when the run starts, so an earlier run's records are not
counted again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

NO_LEADER_YET = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART}


@dataclass(frozen=True)
class Record:
    topic: str
    value: Any  # the JSON value, or the raw text when it is not JSON
    headers: dict[str, str]


class TopicTail:
    def __init__(self, bootstrap: str, topics: list[str], group: str) -> None:
        created = self._create_missing(bootstrap, topics)
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                                   "log_level": 0})
        starts = []
        for topic in topics:
            for partition in self._consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                start = OFFSET_BEGINNING if topic in created else self._end(TopicPartition(topic, partition))
                starts.append(TopicPartition(topic, partition, start))
        self._consumer.assign(starts)

    @staticmethod
    def _create_missing(bootstrap: str, topics: list[str]) -> set[str]:
        """The topics created here: all they will hold comes from this run."""
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        existing = admin.list_topics(timeout=10).topics
        missing = [NewTopic(topic, 1, 1) for topic in topics if topic not in existing]
        created = set()
        for topic, future in admin.create_topics(missing).items() if missing else []:
            try:
                future.result()
                created.add(topic)
            except KafkaException as exc:  # a rule's first record created it meanwhile
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
        return created

    def _end(self, partition: TopicPartition, wait: float = 30.0) -> int:
        """Where the partition ends now, once it has a leader (a topic just created may not yet)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                return self._consumer.get_watermark_offsets(partition, timeout=10)[1]
            except KafkaException as exc:
                if exc.args[0].code() not in NO_LEADER_YET or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

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
