"""Each API destination's InvocationRateLimitPerSecond, kept by all workers together.

Every worker of the delivery group takes the share of the limit that matches its share of the
group's partitions (the deliveries topic and the retry topics): a worker holding 3 of 12
partitions sends at most a quarter of the limit. The shares always add up to the whole limit,
whatever the number of workers, and change with each rebalance; no worker has to talk to
another. The price: a worker whose partitions carry little of one destination's traffic leaves
part of that destination's limit unused (keys spread deliveries evenly, so little in practice).
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """`rate` requests a second, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = max(rate, 0.001)
        self._tokens = min(self.rate, 1.0)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def set_rate(self, rate: float) -> None:
        self.rate = max(rate, 0.001)

    async def take(self) -> float:
        """Wait for a token; returns the seconds waited."""
        waited = 0.0
        async with self._lock:  # first come, first served
            while True:
                stamp = time.monotonic()
                self._tokens = min(max(self.rate, 1.0), self._tokens + (stamp - self._stamp) * self.rate)
                self._stamp = stamp
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                pause = (1.0 - self._tokens) / self.rate
                waited += pause
                await asyncio.sleep(pause)
