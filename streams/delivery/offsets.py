"""Which offset of each partition may be committed when records finish out of order.

Deliveries to different destinations finish in any order (a slow endpoint's records finish
last), but a partition's committed offset says "everything before this is done". So the commit
point is the oldest record still in hand, or the one after the newest taken when none is: a
crash then repeats at most what was in hand (at-least-once, as EventBridge delivers) and never
skips a record.
"""

from __future__ import annotations

import heapq


class PartitionOffsets:
    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._heap: list[int] = []
        self._next = -1  # one past the newest offset taken; -1 before the first

    def take(self, offset: int) -> None:
        self._pending.add(offset)
        heapq.heappush(self._heap, offset)
        self._next = max(self._next, offset + 1)

    def done(self, offset: int) -> None:
        self._pending.discard(offset)

    @property
    def in_hand(self) -> int:
        return len(self._pending)

    def committable(self) -> int | None:
        """The offset to commit, or None when nothing was taken."""
        while self._heap and self._heap[0] not in self._pending:
            heapq.heappop(self._heap)
        if self._heap:
            return self._heap[0]
        return self._next if self._next >= 0 else None
