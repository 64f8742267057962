"""When a failed delivery is tried again, and in which retry topic it waits: for every kind of
target, whether the router or the delivery service parks it.

EventBridge retries with exponential backoff for up to 185 attempts and 24 hours; so does
busbar: the n-th retry waits about min(2^(n-1), 300) seconds, times a random factor in
[0.5, 1] so that deliveries that failed together do not come back together. A 429's
Retry-After is honoured when it asks for longer. The wait happens in Kafka, not in memory:
the record goes to the retry topic of the longest tier not longer than its wait (1 s, 10 s,
60 s, 300 s), whose consumer holds it until its due time. Tiers keep a topic's records in
roughly due-time order, so a record due soon never waits behind one due in an hour.
"""

from __future__ import annotations

import random

TIERS_S = (1, 10, 60, 300)
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 300.0


def backoff_s(attempts: int, retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after `attempts` attempts have failed."""
    wanted = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    wait = wanted * (rng or random).uniform(0.5, 1.0)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, BACKOFF_MAX_S))
    return wait


def tier_for(wait_s: float) -> int:
    """The retry tier (its delay in seconds) a record waiting `wait_s` is parked in."""
    chosen = TIERS_S[0]
    for tier in TIERS_S:
        if tier <= wait_s:
            chosen = tier
    return chosen
