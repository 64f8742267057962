"""The seam between routing and delivering: what a destination (a sink) must do, how it says
that a delivery failed, and where a failed delivery waits to be tried again.

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
from streams.jobs import Job
from streams.retry_policy import DEFAULT_MAX_EVENT_AGE_S, TargetRetryPolicy

Headers = list[tuple[str, bytes]]

# The router never retries a delivery itself: a retriable failure is parked as a job in a
# retry topic of this cluster (`Destinations.retries`), which the delivery service takes up
# when due, so a failing target holds back no commit once its job is parked. What the router
# does write again, with this backoff, is a dead letter or a parked job this cluster refused
# (nothing else can take it, and the batch's commit must wait until one lands).
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
    """What the router itself applies of a target's RetryPolicy: the event age past which it is
    not sent at all. Attempts are counted on the parked job (streams/jobs.py), which reads the
    target's policy where it is retried."""

    max_age_ms: int = 1000 * DEFAULT_MAX_EVENT_AGE_S

    @classmethod
    def of(cls, spec: Mapping[str, Any] | None) -> RetryPolicy:
        """From a target's `RetryPolicy` (ValueError as TargetRetryPolicy.of raises it)."""
        return cls(1000 * TargetRetryPolicy.of(spec).max_age_s)


def retry_backoff(round_: int) -> float:
    """Seconds before the `round_`-th rewrite of a batch's refused dead letters and parked jobs (1, 2, ...)."""
    return min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_S * 2 ** (round_ - 1))


class Route(Protocol):
    """What the parking and dead-letter path needs of a target (router/targets.py `Target`)."""

    bus: str
    arn: str
    labels: tuple[str, ...]  # bus, rule, target id: its metrics series
    headers: Headers  # on every record it sends
    dead_letter: Sink | None  # its own dead-letter queue; None for the bus's

    def job(self, value: bytes, key: bytes | None, headers: Headers, timestamp_ms: int) -> Job:
        """The job that delivers this record (as sent, failed once) to this target later, in the
        delivery service's record format; `timestamp_ms` is when its event reached its bus."""
        ...


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

    def retries(self, tier: int) -> Sink:
        """The retry topic of a tier (streams/retry_schedule.py), where failed deliveries are parked."""
        ...

    def poll(self, timeout: float) -> None:
        """Let sinks report outcomes (waiting up to timeout for the first)."""
        ...
