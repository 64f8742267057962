"""The EventBridge event envelope: validation, construction, and its JSON encoding.

Every path that puts an event on a bus (PutEvents, schedules, webhooks, replay, raw Kafka
producers read by the router) agrees on one definition of a valid envelope here, so an event
refused at one door is refused at all of them, and the bus DLQ gets the same reason whichever
door it came through. `InvalidEnvelope.field` names the culprit so that PutEvents can report
per-entry failures and the router can put the reason in the DLQ header.
"""

from __future__ import annotations

import calendar
import re
import time as clock
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from streams.event_ids import new_id

MAX_EVENT_BYTES = 256 * 1024

Event = dict[str, Any]

# EventBridge's envelope has a fixed set of fields; anything else is a producer's mistake that
# would otherwise be carried silently to every target.
FIELDS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
    "replay-name",
)
_FIELD_SET = frozenset(FIELDS)
_OPTIONAL_STRINGS = ("version", "id", "account", "region", "replay-name")

_RFC3339 = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]"
    r"(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)


class InvalidEnvelope(ValueError):
    """An event that is not a valid envelope; `field` is the envelope field at fault, or None
    when the fault is the event as a whole (not JSON, not an object, too large)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def _show(value: Any) -> str:
    """A short repr for messages: the offending value may be a 256 KB string."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_name(value: Any) -> str:
    """JSON's name for a decoded value's type, since producers think in JSON, not Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _plainly_valid(event: Any) -> bool:
    """True only for a valid envelope, decided with a few lookups for the common case (known
    fields of the right types, a `time` seen valid before). False means "check it fully": the
    router decodes every event on a bus (decode_json), and this halves what validating one costs there."""
    if event.__class__ is not dict or not _FIELD_SET.issuperset(event):
        return False
    get = event.get
    source, detail_type, time = get("source"), get("detail-type"), get("time", _NO_TIME)
    if (source.__class__ is not str or not source or detail_type.__class__ is not str or not detail_type
            or get("detail").__class__ is not dict
            or (time is not _NO_TIME and (time.__class__ is not str or time not in _VALID_TIMES))):
        return False
    if not (get("id", "").__class__ is str and get("account", "").__class__ is str
            and get("region", "").__class__ is str and get("version", "").__class__ is str
            and get("replay-name", "").__class__ is str):  # _OPTIONAL_STRINGS, unrolled
        return False
    resources = get("resources", ())
    if resources.__class__ is not list and resources != ():
        return False
    return not resources or all(item.__class__ is str for item in resources)


def _check_fields(event: Any) -> None:
    """Everything but the size, which callers measure on bytes they already have, so the hot
    path (decode_json) never re-encodes an event just to measure it."""
    if not isinstance(event, dict):
        raise InvalidEnvelope(None, f"an event must be a JSON object, got {_type_name(event)}")
    if not _FIELD_SET.issuperset(event):
        unknown = sorted(str(key) for key in event if key not in _FIELD_SET)
        raise InvalidEnvelope(
            unknown[0],
            f"unknown envelope field(s) {', '.join(map(repr, unknown))}; "
            f"an envelope has only {', '.join(FIELDS)} (put event data in detail)",
        )
    for name in ("source", "detail-type"):
        if name not in event:
            raise InvalidEnvelope(name, "required field is missing")
        value = event[name]
        if not isinstance(value, str):
            raise InvalidEnvelope(name, f"must be a string, got {_type_name(value)}")
        if not value:
            raise InvalidEnvelope(name, "must not be empty")
    if "detail" not in event:
        raise InvalidEnvelope("detail", "required field is missing")
    if not isinstance(event["detail"], dict):
        raise InvalidEnvelope("detail", f"must be a JSON object, got {_type_name(event['detail'])}")
    for name in _OPTIONAL_STRINGS:
        if name in event and not isinstance(event[name], str):
            raise InvalidEnvelope(name, f"must be a string, got {_type_name(event[name])}")
    if "time" in event:
        _check_time(event["time"])
    if "resources" in event:
        resources = event["resources"]
        if not isinstance(resources, list):
            raise InvalidEnvelope("resources", f"must be an array of strings, got {_type_name(resources)}")
        for index, item in enumerate(resources):
            if not isinstance(item, str):
                raise InvalidEnvelope("resources", f"item {index} must be a string, got {_type_name(item)}")


# Times already found valid: a bus's events mostly share a handful of seconds, so on the
# router's hot path the pattern runs about once per distinct second. Cleared when full.
_VALID_TIMES: set[str] = set()
_VALID_TIMES_MAX = 4096
_NO_TIME = object()


def _check_time(value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidEnvelope("time", f"must be an RFC 3339 timestamp string, got {_type_name(value)}")
    if value in _VALID_TIMES:
        return
    match = _RFC3339.fullmatch(value)
    # The pattern bounds each part; only days past the 28th (Feb 30) need the calendar.
    if match is not None and (match[3] <= "28" or _date_exists(match[1], match[2], match[3])):
        if len(_VALID_TIMES) >= _VALID_TIMES_MAX:
            _VALID_TIMES.clear()
        _VALID_TIMES.add(value)
        return
    raise InvalidEnvelope("time", f"{_show(value)} is not an RFC 3339 timestamp (like 2026-11-27T05:43:56Z)")


def _date_exists(year: str, month: str, day: str) -> bool:
    return int(day) <= calendar.monthrange(int(year), int(month))[1]


def _check_size(size: int) -> None:
    if size > MAX_EVENT_BYTES:
        raise InvalidEnvelope(None, f"event is {size} bytes as JSON, over the {MAX_EVENT_BYTES}-byte limit")


def _dumps(event: Event) -> bytes:
    """JSON for an event whose fields have been checked, so only detail can fail to encode."""
    try:
        return orjson.dumps(event)
    except orjson.JSONEncodeError as exc:
        raise InvalidEnvelope("detail", f"cannot be encoded as JSON: {exc}") from exc


def validate(event: Event) -> None:
    """Raise InvalidEnvelope unless `event` is a valid EventBridge envelope."""
    _check_fields(event)
    _check_size(len(_dumps(event)))


def format_time(moment: datetime) -> str:
    """EventBridge's `time` format: UTC, whole seconds, 'Z' (rules and archives compare on it)."""
    if moment.tzinfo is None:
        raise InvalidEnvelope("time", "datetime has no timezone; pass an aware datetime (e.g. UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_event(**fields: Any) -> Event:
    """A complete envelope with EventBridge's defaults filled in, as PutEvents creates it (the
    fields are `new_event_record`'s). Validated here so a bad entry fails its own PutEvents
    entry instead of reaching the bus."""
    return new_event_record(**fields)[0]


def new_event_record(
    *,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
    time: datetime | str | None = None,
    account: str,
    region: str,
    event_id: str | None = None,
) -> tuple[Event, bytes]:
    """`new_event` and its JSON, checked and encoded once (PutEvents' path: the checks encode
    the event anyway to measure it, so the bytes written are those)."""
    event: Event = {
        "version": "0",
        "id": event_id if event_id is not None else new_id(),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _now_text(int(clock.time())) if time is None else format_time(time) if isinstance(time, datetime)
        else time,
        "region": region,
        "resources": list(resources) if resources is not None else [],
        "detail": detail,
    }
    if not _plainly_valid(event):  # the few lookups that settle the common case first
        _check_fields(event)
    data = _dumps(event)
    _check_size(len(data))
    return event, data


@lru_cache(maxsize=4)
def _now_text(seconds: int) -> str:
    """The current second in EventBridge's format; a burst of events shares one formatting."""
    return format_time(datetime.fromtimestamp(seconds, UTC))


def encode_json(event: Event) -> bytes:
    """The event as the JSON a bus topic carries; validated so nothing invalid is written."""
    _check_fields(event)
    data = _dumps(event)
    _check_size(len(data))
    return data


def decode_json(data: bytes) -> Event:
    """Parse and validate one bus record. On the router's hot path: one parse, cheap checks,
    and the size limit applied to the record's bytes as they sit on the bus (no re-encoding)."""
    if len(data) > MAX_EVENT_BYTES:
        _check_size(len(data))
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidEnvelope(None, f"not valid JSON: {exc}") from exc
    if not _plainly_valid(event):
        _check_fields(event)
    return event


_REPLAY_NAME_KEY = b'"replay-name"'


def replay_marker(name: str) -> Callable[[bytes], bytes]:
    """What marks a bus record's event as replayed by `name`, as EventBridge marks replayed events.

    The field is spliced in after the opening brace, without decoding the event: a replay copies
    millions of records, and this costs a fraction of a parse. Only a record that already names
    a replay (or merely mentions the key), or is not compact JSON, is decoded and re-encoded; one
    that is no JSON object is returned unchanged, for the router to dead-letter as it would have
    the first time. Replay names are [.-_A-Za-z0-9]+, so the name needs no JSON escaping.
    """
    head = b'{"replay-name":"' + name.encode() + b'",'

    def mark(data: bytes) -> bytes:
        if data[:1] == b"{" and data[1:2] == b'"' and _REPLAY_NAME_KEY not in data:
            return head + data[1:]
        return _marked_by_decoding(data, name)

    return mark


def _marked_by_decoding(data: bytes, name: str) -> bytes:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    if not isinstance(event, dict):
        return data
    event["replay-name"] = name
    return orjson.dumps(event)
