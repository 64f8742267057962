"""EventBridge event patterns: validation, single-pattern matching and indexed rule sets.

Pure Python and free of Kafka, so the router, the API and the CLI share one engine.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidEvent, InvalidEventPattern
from .limits import MAX_PATTERN_LENGTH
from .pattern import EventPattern, compile_pattern
from .ruleset import RuleSet

__all__ = [
    "MAX_PATTERN_LENGTH",
    "EventPattern",
    "InvalidEvent",
    "InvalidEventPattern",
    "RuleSet",
    "compile_pattern",
    "test_pattern",
]


def test_pattern(pattern: str | dict[str, Any], event: str | dict[str, Any] | bytes) -> bool:
    """What `busbar test-pattern` (EventBridge's TestEventPattern) answers.

    Raises InvalidEventPattern for a bad pattern and InvalidEvent for an event that is not
    a JSON object.
    """
    return compile_pattern(pattern).matches(event)


test_pattern.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
