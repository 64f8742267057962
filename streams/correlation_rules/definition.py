"""A correlation rule as a user declares it, checked once, with errors that name the key at fault.

The vocabulary is Sigma's correlation specification (`type`, `group-by`, `timespan`,
`condition`), with the events selected by EventBridge patterns instead of Sigma rules:

    name: brute-force-login
    bus: security
    type: event_count                 # value_count | temporal | temporal_ordered
    pattern: {detail-type: [Login Failed]}
    group-by: [detail.sourceIPAddress]
    timespan: 5m
    condition: {gte: 5}
    lateness: 30s                     # optional: how late an event may arrive (default 30s)
    emit: {bus: alerts, detail-type: Brute Force}   # optional

`value_count` counts distinct values of `field` (Sigma writes it inside the condition; both
are read). The temporal types take `patterns` (name -> pattern) and, for `temporal_ordered`,
`order`: the names in the order they must happen, each optionally with how many events of
it must happen at that step (`{failed: 3}`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from streams.patterns import InvalidEventPattern, compile_pattern

TYPES = ("event_count", "value_count", "temporal", "temporal_ordered")
KEYS = ("name", "bus", "type", "description", "pattern", "patterns", "order", "group-by", "timespan",
        "condition", "field", "lateness", "emit")
OPERATORS = ("gte", "gt", "lte", "lt", "eq")
NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,64}")
DURATION = re.compile(r"(\d+)(s|m|h|d)")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TIMESPAN_S = 7 * 86400
DEFAULT_LATENESS = "30s"
DEFAULT_BUS = "default"
MAX_GROUP_FIELDS = 10
MAX_PATTERNS = 10


class InvalidCorrelation(ValueError):
    """A definition that cannot be used; `key` is the definition's key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Condition:
    """How many events (or distinct values) a window needs, as an inclusive range; None is open."""

    low: int | None
    high: int | None

    def holds(self, count: int) -> bool:
        return (self.low is None or count >= self.low) and (self.high is None or count <= self.high)


@dataclass(frozen=True)
class CorrelationRule:
    name: str
    bus: str
    type: str
    patterns: dict[str, Any]  # name -> EventBridge pattern; the single pattern of the count types is "pattern"
    group_by: tuple[tuple[str, ...], ...]
    timespan_s: int
    lateness_s: int
    condition: Condition | None = None  # the count types'; the temporal types need every pattern
    order: tuple[tuple[str, int], ...] = ()  # temporal_ordered: (pattern name, events needed at that step)
    field: tuple[str, ...] | None = None  # value_count: the path whose distinct values count
    emit_bus: str | None = None
    emit_detail_type: str | None = None
    record: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)  # the definition as stored and shown

    @property
    def target_bus(self) -> str:
        return self.emit_bus or self.bus

    @property
    def detail_type(self) -> str:
        return self.emit_detail_type or self.name

    @property
    def decided_at_close(self) -> bool:
        """A count with an upper bound ("at most 3") can only be judged once its window is over;
        every other rule fires as soon as its condition holds, over a window that slides."""
        return self.condition is not None and self.condition.high is not None

    @property
    def group_by_text(self) -> tuple[str, ...]:
        return tuple(".".join(path) for path in self.group_by)


