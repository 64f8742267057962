"""Mirror: forward a bus, or the events of it a pattern selects, to a bus on another cluster.

MirrorMaker's way: each task is a member of a consumer group on the source bus topic and
produces what it reads, bytes unchanged (so the event's id and time are those it was put
with), to the target bus topic on the other cluster, then commits its offsets to the source
cluster only once the other cluster acknowledged the batch (acks=all). A restart, or a
worker taking over the task, resumes from the last commit: at least once, never lost.

No loops, whatever the topology: each forwarded record carries the regions it has been in
(`busbar-regions`, the first one also as `busbar-source-region`), and a mirror never sends a
record to a region on that list. A record without the header entered on this cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from connectors.definitions import Field
from connectors.metrics import MIRROR_LAG, RECORDS_IN, RECORDS_OUT, REJECTED
from connectors.plugin import Connector, Environment, Task, missing_bus
from streams.patterns import EventPattern, InvalidEvent, InvalidEventPattern, compile_pattern
from streams.topics import TopicNames

log = logging.getLogger(__name__)

SOURCE_REGION_HEADER = "busbar-source-region"
REGIONS_HEADER = "busbar-regions"
BATCH = 1000
POLL_S = 0.5
FLUSH_S = 30.0
RETRY_PAUSE_S = 1.0
LAG_INTERVAL_S = 5.0


def _pattern_problem(value: str) -> str | None:
    try:
        compile_pattern(value)
    except InvalidEventPattern as exc:
        return f"Not a valid event pattern: {exc}"
    return None


def regions_of(headers: Sequence[tuple[str, bytes | None]] | None, here: str) -> list[str]:
    """The regions a record has been in, this one last; a record without the header started here."""
    for key, value in headers or ():
        if key == REGIONS_HEADER and value:
            return [region for region in value.decode().split(",") if region]
    return [here]


def forwarding(headers: Sequence[tuple[str, bytes | None]] | None, value: bytes | None, here: str,
               target_region: str, pattern: EventPattern | None) -> tuple[list[tuple[str, bytes]] | None, str | None]:
    """(headers to forward the record with, None) or (None, why it stays: loop, filtered, invalid).

    Only a record that may be forwarded and a pattern to check is decoded: the loop check reads
    a header, so a mirror without a pattern never parses an event.
    """
    regions = regions_of(headers, here)
    if target_region in regions:
        return None, "loop"
    if pattern is not None:
        try:
            if not pattern.matches(orjson.loads(value or b"null")):
                return None, "filtered"
        except (orjson.JSONDecodeError, InvalidEvent):
            return None, "invalid"
    kept = [(k, v or b"") for k, v in headers or () if k not in (REGIONS_HEADER, SOURCE_REGION_HEADER)]
    return [*kept, (SOURCE_REGION_HEADER, regions[0].encode()),
            (REGIONS_HEADER, ",".join([*regions, target_region]).encode())], None


class Mirror(Connector):
    CONFIG: ClassVar[tuple[Field, ...]] = (
        Field("bus", "STRING", "Bus forwarded, on this cluster.", default="default"),
        Field("target.cluster", "STRING", "The other cluster: a BUSBAR_CLUSTERS name or host:port[,host:port].",
              required=True),
        Field("target.region", "STRING", "The other cluster's region: no event that has been there is sent to it.",
              required=True),
        Field("target.bus", "STRING", "Bus on the other cluster (default: the same name as here)."),
        Field("target.topic.prefix", "STRING", "Topic prefix busbar uses on the other cluster (default: this one's)."),
        Field("event.pattern", "STRING", "Forward only events matching this EventBridge event pattern (JSON).",
              check=_pattern_problem),
    )

    @classmethod
    def check(cls, values: Mapping[str, Any], env: Environment) -> Sequence[tuple[str, str]]:
        errors = missing_bus(values, env)
        cluster = values.get("target.cluster")
        if cluster and cluster not in env.clusters and ":" not in cluster:
            known = ", ".join(sorted(env.clusters)) or "none configured"
            errors.append(("target.cluster", f"Unknown cluster {cluster}: name one of BUSBAR_CLUSTERS ({known}) "
                                             "or give host:port"))
        if values.get("target.region") == env.region:
            errors.append(("target.region", f"The target region is this worker's own ({env.region}): a mirror "
                                            "forwards to another region."))
        return errors

    def task_count(self) -> int:
        return int(self.values["tasks.max"])

    def task(self, index: int) -> Task:
        return MirrorTask(self, index)

    @property
    def remote_bootstrap(self) -> str:
        cluster = self.values["target.cluster"]
        return self.env.clusters.get(cluster, cluster)

    @property
    def source_topic(self) -> str:
        return self.env.topics.bus(self.values["bus"])

    @property
    def target_topic(self) -> str:
        prefix = self.values.get("target.topic.prefix") or self.env.topics.prefix
        return TopicNames(prefix).bus(self.values.get("target.bus") or self.values["bus"])


class MirrorTask:
    """One member of the mirror's group, run in a thread of its own (the Kafka clients block)."""

    def __init__(self, mirror: Mirror, index: int) -> None:
        self.mirror = mirror
        self.index = index
        self.name = mirror.name
        self.target_region: str = mirror.values["target.region"]
        pattern = mirror.values.get("event.pattern")
        self.pattern = compile_pattern(pattern) if pattern else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"busbar-mirror-{mirror.name}-{index}", daemon=True)
        env = mirror.env
        self._consumer = Consumer({
            "bootstrap.servers": env.bootstrap, "group.id": f"{env.app_id}-mirror-{mirror.name}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3, **env.group_config,
        })
        self._producer = Producer({
            "bootstrap.servers": mirror.remote_bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 20, "partitioner": "murmur2_random", "log_level": 3,
        })
        self._failed = 0
        self._lag_at = 0.0

    async def start(self) -> None:
        self._consumer.subscribe([self.mirror.source_topic])
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self._close)

    def _close(self) -> None:
        self._thread.join(FLUSH_S + 5)
        self._consumer.close()
        self._producer.flush(5)
        with contextlib.suppress(KeyError):  # never measured: the task stopped before its first turn
            MIRROR_LAG.remove(self.name, str(self.index))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._consumer.consume(BATCH, POLL_S)
                if messages:
                    self._forward(messages)
                if time.monotonic() >= self._lag_at:
                    self._measure_lag()
            except Exception:
                log.exception("mirror %s task %d: batch failed; retrying", self.name, self.index)
                self._stop.wait(RETRY_PAUSE_S)

    def _forward(self, messages: list[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        self._failed = 0
        sent = 0
        for msg in messages:
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("mirror %s: %s", self.name, msg.error())
                continue
            place = (msg.topic(), msg.partition())
            first.setdefault(place, msg.offset())
            last[place] = msg.offset()
            headers = self._headers_to_forward(msg)
            if headers is not None:
                self._produce(msg, headers)
                sent += 1
        RECORDS_IN.labels(self.name).inc(len(messages))
        undelivered = self._producer.flush(FLUSH_S)
        if undelivered or self._failed:
            log.warning("mirror %s: %d records not acknowledged by %s; reading the batch again",
                        self.name, undelivered + self._failed, self.mirror.remote_bootstrap)
            for (topic, partition), offset in first.items():
                self._consumer.seek(TopicPartition(topic, partition, offset))
            self._stop.wait(RETRY_PAUSE_S)
            return
        RECORDS_OUT.labels(self.name).inc(sent)
        if last:
            self._consumer.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
                                  asynchronous=False)

    def _headers_to_forward(self, msg: Message) -> list[tuple[str, bytes]] | None:
        """The record's headers with its regions, or None (counted) when it is not forwarded."""
        headers, skipped = forwarding(msg.headers(), msg.value(), self.mirror.env.region, self.target_region,
                                      self.pattern)
        if skipped is not None:
            REJECTED.labels(self.name, skipped).inc()
        return headers

    def _produce(self, msg: Message, headers: list[tuple[str, bytes]]) -> None:
        while True:
            try:
                self._producer.produce(self.mirror.target_topic, msg.value(), msg.key(), headers=headers,
                                       on_delivery=self._delivered)
                return
            except BufferError:
                self._producer.poll(0.1)

    def _delivered(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._failed += 1

    def _measure_lag(self) -> None:
        self._lag_at = time.monotonic() + LAG_INTERVAL_S
        lag = 0
        for position in self._consumer.position(self._consumer.assignment()):
            _low, high = self._consumer.get_watermark_offsets(position, timeout=1.0, cached=False)
            lag += max(0, high - max(position.offset, 0)) if position.offset >= 0 else 0
        MIRROR_LAG.labels(self.name, str(self.index)).set(lag)
