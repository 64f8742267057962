"""A destination's lane in the delivery service: what keeps one place from holding up the others.

Each lane has a bounded number of attempts in flight, its share of the destination's rate limit,
its circuit breaker (streams/delivery/breaker.py), and a bound on the deliveries waiting for a
slot: past it, new ones are parked (spilled) in a retry topic, no attempt counted. Spilled jobs
come back at most SPILL a second, or the destination's rate limit (this worker's share of it)
when that is lower, the first a second later: the longer the backlog, the later they are due.
With one fixed delay, a backlog of 15,000 came back every second, each time to be parked anew,
and that churn took the CPU the router shares; at SPILL a second to a destination allowed 10,
all but 10 of them came back only to be parked again.
"""

from __future__ import annotations

import asyncio

from streams.delivery.breaker import CLOSED, Breaker
from streams.delivery.rate import TokenBucket
from streams.metrics import (
    DELIVERY_CIRCUIT_HELD,
    DELIVERY_CIRCUIT_OPEN,
    DELIVERY_CIRCUIT_OPENED,
    DELIVERY_SPILLED,
)

CONCURRENCY = 32  # attempts in flight per destination per worker
SPILL = 512  # deliveries waiting in one lane past which new ones are parked instead
SPILL_DELAY_MS = 1000


class Lane:
    def __init__(self, name: str) -> None:
        self.name = name
        self.slots = asyncio.Semaphore(CONCURRENCY)
        self.bucket = TokenBucket(1.0)
        self.rate_per_s: float | None = None  # this worker's share of the destination's rate limit, if any
        self.breaker = Breaker()
        self.waiting = 0
        self._spill_due_ms = 0
        self._spilled_then = 0  # jobs spilled due at _spill_due_ms
        self._shown = (False, 0)  # what the metrics say of the breaker: open, times opened
        # Its series of jobs held for the breaker and spilled, looked up once: they count nearly
        # every job taken while the destination fails.
        self.held = DELIVERY_CIRCUIT_HELD.labels(name)
        self.spilled = DELIVERY_SPILLED.labels(name)

    @property
    def full(self) -> bool:
        return self.waiting >= SPILL

    def limit(self, rate_per_s: float) -> None:
        """Attempts at most `rate_per_s` a second (this worker's share of the destination's limit)."""
        self.rate_per_s = rate_per_s
        self.bucket.set_rate(rate_per_s)

    def spill_due(self, now_ms: int) -> int:
        """When a job spilled now is due: as many a second as the lane may send (SPILL at most),
        from a second after now on."""
        per_second = SPILL if self.rate_per_s is None else max(1, min(SPILL, int(self.rate_per_s)))
        if self._spill_due_ms < now_ms + SPILL_DELAY_MS:
            self._spill_due_ms, self._spilled_then = now_ms + SPILL_DELAY_MS, 0
        elif self._spilled_then >= per_second:
            self._spill_due_ms, self._spilled_then = self._spill_due_ms + SPILL_DELAY_MS, 0
        self._spilled_then += 1
        return self._spill_due_ms

    def show(self) -> None:
        """The breaker's state on /metrics, when it changed."""
        shown = (self.breaker.state != CLOSED, self.breaker.opened)
        if shown != self._shown:
            DELIVERY_CIRCUIT_OPEN.labels(self.name).set(int(shown[0]))
            DELIVERY_CIRCUIT_OPENED.labels(self.name).inc(shown[1] - self._shown[1])
            self._shown = shown