def parse_rule(definition: Any, *, bus: str | None = None) -> CorrelationRule:
    """Check a definition (the mapping a user wrote) and build the rule; InvalidCorrelation otherwise.

    `bus`, when given, is the bus the caller named outside the definition; it fills a missing
    `bus` key and must agree with a present one.
    """
    if not isinstance(definition, dict):
        raise InvalidCorrelation("correlation", "a correlation rule is a mapping of its keys")
    definition = {("group-by" if key == "group_by" else str(key)): value for key, value in definition.items()}
    unknown = sorted(set(definition) - set(KEYS))
    if unknown:
        raise InvalidCorrelation(unknown[0], f"not a key of a correlation rule; the keys are {', '.join(KEYS)}")
    name = _name(definition.get("name"), "name")
    own_bus = definition.get("bus")
    if own_bus is not None and bus is not None and own_bus != bus:
        raise InvalidCorrelation("bus", f"the definition says {own_bus!r} but the request names {bus!r}")
    rule_bus = _name(own_bus if own_bus is not None else (bus or DEFAULT_BUS), "bus")
    kind = definition.get("type")
    if kind not in TYPES:
        raise InvalidCorrelation("type", f"{kind!r} is not a correlation type; use one of {', '.join(TYPES)}")
    condition_spec = definition.get("condition")
    field_spec = definition.get("field")
    if isinstance(condition_spec, dict) and "field" in condition_spec:  # Sigma's spelling for value_count
        if field_spec is not None:
            raise InvalidCorrelation("field", "give the counted field once, as field or as condition.field")
        condition_spec = {key: value for key, value in condition_spec.items() if key != "field"}
        field_spec = definition["condition"]["field"]
    patterns, order, condition, counted = _by_type(kind, definition, condition_spec, field_spec)
    emit = definition.get("emit") or {}
    if not isinstance(emit, dict) or not set(emit) <= {"bus", "detail-type"}:
        raise InvalidCorrelation("emit", "a mapping with bus and/or detail-type")
    emit_bus = None if emit.get("bus") is None else _name(emit["bus"], "emit.bus")
    emit_type = emit.get("detail-type")
    if emit_type is not None and (not isinstance(emit_type, str) or not 0 < len(emit_type) <= 128):
        raise InvalidCorrelation("emit.detail-type", "a string of 1 to 128 characters")
    description = definition.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 512):
        raise InvalidCorrelation("description", "a string of at most 512 characters")
    timespan_s = _duration(definition.get("timespan"), "timespan", required=True)
    lateness_s = _duration(definition.get("lateness", DEFAULT_LATENESS), "lateness", required=False)
    group_by = _group_by(definition.get("group-by"))
    record = {"name": name, "bus": rule_bus, **{key: definition[key] for key in KEYS
                                                if key not in ("name", "bus") and definition.get(key) is not None}}
    if counted is not None:
        record["field"] = ".".join(counted)
        record["condition"] = condition_spec
    record.setdefault("lateness", DEFAULT_LATENESS)
    return CorrelationRule(name=name, bus=rule_bus, type=kind, patterns=patterns, group_by=group_by,
                           timespan_s=timespan_s, lateness_s=lateness_s, condition=condition, order=order,
                           field=counted, emit_bus=emit_bus, emit_detail_type=emit_type, record=record)


def _by_type(kind: str, definition: dict[str, Any], condition_spec: Any, field_spec: Any) -> tuple[
        dict[str, Any], tuple[tuple[str, int], ...], Condition | None, tuple[str, ...] | None]:
    if kind in ("event_count", "value_count"):
        for key in ("patterns", "order"):
            if key in definition:
                raise InvalidCorrelation(key, f"{kind} takes one pattern (the temporal types take patterns)")
        if "pattern" not in definition:
            raise InvalidCorrelation("pattern", f"{kind} needs the pattern of the events it counts")
        _pattern(definition["pattern"], "pattern")
        condition = _condition(condition_spec)
        if kind == "event_count":
            if field_spec is not None:
                raise InvalidCorrelation("field", "only value_count counts the values of a field")
            return {"pattern": definition["pattern"]}, (), condition, None
        if field_spec is None:
            raise InvalidCorrelation("field", "value_count needs the field whose distinct values it counts")
        return {"pattern": definition["pattern"]}, (), condition, _path(field_spec, "field")
    for key in ("pattern", "field"):
        if key in definition and definition[key] is not None:
            raise InvalidCorrelation(key, f"{kind} takes patterns (a mapping of names to patterns)")
    if condition_spec is not None:
        raise InvalidCorrelation("condition", f"{kind} fires when every pattern has been seen; leave condition out")
    patterns = definition.get("patterns")
    if not isinstance(patterns, dict) or not 2 <= len(patterns) <= MAX_PATTERNS:
        raise InvalidCorrelation("patterns", f"a mapping of 2 to {MAX_PATTERNS} names to event patterns")
    for name, pattern in patterns.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise InvalidCorrelation("patterns", f"pattern name {name!r} is not a name (letters, digits, . - _)")
        _pattern(pattern, f"patterns.{name}")
    if kind == "temporal":
        if "order" in definition:
            raise InvalidCorrelation("order", "only temporal_ordered has an order")
        return dict(patterns), (), None, None
    return dict(patterns), _order(definition.get("order", list(patterns)), patterns), None, None


