"""One correlation rule's window for one group: what it remembers, when it fires, when it can go.

The state is a plain JSON-able dict, because it lives in a Faust table whose changelog is
JSON and is restored from it after a restart; a Window wraps it for one update. Two kinds:

- Sliding (every rule whose condition has no upper bound, and the temporal types): the
  events of the last `timespan` before the newest one. The rule fires as soon as its
  condition holds, then forgets those events, so a burst fires once, not once per event
  past the threshold. A window that slides catches a burst wherever it falls in time.
- Decided at close (conditions with an upper bound, "at most N"): a tumbling window aligned
  to the epoch, counted until its end plus the allowed lateness has passed, then judged.

Observations carry the event id, and a window ignores an id it has already counted or fired
on, so events read again after a crash (at least once) never count twice.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from .definition import CorrelationRule

SAMPLE_IDS = 10  # contributing event ids a derived event carries
MAX_PER_PATTERN = 100  # events kept per pattern of a temporal rule
MAX_DEDUPE_IDS = 10_000  # ids a window decided at close remembers to ignore repeats


@dataclass(frozen=True)
class Observation:
    time: float  # the event's `time`, epoch seconds
    id: str
    pattern: str  # which of the rule's patterns matched ("pattern" for the count types)
    value: Any = None  # value_count: the counted field's value


@dataclass(frozen=True)
class Emission:
    count: int  # events, or distinct values for value_count, or patterns seen for the temporal types
    start: float
    end: float
    event_ids: list[str]


class Window:
    def __init__(self, rule: CorrelationRule, state: dict[str, Any] | None = None) -> None:
        self.rule = rule
        self.state: dict[str, Any] = state if state is not None else {}

    @staticmethod
    def start_of(rule: CorrelationRule, time: float) -> float | None:
        """The tumbling window an event falls in (None for sliding windows, which are one per group)."""
        return (time // rule.timespan_s) * rule.timespan_s if rule.decided_at_close else None

    def expires_at(self) -> float:
        """Once the newest event time seen exceeds this, no event can still belong here."""
        rule = self.rule
        if rule.decided_at_close:
            return self.state["w"] + rule.timespan_s + rule.lateness_s
        return self.state.get("n", 0.0) + rule.timespan_s + rule.lateness_s

    def observe(self, obs: Observation) -> Emission | None:
        """Count one event; the emission if the condition now first holds."""
        if self.rule.decided_at_close:
            self._count(obs)
            return None
        if obs.id in self.state.get("x", ()):
            return None  # counted in the last emission already
        self.state["n"] = max(self.state.get("n", obs.time), obs.time)
        horizon = self.state["n"] - self.rule.timespan_s
        if self.rule.type == "event_count":
            emission = self._slide_count(obs, horizon)
        elif self.rule.type == "value_count":
            emission = self._slide_values(obs, horizon)
        else:
            emission = self._slide_temporal(obs, horizon)
        if emission is not None:  # start afresh: the next emission needs events of its own
            self.state = {"n": self.state["n"], "x": self._contributors()}
        return emission

    def close(self) -> Emission | None:
        """Judge a window decided at close once it is over; sliding windows just go."""
        if not self.rule.decided_at_close or self.rule.condition is None:
            return None
        count = len(self.state.get("v", ())) if self.rule.type == "value_count" else self.state.get("c", 0)
        if not self.rule.condition.holds(count):
            return None
        start = self.state["w"]
        return Emission(count, start, start + self.rule.timespan_s, self.state.get("ids", [])[:SAMPLE_IDS])

    # --- decided at close ------------------------------------------------------------------
    def _count(self, obs: Observation) -> None:
        state = self.state
        state.setdefault("w", self.start_of(self.rule, obs.time))
        ids: list[str] = state.setdefault("ids", [])
        if obs.id in ids:
            return
        if len(ids) < MAX_DEDUPE_IDS:
            ids.append(obs.id)
        state["c"] = state.get("c", 0) + 1
        if self.rule.type == "value_count":
            values: list[Any] = state.setdefault("v", [])
            high = self.rule.condition.high if self.rule.condition else None
            # Past the upper bound the condition cannot hold again, so more values need not be kept.
            if obs.value not in values and (high is None or len(values) <= high):
                values.append(obs.value)

    # --- sliding -----------------------------------------------------------------------------
    def _needed(self) -> int:
        condition = self.rule.condition
        return max(1, condition.low or 1) if condition else 1

    def _slide_count(self, obs: Observation, horizon: float) -> Emission | None:
        entries: list[list[Any]] = self.state.setdefault("e", [])
        if any(entry[1] == obs.id for entry in entries):
            return None
        bisect.insort(entries, [obs.time, obs.id])
        needed = self._needed()
        # Only the newest `needed` events can make the condition hold; older ones need not be kept.
        del entries[:max(_first_at_or_after(entries, horizon), len(entries) - needed)]
        if len(entries) < needed:
            return None
        return self._emission(len(entries), entries)

    def _slide_values(self, obs: Observation, horizon: float) -> Emission | None:
        values: dict[str, list[Any]] = self.state.setdefault("v", {})
        key = _value_key(obs.value)
        if key in values and values[key][0] >= obs.time:
            return None
        values[key] = [obs.time, obs.id]
        for stale in [key for key, (time, _) in values.items() if time < horizon]:
            del values[stale]
        needed = self._needed()
        if len(values) > needed:  # keep the newest `needed` distinct values
            for stale in sorted(values, key=lambda k: values[k][0])[: len(values) - needed]:
                del values[stale]
        if len(values) < needed:
            return None
        return self._emission(len(values), sorted(values.values()))

    def _slide_temporal(self, obs: Observation, horizon: float) -> Emission | None:
        seen: dict[str, list[list[Any]]] = self.state.setdefault("s", {})
        entries = seen.setdefault(obs.pattern, [])
        if any(entry[1] == obs.id for entry in entries):
            return None
        bisect.insort(entries, [obs.time, obs.id])
        for name in list(seen):
            kept = seen[name][_first_at_or_after(seen[name], horizon):][-MAX_PER_PATTERN:]
            if kept:
                seen[name] = kept
            else:
                del seen[name]
        if self.rule.type == "temporal":
            if len(seen) < len(self.rule.patterns):
                return None
            return self._emission(len(seen), sorted(entry for entries in seen.values() for entry in entries))
        used = _in_order(seen, self.rule.order)
        return None if used is None else self._emission(len(self.rule.order), used)

    def _emission(self, count: int, entries: list[list[Any]]) -> Emission:
        return Emission(count, entries[0][0], entries[-1][0], [entry[1] for entry in entries[:SAMPLE_IDS]])

    def _contributors(self) -> list[str]:
        state = self.state
        if "e" in state:
            return [entry[1] for entry in state["e"]]
        if "v" in state:
            return [entry[1] for entry in state["v"].values()]
        return [entry[1] for entries in state.get("s", {}).values() for entry in entries]


def _first_at_or_after(entries: list[list[Any]], horizon: float) -> int:
    return bisect.bisect_left(entries, [horizon])


def _in_order(seen: dict[str, list[list[Any]]], order: tuple[tuple[str, int], ...]) -> list[list[Any]] | None:
    """The events that satisfy the order (each step's events at or after the previous step's
    last), taking at each step the earliest that qualify; None if the order is not met yet."""
    used: list[list[Any]] = []
    after = float("-inf")
    for name, needed in order:
        candidates = seen.get(name, [])[_first_at_or_after(seen.get(name, []), after):]
        if len(candidates) < needed:
            return None
        step = candidates[:needed]
        used.extend(step)
        after = step[-1][0]
    return used


def _value_key(value: Any) -> str:
    """Counted values as text, so that 22 and "22" from differently typed producers count once."""
    return value if isinstance(value, str) else repr(value)
