"""One batch of bus records through the router: check, match, send to every target.

This is the hot path, so it does per event only what depends on the event: one native call
that checks the envelope and matches it against the bus's rules straight from the record's
bytes (router/native.py), and one `Target.send` per matched target. The event is decoded
into Python only when that call leaves the record to Python (then the pattern engine
matches it, or it is dead-lettered as invalid), when it names a few rules it could not decide
(then only those are matched in Python, on this event), or when a matched target shapes its input.
Counting is per batch (plain dicts here, Prometheus once per batch). Records of a bus's replay
topic go only to the rules their replay chose (router/replays.py); which topic a run of records
comes from is looked up once per run, so live events pay nothing for that.

Scheduled rules' events come on a topic of their own (`<prefix>.scheduled`, written by the
scheduler, keyed `<bus>/<rule>`) and go to that rule's targets only, never through matching:
the topic is recognised once per run of records, so bus records pay one boolean test for it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from confluent_kafka import KafkaException, Message

from streams.envelope import Event, InvalidEnvelope, decode_json
from streams.router.forwarding import NOT_FORWARDED_AGAIN, forwarded_from, refused_headers
from streams.router.ledger import Batch
from streams.router.outbox import REASON_INVALID_ENVELOPE, REASON_MATCH_FAILED, REASON_ROUTING_FAILED, Outbox
from streams.router.replays import replayed_to
from streams.router.rules_index import BusRules, Rule, RulesIndex
from streams.topics import TopicNames

log = logging.getLogger(__name__)


def input_offsets(messages: list[Message]) -> dict[tuple[str, int], int]:
    """The next offset to read per partition once these records are routed."""
    offsets: dict[tuple[str, int], int] = {}
    for msg in messages:
        if msg.error() is None:
            offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
    return offsets


class Dispatcher:
    def __init__(self, index: RulesIndex, outbox: Outbox, topics: TopicNames) -> None:
        self._index = index
        self._outbox = outbox
        self._topics = topics
        # topic -> (bus, read from its replay topic), so the prefix is stripped once per topic
        self._bus_of: dict[str, tuple[str, bool]] = {}
        self._scheduled_topic = topics.scheduled

    def _bus(self, topic: str) -> tuple[str, bool]:
        bus = self._bus_of.get(topic)
        if bus is None:
            bus = self._bus_of[topic] = self._topics.bus_of(topic) or (topic, False)
        return bus

    def dispatch(self, messages: list[Message], now_ms: int) -> Batch:
        """Send everything the messages call for; the returned batch settles as reports arrive.

        No record can stop this: whatever one record raises (an encoding, shaping or sending
        failure nobody foresaw) sends that record to its bus DLQ with the reason, and routing
        goes on. Should the thread itself be stopped midway, the batch is cut to the records
        already dispatched, so no offset is committed for a record that was never routed.
        """
        batch = self._outbox.begin(len(messages))
        batch.offsets = input_offsets(messages)
        events, matches = batch.counts.events, batch.counts.matches
        buses = self._index.buses
        last_topic, bus, replayed, rules, route, scheduled = None, "", False, None, None, False
        done, oldest = 0, batch.oldest_ms
        try:
            for msg in messages:
                done += 1
                if msg.error() is not None:
                    if msg.error().fatal():  # the consumer is dead: stop, and let the worker be restarted
                        raise KafkaException(msg.error())
                    log.warning("bus consumer: %s", msg.error())
                    continue
                try:
                    topic = msg.topic()
                    if topic != last_topic:  # records come in runs per partition: look the bus up once a run
                        last_topic, (bus, replayed) = topic, self._bus(topic)
                        rules = buses.get(bus)
                        route = rules.native.route if rules is not None and rules.native is not None else None
                        scheduled = topic == self._scheduled_topic
                    if scheduled:
                        self._scheduled(batch, msg, now_ms)
                        continue
                    events[bus] += 1
                    raw = msg.value() or b""
                    decided = route(raw) if route is not None else None
                    event: Event | None = None
                    if decided is not None:  # a plainly valid envelope, matched natively
                        event_id, matched, unsure = decided
                        if unsure is not None:  # the few rules left to Python, checked on this event alone
                            event = self._decode(batch, bus, msg, raw)
                            if event is None:
                                continue
                            checked = self._match(batch, rules, bus, msg, event, unsure)  # type: ignore[arg-type]
                            if checked is None:
                                continue
                            matched = (*matched, *checked)
                        if not matched:
                            continue
                        key = event_id if event_id is not None else msg.key()
                        if event is None and rules.reading and not rules.reading.isdisjoint(matched):  # type: ignore[union-attr]
                            event = self._decode(batch, bus, msg, raw)
                            if event is None:
                                continue
                    else:
                        event = self._decode(batch, bus, msg, raw)
                        if event is None or rules is None:
                            continue
                        matched = self._match(batch, rules, bus, msg, event)
                        if not matched:
                            continue
                        event_id = event.get("id")
                        key = event_id.encode() if event_id is not None else msg.key()
                    if replayed:  # only records of a replay topic: live events never come here
                        matched = replayed_to(matched, msg.headers())
                    timestamp_ms = msg.timestamp()[1]
                    if timestamp_ms < oldest:
                        oldest = timestamp_ms
                    rule: Rule
                    for rule in matched:
                        matches[rule] += 1
                        for target in rule.targets:
                            origin = forwarded_from(msg.headers()) if target.forwards else None
                            if origin is None:
                                target.send(event, raw, key, timestamp_ms, now_ms, batch)
                            else:
                                batch.reject(target, raw, key, NOT_FORWARDED_AGAIN,
                                             refused_headers(target.headers, origin))
                except Exception as exc:
                    self._unroutable(batch, msg, exc)
        except BaseException:
            batch.offsets = input_offsets(messages[:done - 1])
            raise
        finally:
            batch.oldest_ms = min(batch.oldest_ms, oldest)
        return batch

    def _scheduled(self, batch: Batch, msg: Message, now_ms: int) -> None:
        """A scheduled rule's event, to that rule's targets (if it is still enabled and scheduled)."""
        bus, _, name = (msg.key() or b"").decode().partition("/")
        rules = self._index.buses.get(bus)
        rule = rules.scheduled.get(name) if rules is not None else None
        if rule is None:
            log.info("scheduled event for rule %s/%s, which no longer fires: not sent", bus, name)
            return
        raw = msg.value() or b""
        event = decode_json(raw) if rule.reads_event else None
        key = event["id"].encode() if event is not None else msg.key()
        batch.counts.matches[rule] += 1
        timestamp_ms = msg.timestamp()[1]
        batch.oldest_ms = min(batch.oldest_ms, timestamp_ms)
        for target in rule.targets:
            target.send(event, raw, key, timestamp_ms, now_ms, batch)

    def _decode(self, batch: Batch, bus: str, msg: Message, raw: bytes) -> Event | None:
        """The event, or None once an invalid one is dead-lettered: one bad record never stops its partition."""
        try:
            return decode_json(raw)
        except InvalidEnvelope as exc:
            self._outbox.dead_letter(batch, bus, REASON_INVALID_ENVELOPE, raw, msg.key(), msg.headers() or [],
                                     f"invalid envelope: {exc}")
            return None

    def _match(self, batch: Batch, rules: BusRules, bus: str, msg: Message, event: Event,
               among: Collection[Rule] | None = None) -> Collection[Rule] | None:
        """The Python engine's answer, for what the native matcher left to it: the whole record, or
        only the rules `among` (then the other rules' native answer stands). None once the record
        is dead-lettered because matching failed, so it is not routed at all."""
        try:
            if among is None:
                return rules.ruleset.matching(event)  # type: ignore[return-value]
            return rules.ruleset.matching_among(event, among)  # type: ignore[return-value]
        except Exception as exc:  # an event the matcher chokes on is dead-lettered, not the partition
            log.exception("bus %s: matching failed on a record", bus)
            self._outbox.dead_letter(batch, bus, REASON_MATCH_FAILED, msg.value() or b"", msg.key(),
                                     msg.headers() or [], f"matching failed: {exc!r}")
            return None

    def _unroutable(self, batch: Batch, msg: Message, exc: Exception) -> None:
        if msg.topic() == self._scheduled_topic:  # keyed <bus>/<rule>: the DLQ is that bus's
            bus = (msg.key() or b"").decode(errors="replace").partition("/")[0]
        else:
            bus = self._bus(msg.topic())[0]
        log.error("bus %s: a record could not be routed (%r); it goes to the bus DLQ", bus, exc)
        self._outbox.dead_letter(batch, bus, REASON_ROUTING_FAILED, msg.value() or b"", msg.key(),
                                 msg.headers() or [], f"routing failed: {exc!r}"[:1000])
