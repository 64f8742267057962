"""A rule's target compiled once for the hot path: where its records go, how its payload is
shaped, and what happens when it cannot be delivered.

Everything that can be decided from the configuration (the destination topic and producer,
the shaper, the retry policy, the dead-letter destination, the record headers) is decided
here, when the rule changes, so that sending one event costs a produce (and a payload call
for a target that shapes its input).
A target that can never be delivered to (an unknown cluster, a malformed ARN, an invalid
input spec) still compiles: each event it matches goes to the dead-letter queue with the
reason, because busbar drops nothing without a record of why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

import orjson
from confluent_kafka import Producer

from streams.arns import TargetRef, parse_target_arn
from streams.envelope import format_time
from streams.input_shaping import InvalidInputSpec, compile_input
from streams.metrics import TARGET_DELIVERIES, TARGET_FAILURES
from streams.router.clusters import Clusters, produce_when_room
from streams.router.outbox import INLINE_MAX_RETRIES, Batch
from streams.topics import TopicNames

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]

DEFAULT_MAX_EVENT_AGE_S = 86_400
# Header on an event another bus forwarded: EventBridge routes such an event to the targets of
# the receiving bus's rules but never to a third bus, which is also what stops bus-to-bus loops.
FORWARDED_FROM = "busbar-forwarded-from"
NOT_FORWARDED_AGAIN = ("event was forwarded from another bus; as in EventBridge, an event received "
                       "from one bus is not routed on to a third bus")
SHAPING_KEYS = ("Input", "InputPath", "InputTransformer")


@lru_cache(maxsize=8)
def ingestion_time(timestamp_ms: int) -> str:
    """EventBridge's ingestion time format; cached because a batch's records share seconds."""
    return format_time(datetime.fromtimestamp(timestamp_ms // 1000, UTC))


@dataclass(frozen=True)
class Destination:
    producer: Producer
    topic: str


class Unroutable(ValueError):
    """The target's configuration names somewhere busbar cannot produce to."""


def resolve(ref: TargetRef, topics: TopicNames, clusters: Clusters) -> Destination:
    if ref.kind == "bus":
        return Destination(clusters.local, topics.bus(ref.name))
    if ref.kind == "api-destination":
        return Destination(clusters.local, topics.deliveries)
    try:
        return Destination(clusters.producer(ref.cluster), ref.name)
    except KeyError:
        raise Unroutable(f"unknown Kafka cluster {ref.cluster!r} (not in BUSBAR_CLUSTERS)") from None


