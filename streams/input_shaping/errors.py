"""The errors of input shaping: settings PutTargets refuses, and events a template cannot shape."""

from __future__ import annotations


class InvalidInputSpec(ValueError):
    """A target's Input, InputPath or InputTransformer that EventBridge's PutTargets would refuse.

    It subclasses ValueError so that API handlers that already turn ValueError into a
    ValidationException need nothing new; the message names the offending field first
    (``InputTransformer.InputPathsMap.foo: ...``) because it is shown to the API caller as is.
    """


class ShapingFailed(ValueError):
    """An event a target's InputTemplate cannot shape into valid input.

    EventBridge sends such a target nothing for that event; the router hands the event to the
    target's dead-letter path with this message as the reason, so it is not lost silently.
    """
