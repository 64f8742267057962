"""Errors raised by the pattern engine.

Both are ValueErrors so callers that only care about "bad input" can catch one type, while
the API layer can still tell a bad rule (InvalidEventPatternException) from a bad event.
"""

from __future__ import annotations


class InvalidEventPattern(ValueError):
    """A pattern EventBridge would refuse; the message names the JSON path and the reason.

    An empty path is for refusals of the rule as a whole (complexity.py), which AWS words
    without a location.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


class InvalidEvent(ValueError):
    """An event that is not a JSON object, so no pattern can be evaluated against it."""
