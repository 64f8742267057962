"""The event envelope: what is a valid event, and that its JSON encoding gives back what went in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from streams.envelope import (
    FIELDS,
    MAX_EVENT_BYTES,
    InvalidEnvelope,
    decode_json,
    encode_json,
    new_event,
    replay_marker,
    validate,
)


def full_event(**changes: Any) -> dict[str, Any]:
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Order Placed",
        "source": "com.example.orders",
        "account": "123456789012",
        "time": "2026-11-27T05:43:56Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:s3:::orders"],
        "detail": {"order": {"id": 42, "lines": [{"sku": "A1", "qty": 2}]}},
    }
    event.update(changes)
    return event


def without(name: str) -> dict[str, Any]:
    event = full_event()
    del event[name]
    return event


ROUND_TRIP_EVENTS = {
    "plain": full_event(),
    "unicode": full_event(
        source="com.exämple.订单",
        **{"detail-type": "Bestellung ✓"},
        detail={"name": "Zoë 😀", "text": "ﷺ\u0000\u2028", "ключ": ["日本語"]},
        resources=["arn:aws:s3:::bücket"],
    ),
    "nested detail": full_event(
        detail={"a": {"b": {"c": [1, 2.5, -3, True, False, None, {"d": []}, [{"e": {}}]]}}, "big": 2**62}
    ),
    "replay-name": full_event(**{"replay-name": "replay-2026-11-27"}),
    "empty resources": full_event(resources=[]),
    "empty detail": full_event(detail={}),
    "offset time with fraction": full_event(time="2026-11-27T06:43:56.123456+01:00"),
}


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ROUND_TRIP_EVENTS.values(), ids=ROUND_TRIP_EVENTS.keys())
def test_json_round_trip_gives_back_the_same_envelope(event: dict[str, Any]) -> None:
    data = encode_json(event)
    assert isinstance(data, bytes)
    decoded = decode_json(data)
    assert decoded == event
    assert list(decoded) == list(event)


def test_json_accepts_what_a_raw_kafka_producer_sends() -> None:
    """Only source, detail-type and detail are required: any producer can publish to a bus."""
    data = b'{"source": "my.app", "detail-type": "Ping", "detail": {}}'
    assert decode_json(data) == {"source": "my.app", "detail-type": "Ping", "detail": {}}


def test_json_is_the_plain_eventbridge_shape() -> None:
    event = full_event(**{"replay-name": "r"})
    assert orjson.loads(encode_json(event)) == event


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b'{"source": "a", ', "not valid JSON"),
        (b"{'source': 'a'}", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, got array"),
        (b'"text"', "must be a JSON object, got string"),
        (b"null", "must be a JSON object, got null"),
        (b"42", "must be a JSON object, got number"),
    ],
)
def test_decode_json_refuses_what_is_not_a_json_object(data: bytes, message: str) -> None:
    with pytest.raises(InvalidEnvelope, match=message) as caught:
        decode_json(data)
    assert caught.value.field is None


def test_invalid_envelope_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        decode_json(b"[]")


# --- validation -----------------------------------------------------------------------------

INVALID = [
    # (event, field, words the message must contain)
    (without("source"), "source", ["source", "missing"]),
    (full_event(source=7), "source", ["source", "must be a string", "number"]),
    (full_event(source=None), "source", ["source", "must be a string", "null"]),
    (full_event(source=""), "source", ["source", "must not be empty"]),
    (without("detail-type"), "detail-type", ["detail-type", "missing"]),
    (full_event(**{"detail-type": ["a"]}), "detail-type", ["detail-type", "must be a string", "array"]),
    (full_event(**{"detail-type": ""}), "detail-type", ["detail-type", "must not be empty"]),
    (without("detail"), "detail", ["detail", "missing"]),
    (full_event(detail='{"a": 1}'), "detail", ["detail", "must be a JSON object", "string"]),
    (full_event(detail=[1]), "detail", ["detail", "must be a JSON object", "array"]),
    (full_event(detail=None), "detail", ["detail", "must be a JSON object", "null"]),
    (full_event(version=0), "version", ["version", "must be a string", "number"]),
    (full_event(id=123), "id", ["id", "must be a string", "number"]),
    (full_event(account=123456789012), "account", ["account", "must be a string", "number"]),
    (full_event(region={"name": "eu"}), "region", ["region", "must be a string", "object"]),
    (full_event(**{"replay-name": None}), "replay-name", ["replay-name", "must be a string", "null"]),
    (full_event(time=1764222236), "time", ["time", "RFC 3339", "number"]),
    (full_event(time="2026-11-27"), "time", ["time", "'2026-11-27'", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-11-27T05:43:56"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-02-30T05:43:56Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2025-02-29T05:43:56Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-04-31T05:43:56Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-13-01T05:43:56Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-11-27T24:00:00Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-11-27T05:43:56+0100"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="2026-11-27T05:43:56Z trailing"), "time", ["time", "not an RFC 3339 timestamp"]),
    (full_event(time="yesterday"), "time", ["time", "'yesterday'", "not an RFC 3339 timestamp"]),
    (full_event(time="٢٠٢٦-11-27T05:43:56Z"), "time", ["time", "not an RFC 3339 timestamp"]),
    (
        full_event(resources="arn:aws:s3:::x"),
        "resources",
        ["resources", "must be an array of strings", "string"],
    ),
    (full_event(resources=None), "resources", ["resources", "must be an array of strings", "null"]),
    (full_event(resources=["a", 2]), "resources", ["resources", "item 1", "must be a string", "number"]),
    (full_event(Source="x"), "Source", ["unknown envelope field", "'Source'", "detail-type"]),
    (full_event(extra=1, another=2), "another", ["unknown envelope field", "'another'", "'extra'"]),
]


@pytest.mark.parametrize(("event", "field", "words"), INVALID)
def test_validate_names_the_field_at_fault(event: dict[str, Any], field: str, words: list[str]) -> None:
    with pytest.raises(InvalidEnvelope) as caught:
        validate(event)
    assert caught.value.field == field
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(("event", "field", "words"), INVALID)
def test_every_door_refuses_the_same_events_for_the_same_reason(
    event: dict[str, Any], field: str, words: list[str]
) -> None:
    """What the router decodes from a bus and what a producer encodes are held to one rule."""
    with pytest.raises(InvalidEnvelope) as from_bus:
        decode_json(orjson.dumps(event))
    with pytest.raises(InvalidEnvelope) as to_bus:
        encode_json(event)
    assert from_bus.value.field == to_bus.value.field == field
    assert str(from_bus.value) == str(to_bus.value)


def test_validate_refuses_an_event_that_is_not_a_dict() -> None:
    with pytest.raises(InvalidEnvelope, match="must be a JSON object, got array") as caught:
        validate([full_event()])  # type: ignore[arg-type]
    assert caught.value.field is None


def test_detail_that_cannot_be_json_is_blamed_on_detail() -> None:
    with pytest.raises(InvalidEnvelope, match="detail: cannot be encoded as JSON") as caught:
        validate(full_event(detail={1: "non-string key"}))
    assert caught.value.field == "detail"


def test_long_bad_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidEnvelope) as caught:
        validate(full_event(time="x" * 10_000))
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "time",
    [
        "2026-11-27T05:43:56Z",
        "2026-11-27t05:43:56z",
        "2026-11-27T05:43:56.5Z",
        "2026-11-27T05:43:56.123456789-08:00",
        "2024-02-29T00:00:00+14:00",
        "2016-12-31T23:59:60Z",
    ],
)
def test_rfc3339_times_are_accepted(time: str) -> None:
    validate(full_event(time=time))


# --- size limit -----------------------------------------------------------------------------


def event_of_size(size: int) -> dict[str, Any]:
    event = full_event(detail={"pad": ""})
    event["detail"]["pad"] = "x" * (size - len(orjson.dumps(event)))
    assert len(orjson.dumps(event)) == size
    return event


def test_an_event_of_exactly_256_kb_is_accepted() -> None:
    event = event_of_size(MAX_EVENT_BYTES)
    validate(event)
    assert decode_json(encode_json(event)) == event


def test_an_event_one_byte_over_256_kb_is_refused_everywhere() -> None:
    event = event_of_size(MAX_EVENT_BYTES + 1)
    attempts = [
        lambda: validate(event),
        lambda: encode_json(event),
        lambda: decode_json(orjson.dumps(event)),
    ]
    for attempt in attempts:
        with pytest.raises(
            InvalidEnvelope, match=f"{MAX_EVENT_BYTES + 1} bytes.*{MAX_EVENT_BYTES}-byte limit"
        ) as caught:
            attempt()
        assert caught.value.field is None


def test_size_counts_utf8_bytes_not_characters() -> None:
    event = event_of_size(MAX_EVENT_BYTES)
    event["detail"]["pad"] = event["detail"]["pad"][:-2] + "é"  # one character, two bytes
    validate(event)
    event["detail"]["pad"] = event["detail"]["pad"][:-1] + "😀"  # one character, four bytes
    with pytest.raises(InvalidEnvelope, match="over the"):
        validate(event)


def test_decode_json_refuses_oversized_records_before_parsing_them() -> None:
    data = b"[" * (MAX_EVENT_BYTES + 1)  # not even JSON: the size alone decides
    with pytest.raises(InvalidEnvelope, match="over the") as caught:
        decode_json(data)
    assert caught.value.field is None


# --- new_event ------------------------------------------------------------------------------


def test_new_event_fills_in_eventbridge_defaults() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    event = new_event(
        source="com.example", detail_type="Ping", detail={"n": 1}, account="123456789012", region="eu-west-1"
    )
    after = datetime.now(UTC)
    assert list(event) == list(FIELDS[:-1])
    assert event["version"] == "0"
    assert uuid.UUID(event["id"]).version == 4
    assert event["resources"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert before <= datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S%z") <= after
    assert {k: event[k] for k in ("source", "detail-type", "detail", "account", "region")} == {
        "source": "com.example",
        "detail-type": "Ping",
        "detail": {"n": 1},
        "account": "123456789012",
        "region": "eu-west-1",
    }


def test_new_event_ids_are_unique() -> None:
    ids = {
        new_event(source="s", detail_type="t", detail={}, account="a", region="r")["id"] for _ in range(100)
    }
    assert len(ids) == 100


def test_new_event_takes_given_values() -> None:
    resources = ["arn:a"]
    event = new_event(
        source="s",
        detail_type="t",
        detail={},
        resources=resources,
        time=datetime(2026, 11, 27, 6, 43, 56, 999_999, tzinfo=timezone(timedelta(hours=1))),
        account="a",
        region="r",
        event_id="my-id",
    )
    assert event["time"] == "2026-11-27T05:43:56Z"
    assert event["id"] == "my-id"
    assert event["resources"] == ["arn:a"]
    resources.append("arn:b")
    assert event["resources"] == ["arn:a"], "the envelope must not share the caller's list"


def test_new_event_passes_a_time_string_through_after_checking_it() -> None:
    event = new_event(
        source="s", detail_type="t", detail={}, time="2026-11-27T05:43:56.25+02:00", account="a", region="r"
    )
    assert event["time"] == "2026-11-27T05:43:56.25+02:00"
    with pytest.raises(InvalidEnvelope) as caught:
        new_event(source="s", detail_type="t", detail={}, time="27/11/2026", account="a", region="r")
    assert caught.value.field == "time"


def test_new_event_refuses_a_naive_datetime() -> None:
    with pytest.raises(InvalidEnvelope, match="no timezone") as caught:
        new_event(
            source="s", detail_type="t", detail={}, time=datetime(2026, 11, 27), account="a", region="r"
        )
    assert caught.value.field == "time"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source": ""}, "source"),
        ({"detail_type": ""}, "detail-type"),
        ({"detail": "not an object"}, "detail"),
        ({"resources": ["ok", None]}, "resources"),
    ],
)
def test_new_event_validates(changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "source": "s",
        "detail_type": "t",
        "detail": {},
        "account": "a",
        "region": "r",
    }
    with pytest.raises(InvalidEnvelope) as caught:
        new_event(**(arguments | changes))
    assert caught.value.field == field


@pytest.mark.parametrize("raw", [
    b'{"source":"a","detail-type":"t","detail":{}}',
    b'  {  "source":"a","detail-type":"t","detail":{"replay-name":"old"}}\n',
    b'{"source":"a","detail-type":"t","detail":{},"replay-name":"old"}',
    b'{ "source":"a","detail-type":"t","detail":{}}',
])
def test_a_replayed_event_carries_the_replay_name_and_stays_valid(raw: bytes) -> None:
    event = decode_json(replay_marker("night-1")(raw))
    assert event["replay-name"] == "night-1"
    assert {k: v for k, v in event.items() if k != "replay-name"} == \
        {k: v for k, v in orjson.loads(raw).items() if k != "replay-name"}


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"{}"])
def test_a_record_that_is_no_event_is_replayed_as_it_is_or_only_marked(raw: bytes) -> None:
    marked = replay_marker("r")(raw)
    assert marked == raw or orjson.loads(marked) == {"replay-name": "r"}
