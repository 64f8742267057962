"""One replay's copying: archive topic -> the bus's replay topic, for a window of time.

Where to start is found with Kafka's offsets-for-times (the first record of each partition
stamped at or after EventStartTime), never by reading from the beginning; where to stop is
the first record at or after EventEndTime (or the partition's end when the replay starts), so
the events to copy are known up front and the replay reports its progress against them.
Archive records carry the time their event reached the bus (router/archives.py), which makes
the window one of arrival times, and per partition an ordered one.

Each copied event gets `"replay-name"` in its envelope and the headers the router reads to send
it only to the chosen rules (streams/replay_headers.py). Copying is at least once: a replay
resumed on another worker (after its first one stopped) starts again from the last positions
it stored, which may be a second's worth of events behind what was copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from streams.envelope import replay_marker
from streams.replay_headers import REPLAY_NAME, REPLAY_RULES, encode_rules

CHUNK = 10_000  # records per step: a replay yields to the others and to cancellation this often
TIMEOUT_S = 15.0
PRODUCER_CONFIG = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 20,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 500_000,
    "partitioner": "murmur2_random",  # the router's, so an event id lands where a Java producer puts it
    "delivery.report.only.error": True,  # a report per failure, none per record: failures are all we track
    "log_level": 3,
}


class ReplayFailed(RuntimeError):
    """The replay cannot go on: its archive is gone, or Kafka refused what it copied."""


@dataclass
class Window:
    """Which records of the archive a replay copies, per partition: [start, end) offsets, and
    where it has got to (the next offset to read)."""

    starts: dict[int, int]
    ends: dict[int, int]
    positions: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for partition, start in self.starts.items():
            self.positions.setdefault(partition, start)

    @property
    def total(self) -> int:
        return sum(max(0, self.ends[p] - self.starts[p]) for p in self.starts)

    @property
    def done(self) -> bool:
        return all(self.positions[p] >= self.ends[p] for p in self.starts)

    def as_record(self) -> dict[str, dict[str, int]]:
        """JSON-ready (partitions as strings), for the replay's progress record."""
        return {name: {str(p): o for p, o in offsets.items()}
                for name, offsets in (("Starts", self.starts), ("Ends", self.ends), ("Positions", self.positions))}

    @classmethod
    def from_record(cls, record: dict[str, dict[str, int]]) -> Window:
        starts, ends, positions = ({int(p): o for p, o in record[name].items()}
                                   for name in ("Starts", "Ends", "Positions"))
        return cls(starts, ends, positions)


def find_window(consumer: Consumer, topic: str, start_ms: int, end_ms: int) -> Window:
    """The offsets of [start_ms, end_ms) in each partition of `topic`, by offsets-for-times."""
    metadata = consumer.list_topics(topic, timeout=TIMEOUT_S).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise ReplayFailed(f"the archive's topic {topic} does not exist")
    partitions = sorted(metadata.partitions)
    highs = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1] for p in partitions}

    def offsets_at(ms: int) -> dict[int, int]:
        found = consumer.offsets_for_times([TopicPartition(topic, p, ms) for p in partitions], timeout=TIMEOUT_S)
        return {tp.partition: tp.offset if tp.offset >= 0 else highs[tp.partition] for tp in found}

    starts, ends = offsets_at(start_ms), offsets_at(end_ms)
    return Window(starts, {p: max(ends[p], starts[p]) for p in partitions})


class ReplayCopier:
    """Copies one replay's window, CHUNK records per `step`."""

    def __init__(self, bootstrap: str, name: str, archive_topic: str, replay_topic: str, start_ms: int,
                 end_ms: int, rules: Iterable[str] = (), window: Window | None = None) -> None:
        self.name = name
        self._archive = archive_topic
        self._target = replay_topic
        self._start_ms, self._end_ms = start_ms, end_ms
        self._mark = replay_marker(name)
        self._headers = [(REPLAY_NAME, name.encode())]
        chosen = sorted(rules)
        if chosen:
            self._headers.append((REPLAY_RULES, encode_rules(chosen)))
        self._errors: list[KafkaError] = []
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"busbar-replay-{name}",
                                   "enable.auto.commit": False, "enable.partition.eof": False,
                                   # Retention may delete the window's first records before they are read.
                                   "auto.offset.reset": "earliest",
                                   "fetch.max.bytes": 52_428_800, "log_level": 3})
        self._producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG,
                                   "on_delivery": self._failed})
        self.window = window if window is not None else find_window(self._consumer, archive_topic, start_ms, end_ms)
        self.replayed = 0
        self.last_replayed_ms: int | None = None
        todo = [TopicPartition(archive_topic, p, self.window.positions[p]) for p in self.window.starts
                if self.window.positions[p] < self.window.ends[p]]
        if todo:
            self._consumer.assign(todo)

    def _failed(self, err: KafkaError | None, msg: object) -> None:
        if err is not None:
            self._errors.append(err)

    def step(self, poll_s: float = 0.1) -> bool:
        """Copy up to CHUNK records; whether the whole window is copied (and acknowledged)."""
        window, positions, ends = self.window, self.window.positions, self.window.ends
        if not window.done:
            produce, target, headers = self._producer.produce, self._target, self._headers
            start_ms, end_ms, mark = self._start_ms, self._end_ms, self._mark
            finished: list[TopicPartition] = []
            for msg in self._consumer.consume(CHUNK, poll_s):
                if msg.error() is not None:
                    if msg.error().fatal() or msg.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise ReplayFailed(f"reading the archive failed: {msg.error().str()}")
                    continue
                partition, offset = msg.partition(), msg.offset()
                positions[partition] = min(offset + 1, ends[partition])
                if positions[partition] >= ends[partition]:
                    finished.append(TopicPartition(self._archive, partition))
                    if offset >= ends[partition]:  # past the window (retention moved the start past it)
                        continue
                timestamp_ms = msg.timestamp()[1]
                if not start_ms <= timestamp_ms < end_ms:  # out of order in its partition: not in the window
                    continue
                value = mark(msg.value() or b"")
                try:
                    # Positional, as the router produces: keywords cost confluent-kafka ~1 us a call.
                    produce(target, value, msg.key(), -1, None, None, 0, headers)
                except BufferError:
                    self._produce_when_room(value, msg.key())
                self.replayed += 1
                self.last_replayed_ms = timestamp_ms
            if finished:
                self._consumer.pause(finished)
        self._producer.poll(0)
        self._check()
        if not window.done:
            return False
        self.flush()
        return True

    def _produce_when_room(self, value: bytes, key: bytes | None) -> None:
        """The producer's queue is full: serve its reports until the record fits."""
        while True:
            self._producer.poll(0.05)
            try:
                self._producer.produce(self._target, value, key, headers=self._headers)
                return
            except BufferError:
                continue

    def flush(self) -> None:
        """Wait until what was copied is acknowledged (before progress is stored past it)."""
        if self._producer.flush(TIMEOUT_S) > 0:
            raise ReplayFailed(f"Kafka did not acknowledge the replayed events within {TIMEOUT_S:.0f}s")
        self._check()

    def _check(self) -> None:
        if self._errors:
            raise ReplayFailed(f"writing to {self._target} failed: {self._errors[0].str()}")

    def close(self) -> None:
        self._consumer.close()
        self._producer.flush(TIMEOUT_S)
