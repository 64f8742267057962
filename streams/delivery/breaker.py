"""Each destination's circuit breaker: a destination that keeps failing is left alone for a while,
instead of being sent attempts that fail and parked again, each a request, a retry-topic write
and a read, while the others share the worker's CPU.

Closed, attempts go through; FAILURES retriable failures in a row open it. Open, no attempt goes
until its cooling period ends: the service parks jobs until then without counting an attempt, so
a job's RetryPolicy is spent only by requests actually made. Then one attempt, the probe, goes
while the destination's other attempts wait for its outcome: a success closes the breaker, a
failure opens it again for twice as long (COOLING_S, 2x, 4x ... up to MAX_COOLING_S), so an
outage of an hour costs each parked job a few dozen writes, not thousands.

A job held while it cools is parked until the cooling period ends only if it is the first of
that period (it will be the probe); the others until one cooling period later, when the
breaker would cool again should the probe fail, as it mostly does while a destination is down.
With them all due at the end of the period, every one came back to find the probe out or failed
and was parked anew, at every end of a period: each park, a write and a read of the retry topic
and the CPU that costs, taken from the router (a failing destination's backlog was parked twice
over in a few seconds). Jobs taken while the probe is out are held in the same way, as if it
failed: past the period it would open and the next. The price: after an outage, the held jobs
reach the destination up to two cooling periods later (at most 2 x MAX_COOLING_S after it is
back; never later than an event's age allows).

Answers that say the destination works but refuses this one request (any 4xx but 429) are not
failures of the destination: they close the breaker as a success does. Attempts that were in
flight when it opened may end while it is open: a success closes it, a failure changes nothing.

Why not a library (pybreaker, aiobreaker, purgatory): they refuse calls while open, with a fixed
reset timeout; the service needs the time the breaker reopens, to park jobs until then, and a
cooling period that grows while the destination keeps failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from streams.jobs import now_ms

# Failures in a row that open it: enough that an endpoint failing half its requests at random
# (0.5**20, about one in a million) keeps being tried, few enough that one which is down opens
# it within its first second of attempts (a lane sends 32 at a time).
FAILURES = 20
COOLING_S = 1.0
MAX_COOLING_S = 60.0
NO_DEADLINE = 2**62

CLOSED, OPEN, PROBING = "closed", "open", "half-open"


@dataclass(frozen=True, slots=True)
class Admission:
    """`go`: make the attempt (as the probe when `probe`); otherwise park the job until `until_ms`."""

    go: bool
    probe: bool = False
    until_ms: int = 0


class Breaker:
    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self._clock = clock
        self.failures = 0  # retriable failures in a row
        self.cooling_s = COOLING_S  # of the next opening
        self.open_until_ms = 0
        self.opened = 0  # times it opened, for the metrics
        self._probing: asyncio.Event | None = None  # set when the probe in flight has its outcome
        self._probe_due_ms = 0  # the end of the cooling period a held job is already due at, to probe

    @property
    def state(self) -> str:
        if self._probing is not None:
            return PROBING
        return OPEN if self.open_until_ms else CLOSED

    def hold_until(self, deadline_ms: int = NO_DEADLINE) -> int | None:
        """When a job taken now is to be tried (ms), if not now; None once attempts may go: closed,
        or cooled (the next attempt is the probe, and the others wait for it in the lane), or the
        probe is out and holding the job would take it past `deadline_ms` (when its event is too old)."""
        now = self._clock()
        probing = self._probing is not None
        if probing:  # as if it failed: open for the next cooling period, then its probe
            ends = (now + self._cooling_ms(2), now + self._cooling_ms(2) + self._cooling_ms(4))
        elif self.open_until_ms and now < self.open_until_ms:
            ends = (self.open_until_ms, self.open_until_ms + self._cooling_ms(2))
            if self._probe_due_ms != self.open_until_ms:
                self._probe_due_ms = self.open_until_ms
                return ends[0]
        else:
            return None
        if ends[1] <= deadline_ms:
            return ends[1]
        return None if probing and ends[0] > deadline_ms else ends[0]

    def _cooling_ms(self, factor: int) -> int:
        return int(min(MAX_COOLING_S, self.cooling_s * factor) * 1000)

    async def admit(self, deadline_ms: int = NO_DEADLINE) -> Admission:
        """Whether an attempt may go now; while a probe is out, waits for its outcome first."""
        while True:
            if self._probing is not None:
                await self._probing.wait()
                continue
            if not self.open_until_ms:
                return Admission(True)
            if (until := self.hold_until(deadline_ms)) is not None:
                return Admission(False, until_ms=until)
            self._probing = asyncio.Event()
            return Admission(True, probe=True)

    def succeeded(self, probe: bool = False) -> None:
        """The destination answered (a 2xx, or a 4xx about the request itself)."""
        self.failures = 0
        self.cooling_s = COOLING_S
        self.open_until_ms = 0
        self._probe_done(probe)

    def failed(self, probe: bool = False) -> None:
        """A retriable failure: the destination may be down."""
        if probe:
            self._open(min(MAX_COOLING_S, self.cooling_s * 2))
            self._probe_done(probe)
        elif not self.open_until_ms:
            self.failures += 1
            if self.failures >= FAILURES:
                self._open(COOLING_S)

    def abandoned(self, probe: bool) -> None:
        """An admitted attempt that made no request after all (the worker stopping): the next one probes."""
        self._probe_done(probe)

    def _open(self, cooling_s: float) -> None:
        self.cooling_s = cooling_s
        self.open_until_ms = self._clock() + int(cooling_s * 1000)
        self.opened += 1

    def _probe_done(self, probe: bool) -> None:
        if probe and self._probing is not None:
            self._probing.set()
            self._probing = None