def _order(spec: Any, patterns: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    if not isinstance(spec, list):
        raise InvalidCorrelation("order", "a list of pattern names (each optionally {name: count})")
    steps: list[tuple[str, int]] = []
    for item in spec:
        if isinstance(item, str):
            steps.append((item, 1))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, count),) = item.items()
            if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
                raise InvalidCorrelation("order", f"{name}: the count is a whole number from 1 to 1000")
            steps.append((str(name), count))
        else:
            raise InvalidCorrelation("order", f"{item!r} is neither a pattern name nor {{name: count}}")
    names = [name for name, _ in steps]
    if sorted(names) != sorted(patterns):
        raise InvalidCorrelation("order", f"must name each pattern once: {', '.join(patterns)}")
    return tuple(steps)


def _condition(spec: Any) -> Condition:
    if not isinstance(spec, dict) or not spec:
        raise InvalidCorrelation("condition", f"a mapping of {', '.join(OPERATORS)} to counts, e.g. {{gte: 5}}")
    low: int | None = None
    high: int | None = None
    for operator, count in spec.items():
        if operator not in OPERATORS:
            raise InvalidCorrelation("condition", f"{operator!r} is not an operator; use {', '.join(OPERATORS)}")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1_000_000:
            raise InvalidCorrelation(f"condition.{operator}", "a whole number from 0 to 1000000")
        if operator in ("gte", "gt", "eq"):
            bound = count + 1 if operator == "gt" else count
            low = bound if low is None else max(low, bound)
        if operator in ("lte", "lt", "eq"):
            bound = count - 1 if operator == "lt" else count
            high = bound if high is None else min(high, bound)
    if low is not None and high is not None and low > high:
        raise InvalidCorrelation("condition", "no count satisfies it (the lower bound is above the upper)")
    if high is not None and high < 1:
        raise InvalidCorrelation("condition", "a window holds at least one event, so an upper bound below 1 "
                                 "never holds")
    return Condition(low, high)


def _pattern(pattern: Any, key: str) -> None:
    if not isinstance(pattern, dict | str):
        raise InvalidCorrelation(key, "an EventBridge event pattern (a mapping, or its JSON text)")
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as exc:
        raise InvalidCorrelation(key, f"Event pattern is not valid. Reason: {exc}") from None


def _group_by(spec: Any) -> tuple[tuple[str, ...], ...]:
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, list) or not 1 <= len(spec) <= MAX_GROUP_FIELDS:
        raise InvalidCorrelation("group-by", f"a list of 1 to {MAX_GROUP_FIELDS} field paths, "
                                 "e.g. [detail.sourceIPAddress]")
    return tuple(_path(item, "group-by") for item in spec)


def _path(spec: Any, key: str) -> tuple[str, ...]:
    if not isinstance(spec, str) or not spec or any(not part for part in spec.split(".")):
        raise InvalidCorrelation(key, f"{spec!r} is not a field path (names joined by dots, e.g. detail.userName)")
    return tuple(spec.split("."))


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise InvalidCorrelation(key, f"{value!r} is not a name: 1 to 64 letters, digits, '.', '-' or '_'")
    return value


def _duration(value: Any, key: str, *, required: bool) -> int:
    """'30s', '5m', '1h', '1d' as seconds."""
    if value is None and required:
        raise InvalidCorrelation(key, "required, e.g. 30s, 5m or 1h")
    match = DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidCorrelation(key, f"{value!r} is not a duration such as 30s, 5m or 1h")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if required and not 0 < seconds <= MAX_TIMESPAN_S:
        raise InvalidCorrelation(key, "from 1s to 7d")
    if seconds > MAX_TIMESPAN_S:
        raise InvalidCorrelation(key, "at most 7d")
    return seconds
