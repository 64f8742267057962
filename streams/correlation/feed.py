"""The feed: reads the buses that have correlation rules and sends each event a rule's pattern
matches to the correlation topic, keyed by rule and group.

It is a consumer group of its own (`<app id>-correlation`) beside the router, so correlation
costs the router nothing: a bus without correlation rules is not even read, and the feed's
matching, like the windows, happens off the routing thread. The key (bus, rule, rule version,
group values) puts every event of one group on one partition of the correlation topic, which
is how the windows' table is partitioned: workers share the groups, and each group's state
lives with one of them. Offsets are committed only once what was read is on the correlation
topic, so a crash sends events again (the windows ignore ids they have counted), never loses one.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, Message, Producer

from streams.correlation.rulebook import RuleBook
from streams.correlation_rules.derived import SOURCE
from streams.correlation_rules.fields import counted_value, event_time, group_key
from streams.envelope import InvalidEnvelope, decode_json
from streams.model import Change
from streams.settings import Settings
from streams.topics import TopicNames

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
POLL_S = 0.2


class Feed:
    def __init__(self, settings: Settings, topics: TopicNames, rules: RuleBook, changes: queue.SimpleQueue[Change],
                 stopping: threading.Event, on_ready: Callable[[], None]) -> None:
        self._topics = topics
        self._rules = rules
        self._changes = changes
        self._stopping = stopping
        self._on_ready = on_ready
        self._subscribed: set[str] = set()
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-correlation",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 3,
            "topic.metadata.refresh.interval.ms": 1000, "fetch.wait.max.ms": 50,
        })
        self._producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 10,
                                   "enable.idempotence": True, "log_level": 3})

    def run(self) -> None:
        try:
            self._apply_changes()
            self._on_ready()
            while not self._stopping.is_set():
                self._apply_changes()
                if not self._subscribed:
                    self._stopping.wait(POLL_S)
                    continue
                messages = self._consumer.consume(BATCH_SIZE, POLL_S)
                if messages:
                    self._forward(messages)
        finally:
            self._producer.flush(10.0)
            self._consumer.close()

    def _apply_changes(self) -> None:
        changed = False
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                break
            changed = self._rules.apply(change) is not None or changed
        if changed and self._rules.buses != self._subscribed:
            self._subscribed = self._rules.buses
            if self._subscribed:
                self._consumer.subscribe(sorted(self._topics.bus(bus) for bus in self._subscribed))
            else:
                self._consumer.unsubscribe()

    def _forward(self, messages: list[Message]) -> None:
        for message in messages:
            if message.error() is not None:
                continue  # partition EOF and the like; the router reports real faults of a bus
            found = self._topics.bus_of(message.topic() or "")
            value = message.value()
            if found is None or value is None:
                continue
            bus = found[0]
            try:
                event = decode_json(value)
            except InvalidEnvelope:
                continue  # the router sends it to the bus DLQ
            self._observe(bus, event, message.timestamp()[1])
        self._producer.flush(30.0)
        try:
            self._consumer.commit(asynchronous=True)
        except KafkaException as exc:
            log.warning("correlation feed: commit failed (%s); those events will be read again", exc)

    def _observe(self, bus: str, event: dict[str, Any], written_ms: int) -> None:
        for entry, pattern_name in self._rules.matches(bus, event):
            rule = entry.rule
            if written_ms < entry.created_ms or _own_output(rule.name, bus, event):
                continue
            group = group_key(rule, event)
            if group is None:
                continue
            time = event_time(event, written_ms / 1000)
            key = orjson.dumps([bus, rule.name, entry.version, group])
            observation = {"b": bus, "r": rule.name, "h": entry.version, "g": group, "p": pattern_name,
                           "i": event.get("id"), "t": time, "v": counted_value(rule, event)}
            self._producer.produce(self._topics.correlation, orjson.dumps(observation), key,
                                   timestamp=int(time * 1000))
            self._producer.poll(0)


def _own_output(rule: str, bus: str, event: dict[str, Any]) -> bool:
    """A rule never counts the events it emitted itself, or a broad pattern would feed on its output."""
    detail = event.get("detail")
    return (event.get("source") == SOURCE and isinstance(detail, dict) and detail.get("rule") == rule
            and detail.get("bus") == bus)
