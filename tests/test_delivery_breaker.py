"""A destination's circuit breaker and lane on their own, with a clock the test moves (no broker;
the breaker against a real endpoint is in tests/test_delivery_http.py)."""

from __future__ import annotations

import asyncio

from streams.delivery.breaker import CLOSED, COOLING_S, FAILURES, MAX_COOLING_S, OPEN, PROBING, Breaker
from streams.delivery.lane import SPILL, SPILL_DELAY_MS, Lane


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def test_opens_after_failures_in_a_row_and_a_success_resets_the_count() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = Breaker(clock)
        for _ in range(FAILURES - 1):
            breaker.failed()
        breaker.succeeded()
        for _ in range(FAILURES - 1):
            breaker.failed()
        assert breaker.state == CLOSED and breaker.closed_until() is None
        assert (await breaker.admit()).go
        breaker.failed()
        assert breaker.state == OPEN and breaker.opened == 1
        until = clock.ms + int(COOLING_S * 1000)
        assert breaker.closed_until() == until
        admission = await breaker.admit()
        assert (admission.go, admission.until_ms) == (False, until)
        breaker.failed()  # an attempt that was in flight when it opened: no longer
        assert breaker.closed_until() == until

    asyncio.run(run())


def test_one_probe_when_cooled_the_others_wait_for_its_outcome() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = Breaker(clock)
        for _ in range(FAILURES):
            breaker.failed()
        clock.ms += int(COOLING_S * 1000)
        assert breaker.closed_until() is None  # cooled: attempts go to the lane, one probes
        probe = await breaker.admit()
        assert probe.go and probe.probe and breaker.state == PROBING
        waiting = asyncio.ensure_future(breaker.admit())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        breaker.failed(probe=True)  # reopened for twice as long; the waiting one is parked until then
        admission = await waiting
        assert (admission.go, admission.until_ms) == (False, clock.ms + int(2 * COOLING_S * 1000))
        assert breaker.opened == 2

        clock.ms = admission.until_ms
        probe = await breaker.admit()
        waiting = asyncio.ensure_future(breaker.admit())
        await asyncio.sleep(0.01)
        breaker.succeeded(probe=True)
        admission = await waiting
        assert admission.go and not admission.probe and breaker.state == CLOSED
        for _ in range(FAILURES):  # closed anew: its cooling period starts from the shortest again
            breaker.failed()
        assert breaker.closed_until() == clock.ms + int(COOLING_S * 1000)

    asyncio.run(run())


def test_cooling_grows_to_a_cap_and_an_abandoned_probe_lets_the_next_one_probe() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = Breaker(clock)
        for _ in range(FAILURES):
            breaker.failed()
        coolings = []
        for _ in range(10):
            clock.ms = breaker.open_until_ms
            assert (await breaker.admit()).probe
            breaker.failed(probe=True)
            coolings.append(breaker.cooling_s)
        assert coolings == [min(MAX_COOLING_S, COOLING_S * 2 ** n) for n in range(1, 11)]
        clock.ms = breaker.open_until_ms
        assert (await breaker.admit()).probe
        breaker.abandoned(probe=True)
        assert (await breaker.admit()).probe

    asyncio.run(run())


def test_a_full_lanes_spilled_jobs_come_back_a_lanes_worth_a_second() -> None:
    lane = Lane("d")
    now = 5_000
    dues = [lane.spill_due(now) for _ in range(3 * SPILL + 1)]
    assert dues[:SPILL] == [now + SPILL_DELAY_MS] * SPILL
    assert dues[SPILL:2 * SPILL] == [now + 2 * SPILL_DELAY_MS] * SPILL
    assert dues[-1] == now + 4 * SPILL_DELAY_MS
    later = now + 10 * SPILL_DELAY_MS  # the backlog is gone by then: a second again
    assert lane.spill_due(later) == later + SPILL_DELAY_MS
