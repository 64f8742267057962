"""The rules of every bus, compiled for matching and kept current from config changes.

Each bus has one RuleSet (the pattern engine's incremental matcher) holding only its enabled
rules, keyed by rule name, plus the rules' compiled targets. A change is applied in place:
the changed rule is removed and re-added, nothing else is touched, so a worker with
thousands of rules takes a change in microseconds and never rebuilds its matcher. The bus's
native matcher (router/native.py), which does the everyday matching, is rebuilt from that
RuleSet by `refresh` once the changes waiting are applied. Only the router thread calls
`apply` and `refresh`, between batches, so matching never sees a half-applied change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from streams.metrics import RULE_MATCHES, TARGET_DELIVERIES, TARGET_FAILURES, TARGET_RETRIES
from streams.model import Change
from streams.patterns import InvalidEventPattern, RuleSet
from streams.router.native import EnvelopeMatcher, build_matcher
from streams.router.targets import Target

log = logging.getLogger(__name__)

# (bus, rule name, rule ARN, target spec) -> compiled target
CompileTarget = Callable[[str, str, str, dict[str, Any]], Target]


@dataclass(eq=False)
class Rule:
    """An enabled rule as the router needs it; identity-hashed so batches can count matches by rule."""

    bus: str
    name: str
    targets: tuple[Target, ...]

    def __post_init__(self) -> None:
        self.labels = (self.bus, self.name)  # of its metrics series, exported from the start
        RULE_MATCHES.add(self.labels, 0)
        self.reads_event = any(target.reads_event for target in self.targets)


@dataclass
class BusRules:
    # Keyed by the Rule objects themselves: matching hands the router the rules, not names to look up.
    ruleset: RuleSet = field(default_factory=RuleSet)
    rules: dict[str, Rule] = field(default_factory=dict)
    # The same rules for the native fast path; None from a change until refresh() (records take
    # the Python path meanwhile, so a change is in force at once either way).
    native: EnvelopeMatcher | None = None
    # Rules with a target that needs the decoded event (input shaping, API destinations).
    reading: set[Rule] = field(default_factory=set)


class RulesIndex:
    def __init__(self, compile_target: CompileTarget, rule_arn: Callable[[str, str], str]) -> None:
        self._compile_target = compile_target
        self._rule_arn = rule_arn
        self.buses: dict[str, BusRules] = {}
        self._stale: set[str] = set()

    def __len__(self) -> int:
        return sum(len(bus.rules) for bus in self.buses.values())

    def apply(self, change: Change) -> None:
        """Install one config change; anything but a rule (buses, schedules, ...) is not the router's."""
        if change.kind != "rule":
            return
        _, bus, name = change.key.split("/", 2)
        self._remove(bus, name, deleted=change.new is None)
        if change.new is not None:
            self._add(bus, name, change.new)
        rules = self.buses.get(bus)
        if rules is not None:
            rules.native = None
            self._stale.add(bus)

    def refresh(self) -> None:
        """Rebuild the native matchers of the buses changed since the last call (once per batch
        of changes: a rebuild costs milliseconds, a change in place microseconds)."""
        for bus in self._stale:
            rules = self.buses.get(bus)
            if rules is None:
                continue
            try:
                rules.native = build_matcher(rules.ruleset.items())
            except Exception:  # the Python path still routes this bus, only slower
                log.exception("bus %s: native matcher not built; routing with the Python matcher", bus)
        self._stale.clear()

    def _remove(self, bus: str, name: str, *, deleted: bool) -> None:
        rules = self.buses.get(bus)
        if rules is None or name not in rules.rules:
            return
        rule = rules.rules.pop(name)
        rules.ruleset.remove(rule)
        rules.reading.discard(rule)
        if deleted:  # a deleted rule's series would otherwise be exported for the worker's life
            RULE_MATCHES.remove(*rule.labels)
            for target in rule.targets:
                TARGET_DELIVERIES.remove(*target.labels)
                TARGET_FAILURES.remove(*target.labels)
                with suppress(KeyError):  # retries exist only for targets that ever failed
                    TARGET_RETRIES.remove(*target.labels)

    def _add(self, bus: str, name: str, record: dict[str, Any]) -> None:
        """Disabled rules, and rules without a pattern (schedules), route nothing: they are not added."""
        pattern = record.get("EventPattern")
        if record.get("State", "ENABLED") != "ENABLED" or not pattern:
            return
        arn = self._rule_arn(bus, name)
        targets = tuple(self._compile_target(bus, name, arn, spec) for spec in record.get("Targets") or [])
        rules = self.buses.setdefault(bus, BusRules())
        rule = Rule(bus, name, targets)
        try:
            rules.ruleset.add(rule, pattern)
        except InvalidEventPattern as exc:  # the API validates patterns, so only a hand-written record gets here
            log.error("rule %s/%s skipped: invalid event pattern: %s", bus, name, exc)
            return
        rules.rules[name] = rule
        if rule.reads_event:
            rules.reading.add(rule)
