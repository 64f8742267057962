"""The garbage collector set for a busbar process that has finished starting.

Per event, routing and PutEvents allocate a dozen containers. With Python's default young
generation (700) the collector ran ~60 times a second and a full collection every ~2 s walked
everything the process holds (the rule index, the app, the libraries): 5-6 % of the router's
time and pauses of 40-100 ms (measured with gc.callbacks at ~17,000 events/s, 1,000 rules).
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 20, 20)


def settle_garbage_collector() -> None:
    """Move what exists once the process has started (compiled rules, the app, the configuration)
    out of the collector's way, and collect the young generation less often. Frozen objects are
    never collected, so a rule replaced later keeps its first version in memory if that version
    has reference cycles: a one-time cost bounded by the configuration at start."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
