"""What a correlation rule reads from an event: its group key, its counted value and its time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .definition import CorrelationRule

_MISSING = object()


def lookup(event: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path, or _MISSING; only scalars count (an object or a list is not a key)."""
    value: Any = event
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value if isinstance(value, str | int | float | bool) else _MISSING


def group_key(rule: CorrelationRule, event: dict[str, Any]) -> list[Any] | None:
    """The group-by values, or None when the event lacks one: an event that cannot be grouped is
    not counted, rather than pooled with every other such event under an empty key."""
    values = [lookup(event, path) for path in rule.group_by]
    return None if any(value is _MISSING for value in values) else values


def counted_value(rule: CorrelationRule, event: dict[str, Any]) -> Any:
    """value_count's field value; None when the rule counts events or the event lacks it."""
    if rule.field is None:
        return None
    value = lookup(event, rule.field)
    return None if value is _MISSING else value


def event_time(event: dict[str, Any], fallback: float) -> float:
    """The event's `time` as epoch seconds; `fallback` (when it was written) if it has none."""
    text = event.get("time")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("z", "Z")).timestamp()
        except ValueError:
            pass
    return fallback
