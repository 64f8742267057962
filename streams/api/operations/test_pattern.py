"""TestEventPattern: the same pattern check as PutRule, run against one event the caller gives."""

from __future__ import annotations

import orjson

from streams.api.errors import ValidationException
from streams.api.operations.common import Context, Params, Response, compile_event_pattern

# The fields AWS requires in the tested event. The API reference also lists `resources`, but
# AWS accepts events without it (and without `detail`), so busbar does too.
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


async def test_event_pattern(ctx: Context, params: Params) -> Response:
    pattern = compile_event_pattern(params["EventPattern"])
    try:
        event = orjson.loads(params["Event"])
    except orjson.JSONDecodeError as exc:
        raise ValidationException(f"Parameter Event is not valid. Reason: not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValidationException("Parameter Event is not valid. Reason: the event must be a JSON object.")
    missing = [name for name in REQUIRED_EVENT_FIELDS if name not in event]
    if missing:
        raise ValidationException(
            f"Parameter Event is not valid. Reason: missing mandatory field(s) {', '.join(missing)}."
        )
    return {"Result": bool(pattern.matches(event))}


test_event_pattern.__test__ = False  # type: ignore[attr-defined]  # an operation, not a pytest test
