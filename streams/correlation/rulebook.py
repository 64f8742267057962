"""The correlation rules in force, from the configuration: one matcher per bus, and each rule by name.

The feed thread applies config changes here; the windows' agent (on the event loop) only
reads rules, and every update replaces whole objects, so a reader never sees one half made.
A rule's version (a digest of its stored record) goes with each observation, so that
redefining a rule starts its windows afresh instead of mixing counts made under two definitions.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from streams.correlation_rules import CorrelationRule, InvalidCorrelation, parse_rule
from streams.model import Change
from streams.patterns import RuleSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    rule: CorrelationRule
    version: str
    created_ms: int  # events written to the bus before this are not counted, as a rule ignores them


class RuleBook:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._matchers: dict[str, RuleSet] = {}

    def apply(self, change: Change) -> str | None:
        """Take one config change; the bus whose rules changed, or None if it was not a correlation."""
        if change.kind != "correlation":
            return None
        _, bus, name = change.key.split("/", 2)
        self._entries.pop((bus, name), None)
        if change.new is not None:
            try:
                self._entries[(bus, name)] = _entry(change.new)
            except InvalidCorrelation as exc:  # the API refuses these; a hand-written record may not be valid
                log.error("correlation %s/%s ignored: %s", bus, name, exc)
        self._rebuild(bus)
        return bus

    def _rebuild(self, bus: str) -> None:
        matcher = RuleSet()
        for (entry_bus, name), entry in self._entries.items():
            if entry_bus == bus:
                for pattern_name, pattern in entry.rule.patterns.items():
                    matcher.add((name, pattern_name), pattern)
        if len(matcher):
            self._matchers = {**self._matchers, bus: matcher}
        else:
            self._matchers = {key: value for key, value in self._matchers.items() if key != bus}

    @property
    def buses(self) -> set[str]:
        return set(self._matchers)

    def matches(self, bus: str, event: dict[str, Any]) -> list[tuple[Entry, str]]:
        """(rule, pattern name) for each of the bus's rules' patterns that the event matches."""
        matcher = self._matchers.get(bus)
        if matcher is None:
            return []
        found = []
        for name, pattern_name in matcher.matching(event):  # type: ignore[misc]  # ids are (rule, pattern)
            entry = self._entries.get((bus, name))
            if entry is not None:
                found.append((entry, pattern_name))
        return found

    def get(self, bus: str, name: str, version: str) -> CorrelationRule | None:
        """The rule, if it still stands as it did when the observation was made."""
        entry = self._entries.get((bus, name))
        return entry.rule if entry is not None and entry.version == version else None


def _entry(record: dict[str, Any]) -> Entry:
    version = hashlib.sha1(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
    definition = {key: value for key, value in record.items() if key != "created"}
    return Entry(parse_rule(definition), version, int(record.get("created", 0)))