class Target:
    """One target of one enabled rule. `send` is called once per matching event."""

    __slots__ = ("arn", "bus", "rule", "rule_arn", "spec", "destination", "dead_letter", "headers",
                 "max_attempts", "error", "labels", "forwards", "_payload", "_produce", "_topic",
                 "_max_age_ms", "_shaper")

    def __init__(self, *, bus: str, rule: str, rule_arn: str, spec: dict[str, Any], topics: TopicNames,
                 clusters: Clusters) -> None:
        self.bus, self.rule, self.rule_arn, self.spec = bus, rule, rule_arn, spec
        self.arn = str(spec.get("Arn", ""))
        self.headers: Headers = [("busbar-rule", rule.encode()), ("busbar-bus", bus.encode())]
        policy = spec.get("RetryPolicy") or {}
        self.max_attempts = 1 + min(int(policy.get("MaximumRetryAttempts", INLINE_MAX_RETRIES)), INLINE_MAX_RETRIES)
        self._max_age_ms = 1000 * int(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S))
        self.dead_letter = self._dead_letter_destination(topics, clusters)
        self.labels = (bus, rule, str(spec.get("Id", "")))  # of its metrics series, exported from the start
        TARGET_DELIVERIES.add(self.labels, 0)
        TARGET_FAILURES.add(self.labels, 0)
        self._shaper = None
        self._payload: Callable[[dict[str, Any], bytes, int], bytes] | None = None  # None: the event as it came
        self.destination: Destination | None = None
        self.error: str | None = None
        self.forwards = False  # puts events on another bus, which may not pass them on (see dispatch)
        try:
            ref = parse_target_arn(self.arn)
            self.destination = resolve(ref, topics, clusters)
            self._payload = self._choose_payload(ref)
            if ref.kind == "bus":
                self.forwards = True
                self.headers.append((FORWARDED_FROM, bus.encode()))
        except (ValueError, InvalidInputSpec) as exc:  # Unroutable, UnsupportedTarget, bad ARN, bad input spec
            self.error = f"target {spec.get('Id')!r} cannot be delivered to: {exc}"
            log.error("rule %s/%s: %s; its events go to the dead-letter queue", bus, rule, self.error)
        self._produce: Callable[..., None] | None = None
        self._topic = ""
        if self.error is None and self.destination is not None:
            self._produce, self._topic = self.destination.producer.produce, self.destination.topic

    def _dead_letter_destination(self, topics: TopicNames, clusters: Clusters) -> Destination | None:
        """The target's own DLQ topic, or None for the bus DLQ (also when its ARN is unusable)."""
        arn = (self.spec.get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            return None
        try:
            ref = parse_target_arn(arn)
            if ref.kind != "topic":
                raise Unroutable("a dead-letter queue must be a queue or a topic")
            return resolve(ref, topics, clusters)
        except ValueError as exc:
            log.error("rule %s/%s target %s: dead-letter ARN %s unusable (%s); using the bus DLQ",
                      self.bus, self.rule, self.spec.get("Id"), arn, exc)
            return None

    def _choose_payload(self, ref: TargetRef) -> Callable[[dict[str, Any], bytes, int], bytes] | None:
        """How the record's value is made from the event; None when it is the event's own bytes
        (saves a call per record on the hot path). A bus target always gets the event unchanged."""
        shaped = None
        if ref.kind != "bus" and any(key in self.spec for key in SHAPING_KEYS):
            self._shaper = compile_input(self.spec)
            shaped = self._shaped
        if ref.kind == "api-destination":
            return partial(self._delivery_record, shaped or self._raw)
        return shaped

    @staticmethod
    def _raw(event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        return raw

    def _shaped(self, event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        return self._shaper.shape(event, raw, rule_arn=self.rule_arn, rule_name=self.rule,  # type: ignore[union-attr]
                                  ingestion_time=ingestion_time(timestamp_ms))

    def _delivery_record(self, shaped: Callable[[dict[str, Any], bytes, int], bytes],
                         event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        """Work for the HTTP delivery workers: the router itself never talks HTTP."""
        return orjson.dumps({
            "bus": self.bus, "rule": self.rule, "rule_arn": self.rule_arn, "target": self.spec,
            "payload": shaped(event, raw, timestamp_ms).decode(), "event_id": event.get("id"), "attempt": 0,
        })

    @property
    def reads_event(self) -> bool:
        """Whether `send` needs the decoded event; without, it sends the record's own bytes."""
        return self._payload is not None

    def send(self, event: dict[str, Any] | None, raw: bytes, key: bytes | None, timestamp_ms: int, now_ms: int,
             batch: Batch) -> None:
        """Hot path: produce one matched event; its delivery report settles it in the batch.
        `event` may be None for a target that does not read it (reads_event)."""
        produce = self._produce
        if produce is None:
            batch.reject(self, raw, key, self.error or "")
            return
        if now_ms - timestamp_ms > self._max_age_ms:
            batch.reject(self, raw, key, f"event older than MaximumEventAgeInSeconds={self._max_age_ms // 1000}")
            return
        value = raw
        if self._payload is not None:
            try:
                value = self._payload(event, raw, timestamp_ms)  # type: ignore[arg-type]
            except ValueError as exc:
                batch.reject(self, raw, key, f"input shaping failed: {exc}")
                return
        ack = batch.acks.get(self) or batch.ack(self)
        batch.pending += 1
        try:
            # Positional: keyword arguments cost confluent-kafka a string conversion and dict
            # lookup per keyword per call, ~1 us of a ~3.5 us produce (partition -1: the
            # partitioner's choice; timestamp 0: now).
            produce(self._topic, value, key, -1, ack, None, 0, self.headers)
        except BufferError:
            self.resend(value, key, self.headers, ack)

    def resend(self, value: bytes, key: bytes | None, headers: Headers | None,
               on_delivery: Callable[[Any, Any], None]) -> None:
        """A produce off the hot path (a retry, exactly as first sent, or one the full queue refused)."""
        destination = self.destination
        assert destination is not None  # only records that were produced once come back
        produce_when_room(destination.producer, destination.topic, value, key, headers, on_delivery)
