"""Acknowledgement, retry and dead-lettering of what the router produces, batch by batch.

Each consumed batch becomes a `Batch` that counts its records in flight. Producing does not
wait: the router keeps consuming and producing while earlier batches are still on their way,
and commits a batch's input offsets only once it is settled, meaning every record produced for
it (and for every batch before it) has been acknowledged by its cluster, or retried and then
written to a dead-letter queue with the reason. Waiting for each batch instead would leave the
router idle for a broker round trip per batch, which on a busy broker costs more than
matching the batch did.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, Message

from streams.metrics import DEAD_LETTERS, TARGET_RETRIES
from streams.router.clusters import Clusters, produce_when_room
from streams.topics import TopicNames

if TYPE_CHECKING:
    from streams.router.dispatch import BatchCounts
    from streams.router.targets import Headers, Target

log = logging.getLogger(__name__)

# EventBridge retries a target 185 times over 24 hours. Inline, a retrying batch holds back the
# commit of every batch after it, so busbar retries a failing produce at most
# INLINE_MAX_RETRIES times, with exponential backoff (0.2 s, 0.4 s), each attempt itself
# bounded by the producer's message.timeout.ms (5 s): a dead target holds commits back at most
# ~16 s before its events go to the dead-letter queue, whence they can be replayed. A
# dead-letter queue that cannot be written is retried until it can (backoff capped at 5 s):
# the batch is not committed meanwhile, so nothing is lost.
INLINE_MAX_RETRIES = 2
RETRY_BACKOFF_S = 0.2
RETRY_BACKOFF_MAX_S = 5.0

# Transient by nature although librdkafka does not flag them retriable: the broker or the
# network was too slow this time. Anything else not flagged retriable (unknown topic, record
# too large, authorization) will fail the same way again, so it is dead-lettered at once, as
# EventBridge does for a target that does not exist.
TRANSIENT = frozenset({KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
                       KafkaError._ALL_BROKERS_DOWN, KafkaError.REQUEST_TIMED_OUT,
                       KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND})

REASON_INVALID_ENVELOPE = "invalid-envelope"
REASON_TARGET_FAILED = "target-failed"
REASON_MATCH_FAILED = "match-failed"


def retry_backoff(round_: int) -> float:
    return min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S * 2 ** (round_ - 1))


def retriable(err: KafkaError) -> bool:
    return err.retriable() or err.code() in TRANSIENT


@dataclass
class Failure:
    """A target record that did not reach its destination (yet)."""

    target: Target
    value: bytes
    key: bytes | None
    headers: Headers | None
    error: str
    retriable: bool
    attempts: int = 1

    @property
    def retry(self) -> bool:
        return self.retriable and self.attempts < self.target.max_attempts


@dataclass
class DeadLetter:
    """A dead-letter record whose own produce failed; it falls back to the bus DLQ until it lands."""

    bus: str
    value: bytes
    key: bytes | None
    headers: Headers
    error: str


@dataclass(eq=False)
class Batch:
    """The records produced for one consumed batch, and the input offsets they settle."""

    offsets: dict[tuple[str, int], int]  # next offset to read, per bus partition
    size: int  # consumed records
    counts: BatchCounts | None = None
    pending: int = 0  # produced, not yet reported; Target.send counts up, delivery reports down
    failures: list[Failure] = field(default_factory=list)
    lost_letters: list[DeadLetter] = field(default_factory=list)
    failed: Counter[Target] = field(default_factory=Counter)  # events each target dead-lettered
    rounds: int = 0
    retry_at: float = 0.0
    acks: dict[Target, Any] = field(default_factory=dict)  # see ack()

    @property
    def settled(self) -> bool:
        return self.pending == 0 and not self.failures and not self.lost_letters

    def ack(self, target: Target) -> Any:
        """The delivery callback for this target's records in this batch, made once per pair
        and kept in `acks`, where the hot path looks it up first."""
        ack = self.acks[target] = partial(self.delivered, target, 1)
        return ack

    def delivered(self, target: Target, attempts: int, err: KafkaError | None, msg: Message) -> None:
        self.pending -= 1
        if err is not None:
            # The reported message carries no headers (confluent-kafka does not return them),
            # and every record a target produces carries the target's own.
            self.failures.append(Failure(target, msg.value(), msg.key(), target.headers, err.str(), retriable(err),
                                         attempts))

    def reject(self, target: Target, value: bytes, key: bytes | None, reason: str,
               headers: Headers | None = None) -> None:
        """A record that cannot be produced to its target at all: no retry helps."""
        self.failures.append(Failure(target, value, key, list(target.headers) if headers is None else headers, reason,
                                     retriable=False))

    def letter_delivered(self, bus: str, headers: Headers, err: KafkaError | None, msg: Message) -> None:
        """`headers` as produced: the reported message does not carry them, and they hold the reason."""
        self.pending -= 1
        if err is not None:
            self.lost_letters.append(DeadLetter(bus, msg.value(), msg.key(), headers, err.str()))


class Outbox:
    def __init__(self, clusters: Clusters, topics: TopicNames) -> None:
        self._clusters = clusters
        self._topics = topics
        self._in_flight: deque[Batch] = deque()
        self.events_in_flight = 0  # consumed records whose batch has not settled

    def __len__(self) -> int:
        return len(self._in_flight)

    def begin(self, messages: list[Message]) -> Batch:
        """A batch for these consumed records (records of a partition arrive in order)."""
        offsets: dict[tuple[str, int], int] = {}
        for msg in messages:
            if msg.error() is None:
                offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        batch = Batch(offsets, size=len(messages))
        self._in_flight.append(batch)
        self.events_in_flight += batch.size
        return batch

    def invalid_event(self, batch: Batch, bus: str, msg: Message, reason: str) -> None:
        """A bus record that is not a valid envelope goes, untouched, to the bus DLQ."""
        self._dead_letter_record(batch, bus, REASON_INVALID_ENVELOPE, msg, reason)

    def dead_letter_unmatchable(self, batch: Batch, bus: str, msg: Message, reason: str) -> None:
        """A valid event the matcher failed on (a matcher bug): kept in the bus DLQ for replay."""
        self._dead_letter_record(batch, bus, REASON_MATCH_FAILED, msg, reason)

    def _dead_letter_record(self, batch: Batch, bus: str, kind: str, msg: Message, reason: str) -> None:
        headers = [*(msg.headers() or []), ("busbar-bus", bus.encode()), ("busbar-error", reason.encode())]
        self._dead_letter(batch, bus, kind, msg.value() or b"", msg.key(), headers, None)

    def poll(self, timeout: float) -> list[Batch]:
        """Serve delivery reports (waiting up to timeout), move failed batches along, and
        return the batches now settled, oldest first, that no unsettled batch precedes."""
        self._clusters.poll(timeout)
        now = time.monotonic()
        for batch in self._in_flight:
            if batch.pending == 0 and (batch.failures or batch.lost_letters):
                self._advance(batch, now)
        done: list[Batch] = []
        while self._in_flight and self._in_flight[0].settled:
            batch = self._in_flight.popleft()
            # Its callbacks refer to it: without this cycle broken, every batch (and the
            # thousand callbacks of a batch touching a thousand targets) waited for the
            # collector, whose older-generation passes then took 100+ ms every few seconds.
            batch.acks.clear()
            done.append(batch)
            self.events_in_flight -= batch.size
        return done

    def _advance(self, batch: Batch, now: float) -> None:
        """Dead-letter what will not be retried, and retry the rest once its backoff is over."""
        for failure in batch.failures:
            if not failure.retry:
                self._give_up(batch, failure)
        batch.failures = [failure for failure in batch.failures if failure.retry]
        if not (batch.failures or batch.lost_letters):
            return
        if batch.retry_at == 0.0:
            batch.rounds += 1
            batch.retry_at = now + retry_backoff(batch.rounds)
        if now < batch.retry_at:
            return
        batch.retry_at = 0.0
        failures, batch.failures = batch.failures, []
        for failure in failures:
            target = failure.target
            log.warning("rule %s/%s target %s: attempt %d failed (%s); retrying", target.bus, target.rule,
                        target.spec.get("Id"), failure.attempts, failure.error)
            TARGET_RETRIES.labels(*target.labels).inc()
            batch.pending += 1
            target.resend(failure.value, failure.key, failure.headers,
                          partial(batch.delivered, target, failure.attempts + 1))
        letters, batch.lost_letters = batch.lost_letters, []
        for letter in letters:
            log.error("bus %s: dead-letter record not written (%s); writing it to %s", letter.bus, letter.error,
                      self._topics.dlq(letter.bus))
            batch.pending += 1
            produce_when_room(self._clusters.local, self._topics.dlq(letter.bus), letter.value, letter.key,
                              letter.headers, partial(batch.letter_delivered, letter.bus, letter.headers))

    def _give_up(self, batch: Batch, failure: Failure) -> None:
        target = failure.target
        batch.failed[target] += 1
        log.warning("rule %s/%s target %s: giving up after %d attempt(s): %s", target.bus, target.rule,
                    target.spec.get("Id"), failure.attempts, failure.error)
        headers = [*(failure.headers or []), ("busbar-error", failure.error.encode()),
                   ("busbar-attempt", str(failure.attempts).encode()), ("busbar-target", target.arn.encode())]
        self._dead_letter(batch, target.bus, REASON_TARGET_FAILED, failure.value, failure.key, headers,
                          target.dead_letter)

    def _dead_letter(self, batch: Batch, bus: str, kind: str, value: bytes, key: bytes | None, headers: Headers,
                     destination: Any) -> None:
        DEAD_LETTERS.labels(bus, kind).inc()
        producer, topic = ((destination.producer, destination.topic) if destination is not None
                           else (self._clusters.local, self._topics.dlq(bus)))
        batch.pending += 1
        produce_when_room(producer, topic, value, key, headers, partial(batch.letter_delivered, bus, headers))
