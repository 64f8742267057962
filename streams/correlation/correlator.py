"""Observations into windows, windows into derived events: the correlation agent's logic.

The windows live in a table (a Faust table in the worker, any mapping in tests) under one key
per rule and group (and per window, for windows decided at close), each value recording the
table partition it belongs to and when it expires. Event time is the events' `time`; each
partition's watermark is the newest event time it has seen, kept in the table too so that a
restarted worker judges lateness as the last one did. An event older than the watermark by
more than the rule's lateness is late: counted in busbar_correlation_late_events and dropped,
not folded into a window that may already have fired or gone. Windows past their expiry are
deleted (from the table and so, by tombstones, from its changelog) as later events on their
partition pass them: memory holds only windows that can still change.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

import orjson

from streams.correlation.rulebook import RuleBook
from streams.correlation_rules import Emission, Observation, Window, derived_event
from streams.correlation_rules.definition import CorrelationRule
from streams.metrics import CORRELATION_EMITTED, CORRELATION_LATE, CORRELATION_WINDOWS

SWEEP_INTERVAL_S = 1.0
WATERMARK = "~watermark/"
# The watermark is written to the table (and so its changelog) when it has moved this far, not
# on every event: a write per event doubled the changelog traffic. After a restart it may be
# up to this much behind, which only makes lateness that much more lenient.
WATERMARK_STEP_S = 1.0

Derived = tuple[str, dict[str, Any]]  # (bus, event)


class Correlator:
    def __init__(self, rules: RuleBook, table: MutableMapping[str, Any], *, account: str, region: str) -> None:
        self._rules = rules
        self._table = table
        self._account = account
        self._region = region
        self._swept_at: dict[int, float] = {}
        self._watermarks: dict[int, float] = {}

    def observe(self, partition: int, record: dict[str, Any]) -> list[Derived]:
        """One observation from the feed; the derived events it (and the windows it passes) make."""
        rule = self._rules.get(record["b"], record["r"], record["h"])
        if rule is None:
            return []  # deleted or redefined since: its windows expire on their own
        moment = float(record["t"])
        watermark = self._watermark(partition)
        if moment < watermark - rule.lateness_s:
            CORRELATION_LATE.labels(rule.bus, rule.name).inc()
            return []
        if moment > watermark:
            self._watermarks[partition] = watermark = moment
            if moment >= self._stored_watermark(partition) + WATERMARK_STEP_S:
                self._table[WATERMARK + str(partition)] = moment
        start = Window.start_of(rule, moment)
        key = orjson.dumps([rule.bus, rule.name, record["h"], record["g"], start]).decode()
        held = self._table.get(key)
        window = Window(rule, held["s"] if held else None)
        emission = window.observe(Observation(moment, str(record["i"]), record["p"], record.get("v")))
        self._table[key] = {"p": partition, "exp": window.expires_at(), "g": record["g"], "b": rule.bus,
                            "r": rule.name, "h": record["h"], "s": window.state}
        derived = [] if emission is None else [self._derived(rule, record["g"], emission)]
        return derived + self._sweep(partition, watermark)

    def _watermark(self, partition: int) -> float:
        """The newest event time seen on the partition: in memory, or as the table has it after a restart
        or when the partition has just moved here."""
        if partition not in self._watermarks:
            self._watermarks[partition] = self._stored_watermark(partition)
        return self._watermarks[partition]

    def _stored_watermark(self, partition: int) -> float:
        return float(self._table.get(WATERMARK + str(partition)) or 0.0)

    def _sweep(self, partition: int, watermark: float) -> list[Derived]:
        """Remove this partition's expired windows (judging those decided at close), at most once a second."""
        now = time.monotonic()
        if now - self._swept_at.get(partition, 0.0) < SWEEP_INTERVAL_S:
            return []
        self._swept_at[partition] = now
        derived: list[Derived] = []
        expired: list[tuple[str, Any]] = []
        kept = 0
        for key, held in list(self._table.items()):
            if key.startswith(WATERMARK) or held["p"] != partition:
                continue
            if held["exp"] < watermark:
                expired.append((key, held))
            else:
                kept += 1
        for key, held in expired:
            del self._table[key]
            rule = self._rules.get(held["b"], held["r"], held["h"])
            if rule is not None and rule.decided_at_close:
                emission = Window(rule, held["s"]).close()
                if emission is not None:
                    derived.append(self._derived(rule, held["g"], emission))
        CORRELATION_WINDOWS.labels(str(partition)).set(kept)
        return derived

    def _derived(self, rule: CorrelationRule, group: list[Any], emission: Emission) -> Derived:
        CORRELATION_EMITTED.labels(rule.bus, rule.name).inc()
        return rule.target_bus, derived_event(rule, group, emission, account=self._account, region=self._region)
