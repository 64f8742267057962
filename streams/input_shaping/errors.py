"""The one error a target's input settings can raise."""

from __future__ import annotations


class InvalidInputSpec(ValueError):
    """A target's Input, InputPath or InputTransformer that EventBridge's PutTargets would refuse.

    It subclasses ValueError so that API handlers that already turn ValueError into a
    ValidationException need nothing new; the message names the offending field first
    (``InputTransformer.InputPathsMap.foo: ...``) because it is shown to the API caller as is.
    """
