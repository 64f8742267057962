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


def opened(clock: Clock) -> Breaker:
    """A breaker just opened by FAILURES retriable failures in a row."""
    breaker = Breaker(clock)
    for _ in range(FAILURES):
        breaker.failed()
    return breaker


def test_opens_after_failures_in_a_row_and_a_success_resets_the_count() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = Breaker(clock)
        for _ in range(FAILURES - 1):
            breaker.failed()
        breaker.succeeded()
        for _ in range(FAILURES - 1):
            breaker.failed()
        assert breaker.state == CLOSED and breaker.hold_until() is None
        assert (await breaker.admit()).go
        breaker.failed()
        assert breaker.state == OPEN and breaker.opened == 1
        until = clock.ms + int(COOLING_S * 1000)
        assert breaker.hold_until() == until  # the first held: the probe
        later = until + int(2 * COOLING_S * 1000)  # the others: when it would cool again
        admission = await breaker.admit()
        assert (admission.go, admission.until_ms) == (False, later)
        breaker.failed()  # an attempt that was in flight when it opened: no longer
        assert breaker.hold_until() == later

    asyncio.run(run())


def test_one_probe_when_cooled_the_others_wait_for_its_outcome() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = opened(clock)
        clock.ms += int(COOLING_S * 1000)
        assert breaker.hold_until() is None  # cooled: attempts go to the lane, one probes
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
        assert breaker.hold_until() == clock.ms + int(COOLING_S * 1000)

    asyncio.run(run())


def test_held_jobs_come_back_one_to_probe_the_others_a_cooling_period_later_within_their_age() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = opened(clock)
        first_end = breaker.open_until_ms
        second_end = first_end + int(2 * COOLING_S * 1000)  # should the probe fail
        assert [breaker.hold_until() for _ in range(3)] == [first_end, second_end, second_end]
        assert breaker.hold_until(deadline_ms=second_end - 1) == first_end  # not past its event's age

        clock.ms = first_end
        probe = await breaker.admit()
        assert probe.probe
        # as if the probe fails: the period it would open, then the next
        reopened = clock.ms + int(2 * COOLING_S * 1000)
        assert breaker.hold_until() == reopened + int(4 * COOLING_S * 1000)
        assert breaker.hold_until(deadline_ms=reopened) == reopened
        assert breaker.hold_until(deadline_ms=clock.ms + 1) is None  # too old by then: waits for it
        breaker.failed(probe=True)
        third_end = breaker.open_until_ms + int(4 * COOLING_S * 1000)
        assert [breaker.hold_until() for _ in range(2)] == [breaker.open_until_ms, third_end]

    asyncio.run(run())


def test_cooling_grows_to_a_cap_and_an_abandoned_probe_lets_the_next_one_probe() -> None:
    async def run() -> None:
        clock = Clock()
        breaker = opened(clock)
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


def test_a_rate_limited_lanes_spilled_jobs_come_back_at_its_rate() -> None:
    lane = Lane("d")
    lane.limit(10.4)  # this worker's share of the destination's limit
    now = 5_000
    dues = [lane.spill_due(now) for _ in range(21)]
    assert dues[:10] == [now + SPILL_DELAY_MS] * 10
    assert dues[10:20] == [now + 2 * SPILL_DELAY_MS] * 10
    assert dues[20] == now + 3 * SPILL_DELAY_MS
    lane.limit(0.2)  # less than one a second: one a second
    assert lane.spill_due(now) == now + 4 * SPILL_DELAY_MS
