"""Parked retries and dead letters for what the router sends, batch by batch, in batch order.

Each consumed batch has a ledger (router/ledger.py) of what it sent. Sending does not wait:
the router keeps consuming and sending while earlier batches are still on their way, and a
batch's input offsets may be committed only once it is settled, meaning every record sent for
it (and for every batch before it) has been acknowledged, or parked as a job in a retry topic
(the delivery service retries it from there, with backoff, as its RetryPolicy allows), or
written to a dead-letter queue with the reason. A kill -9 at any point loses nothing: a
failure not yet parked holds its batch's commit, so its event is routed again. Waiting for each batch instead would leave the router idle
for a round trip per batch, which on a busy broker costs more than matching the batch did.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from streams.metrics import (
    DEAD_LETTERS,
    EVENTS_IN,
    RULE_MATCHES,
    TARGET_DELIVERIES,
    TARGET_FAILURES,
    TARGET_RETRIES,
)
from streams.router.delivery import Destinations, Headers, Sink, retry_backoff
from streams.router.ledger import Batch, Failure

log = logging.getLogger(__name__)

REASON_INVALID_ENVELOPE = "invalid-envelope"
REASON_TARGET_FAILED = "target-failed"
REASON_MATCH_FAILED = "match-failed"
REASON_ROUTING_FAILED = "routing-failed"
# A dead letter that even the bus DLQ refuses for good (a record larger than the DLQ takes)
# is written once more without its value: its headers still say why, and where the event is.
UNWRITABLE = "busbar-dead-letter-unwritable"


class Outbox:
    def __init__(self, destinations: Destinations) -> None:
        self._destinations = destinations
        self._in_flight: deque[Batch] = deque()
        self.events_in_flight = 0  # consumed records whose batch has not settled

    def __len__(self) -> int:
        return len(self._in_flight)

    def begin(self, size: int) -> Batch:
        """A ledger for a batch of `size` consumed records (records of a partition arrive in order)."""
        batch = Batch(size)
        self._in_flight.append(batch)
        self.events_in_flight += size
        return batch

    def dead_letter(self, batch: Batch, bus: str, kind: str, value: bytes, key: bytes | None, headers: Headers,
                    reason: str) -> None:
        """A bus record that cannot be routed at all goes, untouched, to the bus DLQ with the reason."""
        headers = [*headers, ("busbar-bus", bus.encode()), ("busbar-error", reason.encode())]
        self._write_letter(batch, bus, kind, value, key, headers, None)

    def poll(self, timeout: float) -> list[Batch]:
        """Serve delivery reports (waiting up to timeout), move failed batches along, and
        return the batches now settled, oldest first, that no unsettled batch precedes."""
        self._destinations.poll(timeout)
        now = time.monotonic()
        for batch in self._in_flight:
            if batch.pending == 0 and (batch.failures or batch.unparked or batch.lost_letters):
                self._advance(batch, now)
        done: list[Batch] = []
        while self._in_flight and self._in_flight[0].settled:
            batch = self._in_flight.popleft()
            batch.close()
            done.append(batch)
            self.events_in_flight -= batch.size
        return done

    def _advance(self, batch: Batch, now: float) -> None:
        """Park what may be retried and dead-letter the rest; write again, once a backoff is over,
        what this cluster refused to take (a parked job, a dead letter)."""
        failures, batch.failures = batch.failures, []
        for failure in failures:
            if failure.error.retriable:
                self._park(batch, failure)
            else:
                self._give_up(batch, failure, failure.error.reason, 1)
        for unparked in batch.unparked:
            if not unparked.error.retriable:  # refused for good (too large, say): the event is dead-lettered
                reason = f"{unparked.failure.error.reason}; parking it for a retry failed: {unparked.error.reason}"
                self._give_up(batch, unparked.failure, reason, 1)
        batch.unparked = [unparked for unparked in batch.unparked if unparked.error.retriable]
        if not (batch.unparked or batch.lost_letters):
            return
        if batch.retry_at == 0.0:
            batch.rounds += 1
            batch.retry_at = now + retry_backoff(batch.rounds)
        if now < batch.retry_at:
            return
        batch.retry_at = 0.0
        unparked_jobs, batch.unparked = batch.unparked, []
        for unparked in unparked_jobs:
            log.error("%s: parking a retry failed (%s); writing it again", unparked.failure.target,
                      unparked.error.reason)
            self._destinations.retries(unparked.tier).send(unparked.job, unparked.failure.key, [],
                                                           batch.expect_parked(unparked.failure, unparked.tier))
        letters, batch.lost_letters = batch.lost_letters, []
        for letter in letters:
            headers = letter.headers
            if letter.in_bus_queue and not letter.error.retriable:  # refused for good: keep the reason, not the value
                log.error("bus %s: dead letter refused by its queue (%s); writing its headers without the value",
                          letter.bus, letter.error.reason)
                if any(name == UNWRITABLE for name, _ in headers):
                    continue  # already the smallest form there is; nothing more can be written
                headers = [*headers, (UNWRITABLE, letter.error.reason.encode()),
                           ("busbar-value-bytes", str(len(letter.value)).encode())]
                letter.value = b""
            else:
                log.error("bus %s: dead-letter record not written (%s); writing it to the bus DLQ", letter.bus,
                          letter.error.reason)
            self._destinations.bus_dead_letters(letter.bus).send(letter.value, letter.key, headers,
                                                                 batch.expect_letter(letter.bus, headers, True))

    def _park(self, batch: Batch, failure: Failure) -> None:
        """A retriable failure becomes a job in a retry topic, which the delivery service takes up
        when due; the batch waits only for the retry topic's acknowledgement, not for the retry."""
        target = failure.target
        try:
            job = target.job(failure.value, failure.key, failure.headers, batch.oldest_ms)
            job.attempted(failure.error.reason)
            tier = job.retry_or_why_not(failure.error.reason)
        except ValueError as exc:  # nothing a job can hold (not UTF-8, say): no retry can help it
            self._give_up(batch, failure, f"{failure.error.reason}; it cannot be parked for a retry: {exc}", 1)
            return
        if isinstance(tier, str):  # its RetryPolicy allows no retry (MaximumRetryAttempts 0, say)
            self._give_up(batch, failure, tier, job.attempts)
            return
        log.info("%s: attempt 1 failed (%s); parked for a retry", target, failure.error.reason)
        TARGET_RETRIES.labels(*target.labels).inc()
        self._destinations.retries(tier).send(job.encode(), failure.key, [], batch.expect_parked(failure, tier))

    def _give_up(self, batch: Batch, failure: Failure, reason: str, attempts: int) -> None:
        target = failure.target
        batch.failed[target] += 1
        log.warning("%s: giving up after %d attempt(s): %s", target, attempts, reason)
        headers = [*failure.headers, ("busbar-error", reason.encode()),
                   ("busbar-attempt", str(attempts).encode()), ("busbar-target", target.arn.encode())]
        self._write_letter(batch, target.bus, REASON_TARGET_FAILED, failure.value, failure.key, headers,
                           target.dead_letter)

    def _write_letter(self, batch: Batch, bus: str, kind: str, value: bytes, key: bytes | None, headers: Headers,
                      sink: Sink | None) -> None:
        DEAD_LETTERS.labels(bus, kind).inc()
        receipt = batch.expect_letter(bus, headers, sink is None)
        (sink or self._destinations.bus_dead_letters(bus)).send(value, key, headers, receipt)


def count_settled(batch: Batch) -> None:
    """Export what a settled batch did: once per batch, not per event (see streams/metrics.py)."""
    counts = batch.counts
    for bus, n in counts.events.items():
        EVENTS_IN.add((bus,), n)
    failed = batch.failed
    for rule, n in counts.matches.items():
        RULE_MATCHES.add(rule.labels, n)  # type: ignore[attr-defined]
        for target in rule.targets:  # type: ignore[attr-defined]
            TARGET_DELIVERIES.add(target.labels, n - failed[target])
    for target, n in failed.items():
        TARGET_FAILURES.add(target.labels, n)  # type: ignore[attr-defined]
