"""Sinks, destinations and bus records of the tests' own, for router unit tests without a broker.

The router reaches its destinations only through the seam (streams/router/delivery.py), so a
sink that records what it was given and reports scripted outcomes on `poll`, as a Kafka
producer does, exercises the real dispatcher, ledger, retry and dead-letter code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.arns import TargetRef
from streams.envelope import new_event
from streams.router.archives import ArchiveTarget
from streams.router.delivery import DeliveryError, Done, Headers, Unroutable
from streams.router.dispatch import Dispatcher
from streams.router.outbox import Outbox
from streams.router.rules_index import RulesIndex
from streams.router.targets import Target
from streams.topics import TopicNames

TOPICS = TopicNames("t")
REGION, ACCOUNT = "us-east-1", "000000000000"

# (value, attempt of this value at this sink) -> None for delivered, else why not
Outcome = Callable[[bytes, int], DeliveryError | None]


def delivered(value: bytes, attempt: int) -> None:
    return None


@dataclass
class Sent:
    value: bytes
    key: bytes | None
    headers: Headers
    timestamp_ms: int = 0


@dataclass
class FakeSink:
    name: str
    outcome: Outcome = delivered
    max_bytes: int = 1_048_588
    sent: list[Sent] = field(default_factory=list)  # every attempt, in order
    landed: list[Sent] = field(default_factory=list)  # the attempts that succeeded
    queue: list[tuple[Done, Sent, DeliveryError | None]] = field(default_factory=list)
    attempts: dict[bytes, int] = field(default_factory=dict)

    def send(self, value: bytes, key: bytes | None, headers: Headers, done: Done, timestamp_ms: int = 0) -> None:
        record = Sent(value, key, list(headers), timestamp_ms)
        self.sent.append(record)
        attempt = self.attempts[value] = self.attempts.get(value, 0) + 1
        self.queue.append((done, record, self.outcome(value, attempt)))

    def report(self) -> None:
        queue, self.queue = self.queue, []
        for done, record, error in queue:
            if error is None:
                self.landed.append(record)
                done.ok()
            else:
                done.failed(error, record.value, record.key)


class FakeDestinations:
    """Every topic and bus a fake sink, made on first use; `outcomes` scripts some of them."""

    def __init__(self, outcomes: dict[str, Outcome] | None = None, unroutable: set[str] = frozenset()) -> None:
        self.outcomes = outcomes or {}
        self.unroutable = unroutable
        self.sinks: dict[str, FakeSink] = {}

    def _sink(self, name: str) -> FakeSink:
        if name not in self.sinks:
            self.sinks[name] = FakeSink(name, self.outcomes.get(name, delivered))
        return self.sinks[name]

    def sink(self, ref: TargetRef) -> FakeSink:
        name = TOPICS.bus(ref.name) if ref.kind == "bus" else ref.name
        if name in self.unroutable:
            raise Unroutable(f"no such place: {name}")
        return self._sink(name)

    def bus_dead_letters(self, bus: str) -> FakeSink:
        return self._sink(TOPICS.dlq(bus))

    def retries(self, tier: int) -> FakeSink:
        return self._sink(TOPICS.retry(tier))

    def parked(self) -> list[Sent]:
        """Every job parked in a retry topic, any tier."""
        return [sent for name, sink in self.sinks.items() if name.startswith(f"{TOPICS.prefix}.retry.")
                for sent in sink.landed]

    def poll(self, timeout: float) -> None:
        for sink in list(self.sinks.values()):
            sink.report()

    def landed(self, name: str) -> list[Sent]:
        return self.sinks[name].landed if name in self.sinks else []


@dataclass
class FakeMessage:
    """A consumed bus record, with the accessors confluent-kafka's Message has."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes
    _key: bytes | None = None
    _headers: Headers | None = None
    _timestamp_ms: int = 0

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> Headers | None:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp_ms)

    def error(self) -> None:
        return None


def topic_arn(topic: str) -> str:
    return f"arn:aws:kafka:{REGION}:{ACCOUNT}:topic/local/{topic}"


def bus_arn(bus: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"


def event_bytes(source: str = "app", detail: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps(new_event(source=source, detail_type="test", detail=detail or {}, account=ACCOUNT,
                                  region=REGION))


class Router:
    """The router's dispatcher, rules and outbox over fake destinations: what RouterLoop runs
    per batch, without the consumer."""

    def __init__(self, destinations: FakeDestinations) -> None:
        self.destinations = destinations
        self.index = RulesIndex(self._target, lambda bus, rule: f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{rule}",
                                self._archive)
        self.outbox = Outbox(destinations)
        self.dispatcher = Dispatcher(self.index, self.outbox, TOPICS)
        self.committed: dict[tuple[str, int], int] = {}

    def _target(self, bus: str, rule: str, arn: str, spec: dict[str, Any]) -> Target:
        return Target(bus=bus, rule=rule, rule_arn=arn, spec=spec, destinations=self.destinations)

    def _archive(self, bus: str, archive: str) -> Target:
        return ArchiveTarget(bus=bus, rule=f"archive/{archive}", rule_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:archive/"
                             f"{archive}", spec={"Id": "archive", "Arn": topic_arn(TOPICS.archive(archive))},
                             destinations=self.destinations)

    def drain(self, rounds: int = 200) -> bool:
        """Poll until nothing is in flight (rewrites included, backoff skipped) or rounds run out,
        noting what may be committed, as the router does on revoke; whether all settled."""
        for _ in range(rounds):
            for batch in self.outbox._in_flight:
                batch.retry_at = min(batch.retry_at, 1.0) if batch.retry_at else 0.0
            for batch in self.outbox.poll(0):
                self.committed.update(batch.offsets)
            if not len(self.outbox):
                return True
        return False

    def settle(self) -> None:
        if not self.drain():
            raise AssertionError("batches did not settle")
