"""The due times of the schedules of one owned partition, in order, with what is recorded.

Pure bookkeeping on epoch seconds (no Kafka, no clock of its own: `now` is passed in), so
catch-up and skipping are tested without a broker. The next firing of a schedule is always
computed from its recorded state (the last scheduled time fired, or the time from which it
fires), never from the clock, which is what lets a new owner resume where the last committed
transaction left off: a time is either recorded as fired, or it is still due.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.scheduler.plans import Plan
from streams.scheduler.state import State
from streams.schedules import Timing

EPSILON = 1e-6
MAX_SKIPS_COUNTED = 10_000  # past this many missed times one is jumped over without counting the rest


def next_time(timing: Timing, after: float) -> float | None:
    moment = timing.next_after(datetime.fromtimestamp(after, UTC))
    return None if moment is None else moment.timestamp()


@dataclass(frozen=True)
class Due:
    plan: Plan
    scheduled: float
    fire_at: float


class Agenda:
    def __init__(self, states: dict[str, State], catchup_s: float) -> None:
        self.states = states
        self.catchup_s = catchup_s
        self.plans: dict[str, Plan] = {}
        self.skipped = 0  # missed times older than the catch-up window, not fired
        self._heap: list[tuple[float, int, str, float]] = []  # (fire at, entry, schedule id, scheduled time)
        self._live: dict[str, int] = {}  # schedule id -> its entry in the heap; others are stale
        self._entries = itertools.count()
        self._pending: dict[str, State | None] = {}  # states to write with the next transaction
        self._completed: dict[str, Plan] = {}  # ActionAfterCompletion DELETE schedules done without a last firing

    def __len__(self) -> int:
        return len(self._live)

    def put(self, plan: Plan, now: float) -> None:
        """A schedule new to this owner, or changed: it fires from its state, or from now."""
        state = self.states.get(plan.id)
        if state is None or state.version != plan.version:
            since = plan.since if plan.since is not None else now
            state = State(state.last if state is not None else None, since, plan.version)
            self._record(plan.id, state)
        self.plans[plan.id] = plan
        self._push_or_complete(plan, state)

    def remove(self, schedule_id: str) -> None:
        """A schedule deleted or disabled: its state goes too, so enabling it again starts afresh."""
        self.plans.pop(schedule_id, None)
        self._live.pop(schedule_id, None)
        self._completed.pop(schedule_id, None)
        if self.states.pop(schedule_id, None) is not None:
            self._pending[schedule_id] = None

    def forget_orphans(self) -> None:
        """States of schedules the configuration no longer has (deleted while nobody owned them)."""
        for schedule_id in [key for key in self.states if key not in self.plans]:
            self.remove(schedule_id)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap and self._live.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def take_due(self, now: float, limit: int) -> list[Due]:
        """Up to `limit` firings due by `now`, taken off the agenda until `fired` or `retry`.
        Times missed by more than the catch-up window are skipped (and counted) on the way."""
        due: list[Due] = []
        heap = self._heap
        while heap and heap[0][0] <= now and len(due) < limit:
            fire_at, entry, schedule_id, scheduled = heapq.heappop(heap)
            if self._live.get(schedule_id) != entry:
                continue
            plan = self.plans[schedule_id]
            if now - fire_at > self.catchup_s:
                self._skip(plan, scheduled, now)
                continue
            del self._live[schedule_id]
            due.append(Due(plan, scheduled, fire_at))
        return due

    def fired_state(self, due: Due) -> State:
        """The state that records a firing (written with it)."""
        state = self.states[due.plan.id]
        return State(due.scheduled, state.since, state.version)

    def fired(self, due: Due) -> None:
        """The firing's transaction committed: its next time goes on the agenda."""
        if self.plans.get(due.plan.id) is not due.plan:
            return  # changed or removed meanwhile: `put`/`remove` already placed it
        state = self.states[due.plan.id] = self.fired_state(due)
        self._push(due.plan, state)

    def retry(self, due: Due) -> None:
        """The firing's transaction did not commit: it is still due."""
        if self.plans.get(due.plan.id) is due.plan:
            self._push_at(due.plan.id, due.fire_at, due.scheduled)

    def take_pending(self) -> dict[str, State | None]:
        pending, self._pending = self._pending, {}
        return pending

    def take_completed(self) -> dict[str, Plan]:
        """Schedules to delete (ActionAfterCompletion DELETE) that have no time left to fire and
        whose last firing did not delete them: their last times were skipped, or they never had one
        (an EndDate or an at() time already past). A last firing deletes its schedule itself."""
        completed, self._completed = self._completed, {}
        return completed

    def restore_pending(self, pending: dict[str, State | None], completed: dict[str, Plan]) -> None:
        """Pending states and deletions whose transaction failed, unless newer states or a
        changed schedule replaced them."""
        for schedule_id, state in pending.items():
            self._pending.setdefault(schedule_id, state)
        for schedule_id, plan in completed.items():
            if self.plans.get(schedule_id) is plan:
                self._completed.setdefault(schedule_id, plan)

    def _record(self, schedule_id: str, state: State) -> None:
        self.states[schedule_id] = state
        self._pending[schedule_id] = state

    def _skip(self, plan: Plan, scheduled: float, now: float) -> None:
        """Record the missed times up to the catch-up window as done, without firing them."""
        oldest_kept = now - self.catchup_s
        last = scheduled
        counted = 0
        while counted < MAX_SKIPS_COUNTED:
            counted += 1
            following = next_time(plan.timing, last)
            if following is None or following + plan.offset(following) >= oldest_kept:
                break
            last = following
        else:  # too many to count one by one: jump to the window's start
            last = max(last, oldest_kept - plan.window_s - EPSILON)
        self.skipped += counted
        state = self.states[plan.id]
        new = State(last, state.since, state.version)
        self._record(plan.id, new)
        self._push_or_complete(plan, new)

    def _push_or_complete(self, plan: Plan, state: State) -> None:
        """A changed schedule is judged afresh: an earlier version's completion must not delete it."""
        self._completed.pop(plan.id, None)
        if not self._push(plan, state) and plan.delete_after:
            self._completed[plan.id] = plan

    def _push(self, plan: Plan, state: State) -> bool:
        """Its next time on the agenda; False when it has none left."""
        after = state.since - EPSILON if state.last is None else max(state.last, state.since - EPSILON)
        scheduled = next_time(plan.timing, after)
        if scheduled is None:
            self._live.pop(plan.id, None)
            return False
        self._push_at(plan.id, scheduled + plan.offset(scheduled), scheduled)
        return True

    def _push_at(self, schedule_id: str, fire_at: float, scheduled: float) -> None:
        entry = next(self._entries)
        heapq.heappush(self._heap, (fire_at, entry, schedule_id, scheduled))
        self._live[schedule_id] = entry
