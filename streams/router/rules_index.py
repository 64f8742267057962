"""The rules of every bus, compiled for matching and kept current from config changes.

Each bus has one RuleSet (the pattern engine's incremental matcher) holding only its enabled
rules, keyed by rule name, plus the rules' compiled targets. A change is applied in place:
the changed rule is compiled first (its pattern and its targets) and swapped in second, so a
change that cannot be compiled leaves the rule as it was, and a worker with thousands of
rules takes a change in microseconds. The bus's native matcher (router/native.py), which does
the everyday matching, is rebuilt from that RuleSet off the routing thread (`refresh` starts
the rebuild, a later `refresh` swaps it in); meanwhile the bus takes the Python path, so a
change is in force at once and a heavy bus never stalls the others. An archive is compiled
as one more rule of its bus, whose one target is its archive topic (router/archives.py). Only the router thread
calls `apply` and `refresh`, between batches, so matching never sees a half-applied change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from streams.metrics import RULE_MATCHES, TARGET_DELIVERIES, TARGET_FAILURES, TARGET_RETRIES
from streams.model import Change
from streams.patterns import EventPattern, RuleSet, compile_pattern
from streams.router.archives import ARCHIVE_RULE_PREFIX, archive_pattern
from streams.router.native import EnvelopeMatcher, build_matcher
from streams.router.targets import Target

log = logging.getLogger(__name__)

# (bus, rule name, rule ARN, target spec) -> compiled target
CompileTarget = Callable[[str, str, str, dict[str, Any]], Target]
# (bus, archive name) -> the archive's target
ArchiveTarget = Callable[[str, str], Target]


@dataclass(eq=False)
class Rule:
    """An enabled rule as the router needs it; identity-hashed so batches can count matches by rule."""

    bus: str
    name: str
    targets: tuple[Target, ...]
    archive: bool = False  # an archive's rule, which replayed events never reach

    def __post_init__(self) -> None:
        self.labels = (self.bus, self.name)  # of its metrics series, exported from the start
        RULE_MATCHES.add(self.labels, 0)
        self.reads_event = any(target.reads_event for target in self.targets)


@dataclass
class BusRules:
    # Keyed by the Rule objects themselves: matching hands the router the rules, not names to look up.
    ruleset: RuleSet = field(default_factory=RuleSet)
    rules: dict[str, Rule] = field(default_factory=dict)
    # The same rules for the native fast path; None from a change until its rebuild is swapped in
    # by refresh() (records take the Python path meanwhile, so a change is in force at once).
    native: EnvelopeMatcher | None = None
    # Rules with a target that needs the decoded event (input shaping, API destinations).
    reading: set[Rule] = field(default_factory=set)
    # Enabled rules with a ScheduleExpression, by name: the targets of their scheduled events.
    scheduled: dict[str, Rule] = field(default_factory=dict)


class RulesIndex:
    def __init__(self, compile_target: CompileTarget, rule_arn: Callable[[str, str], str],
                 archive_target: ArchiveTarget) -> None:
        self._compile_target = compile_target
        self._archive_target = archive_target
        self._rule_arn = rule_arn
        self.buses: dict[str, BusRules] = {}
        self._stale: set[str] = set()
        self._builds: dict[str, tuple[int, Future[EnvelopeMatcher]]] = {}  # bus -> (generation, build)
        self._generation: dict[str, int] = {}  # per bus, bumped by every change
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="busbar-matcher-build")

    def __len__(self) -> int:
        return sum(len(bus.rules) for bus in self.buses.values())

    def apply(self, change: Change) -> None:
        """Install one config change; anything but a rule or an archive (buses, schedules, ...) is
        not the router's. Raises whatever compiling the new version raised, with the old version
        still in force."""
        compile: Callable[[str, str, dict[str, Any]], tuple[Rule, EventPattern] | None]
        if change.kind == "rule":
            _, bus, name = change.key.split("/", 2)
            compile = self._compile
        elif change.kind == "archive":
            bus = (change.new or change.old or {})["EventBusName"]
            name, compile = ARCHIVE_RULE_PREFIX + change.key.split("/", 1)[1], self._compile_archive
        else:
            return
        rules = self.buses.setdefault(bus, BusRules())
        # Whatever happens below, the native matcher is rebuilt from what the RuleSet then holds,
        # so the two matchers never disagree.
        rules.native = None
        self._stale.add(bus)
        self._generation[bus] = self._generation.get(bus, 0) + 1
        compiled = compile(bus, name, change.new) if change.new is not None else None
        old = rules.rules.pop(name, None)
        if old is not None:
            rules.ruleset.remove(old)
            rules.reading.discard(old)
        old = rules.scheduled.pop(name, None) or old
        if old is not None:
            _forget_series(old, compiled[0] if compiled is not None else None)
        if compiled is None:
            return
        rule, pattern = compiled
        if change.new.get("ScheduleExpression"):  # type: ignore[union-attr]  # compiled: there is a record
            rules.scheduled[name] = rule
        if pattern is not None:
            rules.ruleset.add(rule, pattern)  # already compiled: cannot fail
            rules.rules[name] = rule
            if rule.reads_event:
                rules.reading.add(rule)

    def _compile(self, bus: str, name: str, record: dict[str, Any]) -> tuple[Rule, EventPattern | None] | None:
        """The rule as the router runs it, with its pattern if it has one; None for a rule that
        routes nothing (disabled, or neither pattern nor schedule). InvalidEventPattern for a
        pattern the API would refuse."""
        pattern = record.get("EventPattern")
        if record.get("State", "ENABLED") != "ENABLED" or not (pattern or record.get("ScheduleExpression")):
            return None
        compiled = compile_pattern(pattern) if pattern else None
        arn = self._rule_arn(bus, name)
        targets = tuple(self._compile_target(bus, name, arn, spec) for spec in record.get("Targets") or [])
        return Rule(bus, name, targets), compiled

    def _compile_archive(self, bus: str, name: str, record: dict[str, Any]) -> tuple[Rule, EventPattern]:
        compiled = compile_pattern(archive_pattern(record))
        return Rule(bus, name, (self._archive_target(bus, record["ArchiveName"]),), archive=True), compiled

    def refresh(self) -> None:
        """Swap in native matchers built since the last call, and start rebuilding those of the
        buses changed since (one build per burst of changes: a build costs milliseconds to
        seconds, a change in place microseconds)."""
        for bus, (generation, build) in list(self._builds.items()):
            if not build.done():
                continue
            del self._builds[bus]
            rules = self.buses.get(bus)
            if rules is None or generation != self._generation.get(bus):
                continue  # changed again since: a newer build is on its way
            try:
                rules.native = build.result()
            except Exception:  # the Python path still routes this bus, only slower
                log.exception("bus %s: native matcher not built; routing with the Python matcher", bus)
        for bus in self._stale:
            rules = self.buses.get(bus)
            if rules is not None and rules.rules:
                self._builds[bus] = (self._generation[bus],
                                     self._builder.submit(build_matcher, list(rules.ruleset.items())))
        self._stale.clear()

    def wait_built(self, timeout: float) -> None:
        """Build the native matchers of every changed bus and swap them in, waiting up to
        timeout (at start, so the first events take the fast path)."""
        self.refresh()
        for _, build in list(self._builds.values()):
            with suppress(Exception):
                build.exception(timeout)
        self.refresh()

    def close(self) -> None:
        self._builder.shutdown(wait=False, cancel_futures=True)


def _forget_series(old: Rule, new: Rule | None) -> None:
    """Stop exporting the series of a rule's targets that no longer exist (they would otherwise
    be exported for the worker's life)."""
    kept = {target.labels for target in new.targets} if new is not None else set()
    if new is None:
        RULE_MATCHES.remove(*old.labels)
    for target in old.targets:
        if target.labels in kept:
            continue
        TARGET_DELIVERIES.remove(*target.labels)
        TARGET_FAILURES.remove(*target.labels)
        with suppress(KeyError):  # retries exist only for targets that ever failed
            TARGET_RETRIES.remove(*target.labels)
