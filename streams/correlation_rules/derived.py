"""The event a correlation rule emits when it fires, as ordinary rules on its bus will see it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from .definition import CorrelationRule
from .windows import Emission

SOURCE = "busbar.correlation"
_IDS = uuid.UUID("6f1c3a52-5d0e-4a8b-9b1e-2f0c6e7d8a90")


def derived_event(rule: CorrelationRule, group: list[Any], emission: Emission, *, account: str,
                  region: str) -> dict[str, Any]:
    """The envelope; its id is derived from the rule, the group and the first contributing event,
    so a firing repeated after a crash (delivery is at least once) carries the same id and
    consumers can drop the repeat."""
    identity = orjson.dumps([rule.bus, rule.name, group, emission.event_ids[:1], emission.start])
    count_key = "distinctCount" if rule.type == "value_count" else "count"
    detail: dict[str, Any] = {
        "rule": rule.name,
        "bus": rule.bus,
        "type": rule.type,
        "groupBy": dict(zip(rule.group_by_text, group, strict=True)),
        count_key: emission.count,
        "window": {"start": _time(emission.start), "end": _time(emission.end), "timespanSeconds": rule.timespan_s},
        "eventIds": emission.event_ids,
    }
    if rule.field is not None:
        detail["field"] = ".".join(rule.field)
    return {
        "version": "0",
        "id": str(uuid.uuid5(_IDS, identity.decode())),
        "detail-type": rule.detail_type,
        "source": SOURCE,
        "account": account,
        "time": _time(emission.end),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
