"""The seam between routing and delivering: what a destination (a sink) must do, how it says
that a delivery failed, and how often a failed delivery is tried again.

Every other router module may depend on this one and it depends on none of them. A kind of
destination (a Kafka topic today; HTTP endpoints, functions, another cluster to come) is one
module implementing `Sink`; the ledger, the retry path and the dead-letter path only ever see
this interface, so none of them changes when a kind is added.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.arns import TargetRef
from streams.retry_policy import DEFAULT_MAX_EVENT_AGE_S, TargetRetryPolicy

Headers = list[tuple[str, bytes]]

# Retries happen inline, and a retrying batch holds back the commit of every batch after it,
# so a failing delivery is tried again at most INLINE_MAX_RETRIES times whatever the policy
# allows, with exponential backoff (0.2 s, 0.4 s); each attempt is bounded by the sink's own
# timeout (5 s for Kafka): a dead target holds commits back ~16 s at most before its events
# go to the dead-letter queue, whence they can be replayed.
INLINE_MAX_RETRIES = 2
RETRY_BACKOFF_S = 0.2
RETRY_BACKOFF_MAX_S = 5.0


@dataclass(frozen=True, slots=True)
class DeliveryError:
    """Why a record did not reach its destination, and whether trying again may help
    (a timeout may; a record too large or a destination that does not exist never will)."""

    reason: str
    retriable: bool


class Done(ABC):
    """Told the outcome of each record a sink accepted, once per record, from whatever thread
    the sink reports on. One Done serves every record of one target in one consumed batch;
    `adapted` is free for the sink to keep its own form of this object in (a Kafka producer
    wants an `(err, msg)` callback), made once per Done rather than once per record."""

    __slots__ = ("adapted",)

    def __init__(self) -> None:
        self.adapted: Any = None

    @abstractmethod
    def ok(self) -> None: ...

    @abstractmethod
    def failed(self, error: DeliveryError, value: bytes, key: bytes | None) -> None:
        """`value` and `key` as sent, so the record can be retried or dead-lettered as it was."""


class Sink(Protocol):
    """A destination records can be sent to.

    `send` never blocks on the destination and never raises for a record it cannot take: the
    outcome, success or `DeliveryError`, reaches `done` (possibly before `send` returns).
    `max_bytes` is the largest record it accepts, checked before a shaped record is sent so that
    an oversized result is dead-lettered with the event it came from. `timestamp_ms` is the
    record's time where the destination keeps one (0: now); archives keep the bus record's.
    """

    max_bytes: int

    def send(self, value: bytes, key: bytes | None, headers: Headers, done: Done, timestamp_ms: int = 0) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A target's RetryPolicy as the router applies it: attempts in all (the first included,
    capped by INLINE_MAX_RETRIES) and the event age past which it is not delivered at all."""

    max_attempts: int = 1 + INLINE_MAX_RETRIES
    max_age_ms: int = 1000 * DEFAULT_MAX_EVENT_AGE_S

    @classmethod
    def of(cls, spec: Mapping[str, Any] | None) -> RetryPolicy:
        """From a target's `RetryPolicy` (ValueError as TargetRetryPolicy.of raises it)."""
        policy = TargetRetryPolicy.of(spec)
        return cls(1 + min(policy.retries, INLINE_MAX_RETRIES), 1000 * policy.max_age_s)

    def retry(self, attempts: int) -> bool:
        """Whether a record that failed after `attempts` attempts gets another."""
        return attempts < self.max_attempts


def retry_backoff(round_: int) -> float:
    """Seconds before the `round_`-th retry of a batch's failures (1, 2, ...)."""
    return min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S * 2 ** (round_ - 1))


class Route(Protocol):
    """What the retry and dead-letter path needs of a target (router/targets.py `Target`)."""

    bus: str
    arn: str
    labels: tuple[str, ...]  # bus, rule, target id: its metrics series
    headers: Headers  # on every record it sends
    policy: RetryPolicy
    sink: Sink | None  # None when it cannot be delivered to at all
    dead_letter: Sink | None  # its own dead-letter queue; None for the bus's


class Unroutable(ValueError):
    """A target's configuration names somewhere busbar cannot deliver to."""


class Destinations(Protocol):
    """Where sinks come from: the router is given one, so tests can give it sinks of their own."""

    def sink(self, ref: TargetRef) -> Sink:
        """The sink a target ARN names; Unroutable when there is no such place."""
        ...

    def bus_dead_letters(self, bus: str) -> Sink:
        """The bus's own dead-letter queue, which takes any record the bus holds."""
        ...

    def poll(self, timeout: float) -> None:
        """Let sinks report outcomes (waiting up to timeout for the first)."""
        ...
