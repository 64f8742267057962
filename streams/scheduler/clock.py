"""The scheduler's clock: the system's, or one that runs faster from a chosen time.

Firing times are virtual times on this clock; everything else (Kafka, timeouts) runs on real
time. A test or a benchmark gives every worker the same `BUSBAR_SCHEDULE_CLOCK`, so they share
one virtual time and an hour of schedules passes in a minute; in production it is empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

FORMAT_HELP = "VIRTUAL_START,REAL_START,SPEED (an ISO 8601 time with a zone, epoch seconds, a factor)"


@dataclass(frozen=True)
class Clock:
    """Virtual epoch seconds: `virtual_start + (time.time() - real_start) * speed`."""

    virtual_start: float = 0.0
    real_start: float = 0.0
    speed: float = 1.0

    def now(self) -> float:
        return self.virtual_start + (time.time() - self.real_start) * self.speed

    def real_time(self, virtual: float) -> float:
        """The epoch seconds on the system clock when this clock shows `virtual`."""
        return self.real_start + (virtual - self.virtual_start) / self.speed

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long a span of virtual time lasts in real time."""
        return virtual_seconds / self.speed


def parse_clock(text: str) -> Clock:
    """The system clock for an empty setting; ValueError naming the expected form otherwise."""
    if not text.strip():
        return Clock()
    parts = [part.strip() for part in text.split(",")]
    try:
        if len(parts) != 3:
            raise ValueError
        start = datetime.fromisoformat(parts[0].replace("Z", "+00:00"))
        if start.tzinfo is None:
            raise ValueError
        speed = float(parts[2])
        if speed <= 0:
            raise ValueError
        return Clock(start.timestamp(), float(parts[1]), speed)
    except ValueError:
        raise ValueError(f"BUSBAR_SCHEDULE_CLOCK={text!r} is not {FORMAT_HELP}") from None
