"""What the router owes for one consumed batch: records sent and not yet reported, failures
waiting to be parked for a retry or dead-lettered, and the input offsets that may be committed
once all of that is settled.

A plain ledger: sinks report into it through `Receipt`s, the outbox reads and clears it. It
knows no sink and no Kafka client, only the seam (router/delivery.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field

from streams.router.delivery import DeliveryError, Done, Headers, Route


@dataclass
class BatchCounts:
    """What a batch did, counted per batch and exported to metrics once it settles."""

    events: Counter[str] = field(default_factory=Counter)  # by bus
    matches: Counter[Hashable] = field(default_factory=Counter)  # by rule


@dataclass(slots=True)
class Failure:
    """A record that did not reach its target (yet)."""

    target: Route
    value: bytes
    key: bytes | None
    headers: Headers
    error: DeliveryError


@dataclass(slots=True)
class Unparked:
    """A failure's job that the retry topic refused; written again until it lands."""

    failure: Failure
    job: bytes
    tier: int
    error: DeliveryError


@dataclass(slots=True)
class DeadLetter:
    """A dead-letter record whose own write failed; it falls back to the bus DLQ until it lands."""

    bus: str
    value: bytes
    key: bytes | None
    headers: Headers
    error: DeliveryError
    in_bus_queue: bool  # it was refused by the bus DLQ itself, not by a target's own DLQ


class Receipt(Done):
    """The outcome of a target's records in one batch."""

    __slots__ = ("batch", "target")

    def __init__(self, batch: Batch, target: Route) -> None:
        super().__init__()
        self.batch, self.target = batch, target

    def ok(self) -> None:
        self.batch.pending -= 1

    def failed(self, error: DeliveryError, value: bytes, key: bytes | None) -> None:
        batch = self.batch
        batch.pending -= 1
        # Reported records carry no headers (confluent-kafka does not return them), and every
        # record a target sends carries the target's own.
        batch.failures.append(Failure(self.target, value, key, self.target.headers, error))


class ParkReceipt(Done):
    """The outcome of parking one failure's job in a retry topic."""

    __slots__ = ("batch", "failure", "tier")

    def __init__(self, batch: Batch, failure: Failure, tier: int) -> None:
        super().__init__()
        self.batch, self.failure, self.tier = batch, failure, tier

    def ok(self) -> None:
        self.batch.pending -= 1

    def failed(self, error: DeliveryError, value: bytes, key: bytes | None) -> None:
        self.batch.pending -= 1
        self.batch.unparked.append(Unparked(self.failure, value, self.tier, error))


class LetterReceipt(Done):
    """The outcome of one dead-letter record; `headers` as written, since they hold the reason."""

    __slots__ = ("batch", "bus", "headers", "in_bus_queue")

    def __init__(self, batch: Batch, bus: str, headers: Headers, in_bus_queue: bool) -> None:
        super().__init__()
        self.batch, self.bus, self.headers, self.in_bus_queue = batch, bus, headers, in_bus_queue

    def ok(self) -> None:
        self.batch.pending -= 1

    def failed(self, error: DeliveryError, value: bytes, key: bytes | None) -> None:
        self.batch.pending -= 1
        self.batch.lost_letters.append(DeadLetter(self.bus, value, key, self.headers, error, self.in_bus_queue))


@dataclass(eq=False)
class Batch:
    """The records sent for one consumed batch, and the input offsets they settle.

    `offsets` holds, per bus partition, the offset after the last record dispatched: the
    dispatcher moves it record by record, so a batch cut short by a crash settles (and lets
    be committed) only what was really sent.
    """

    size: int  # consumed records
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    counts: BatchCounts = field(default_factory=BatchCounts)
    pending: int = 0  # sent, not yet reported
    failures: list[Failure] = field(default_factory=list)
    unparked: list[Unparked] = field(default_factory=list)
    lost_letters: list[DeadLetter] = field(default_factory=list)
    failed: Counter[Hashable] = field(default_factory=Counter)  # events each target dead-lettered
    rounds: int = 0
    retry_at: float = 0.0
    receipts: dict[Route, Receipt] = field(default_factory=dict)
    # The oldest bus record time among its records: what a parked job counts its event's age from
    # (delivery reports do not say which record they are about), so an age limit never runs late.
    oldest_ms: int = 2**63

    @property
    def settled(self) -> bool:
        return self.pending == 0 and not self.failures and not self.unparked and not self.lost_letters

    def expect(self, target: Route) -> Receipt:
        """The receipt for one more record of `target`'s, made once per target and batch."""
        receipt = self.receipts.get(target)
        if receipt is None:
            receipt = self.receipts[target] = Receipt(self, target)
        self.pending += 1
        return receipt

    def expect_parked(self, failure: Failure, tier: int) -> ParkReceipt:
        self.pending += 1
        return ParkReceipt(self, failure, tier)

    def expect_letter(self, bus: str, headers: Headers, in_bus_queue: bool) -> LetterReceipt:
        self.pending += 1
        return LetterReceipt(self, bus, headers, in_bus_queue)

    def reject(self, target: Route, value: bytes, key: bytes | None, reason: str,
               headers: Headers | None = None) -> None:
        """A record that cannot be sent to its target at all: no retry helps."""
        self.failures.append(Failure(target, value, key, list(target.headers) if headers is None else headers,
                                     DeliveryError(reason, retriable=False)))

    def close(self) -> None:
        """Break the cycles through the receipts once the batch settles (batch -> receipt ->
        batch, receipt -> its sink's callback -> receipt): without this every batch and its
        thousand receipts (one per target touched) waited for the collector, whose
        older-generation passes then took 100+ ms every few seconds."""
        for receipt in self.receipts.values():
            receipt.adapted = None
        self.receipts.clear()
