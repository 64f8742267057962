"""The quick yes/no check (streams.api.conforms) accepts exactly what the full, message-making
check accepts, for every input shape of the events and Scheduler models, on values that are
mostly right and wrong here and there (types, nulls, lengths, ranges, enums, patterns)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from botocore.model import Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.api import restjson
from streams.api.conforms import conforms
from streams.api.errors import SerializationException
from streams.api.validation import _check, _pattern, service_model

WRONG = (None, True, 0, -1, 1.5, "", "x", [], {}, [None], {"k": None})
STRINGS = ("", "a", "\u00e9", "a b", "\n", "default", "rule-1.x_y", "r" * 64, "r" * 65, "x" * 300, "{}", '{"source": ["a"]}', "ENABLED",
           "DISABLED", "rate(1 minute)", "arn:aws:events:us-east-1:123456789012:event-bus/default",
           "arn:aws:events:us-east-1:123456789012:rule/r", "https://example.com/x")
NUMBERS = (-1, 0, 1, 5, 10, 11, 100, 185, 1000, 86_400, 2**31, 1.5)
SHAPES = [(model, model.operation_model(name).input_shape)
          for model in (service_model(), restjson.service_model()) for name in model.operation_names]
SHAPES = [shape for _, shape in SHAPES if shape is not None]


class Choices(Protocol):
    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[Any]) -> Any: ...


class Drawn:
    """Choices hypothesis makes (and shrinks)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def choice(self, options: Sequence[Any]) -> Any:
        return self.data.draw(st.sampled_from(options))


class Seeded:
    """Choices from a seeded generator: the same values on every run."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)

    def choice(self, options: Sequence[Any]) -> Any:
        return self.random.choice(options)


def value_for(shape: Shape, pick: Choices, depth: int = 0) -> Any:
    if pick.integer(0, 19) == 0 or depth > 5:
        return pick.choice(WRONG)
    kind = shape.type_name
    if kind == "structure":
        value = {}
        for name, member in shape.members.items():
            required = name in shape.required_members
            if pick.integer(0, 9) < (9 if required else 4):
                value[name] = value_for(member, pick, depth + 1)
        if pick.integer(0, 9) == 0:
            value["NotAMember"] = pick.choice(WRONG)
        return value
    if kind == "list":
        return [value_for(shape.member, pick, depth + 1)  # type: ignore[attr-defined]
                for _ in range(pick.integer(0, 3))]
    if kind == "map":
        return {pick.choice(STRINGS): value_for(shape.value, pick, depth + 1)  # type: ignore[attr-defined]
                for _ in range(pick.integer(0, 2))}
    if kind == "string":
        enum = shape.metadata.get("enum")
        return pick.choice(enum) if enum and pick.integer(0, 1) else pick.choice(STRINGS)
    if kind in ("integer", "long", "float", "double", "timestamp"):
        return pick.choice(NUMBERS)
    if kind == "boolean":
        return bool(pick.integer(0, 1))
    return pick.choice(STRINGS)


def full_check_passes(shape: Shape, value: Any) -> bool:
    errors: list[str] = []
    try:
        _check(shape, value, "", errors)
    except SerializationException:
        return False
    return not errors


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_quick_check_agrees_with_the_full_check(data: st.DataObject) -> None:
    shape = data.draw(st.sampled_from(SHAPES))
    value = value_for(shape, Drawn(data))
    assert conforms(shape, _pattern)(value) is full_check_passes(shape, value), (shape.name, value)


def test_quick_check_agrees_on_valid_and_invalid_requests_alike() -> None:
    """The same property on a fixed sample, which must hold both answers often to be worth anything."""
    pick, seen = Seeded(18), Counter[bool]()
    for _ in range(5000):
        shape = pick.choice(SHAPES)
        value = value_for(shape, pick)
        expected = full_check_passes(shape, value)
        seen[expected] += 1
        assert conforms(shape, _pattern)(value) is expected, (shape.name, value)
    assert seen[True] > 500 and seen[False] > 500, seen


def test_a_valid_put_events_request_conforms_and_a_wrong_one_does_not() -> None:
    shape = service_model().operation_model("PutEvents").input_shape
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "default", "Resources": ["r"]}
    assert conforms(shape, _pattern)({"Entries": [entry] * 10})
    assert not conforms(shape, _pattern)({"Entries": [entry] * 11})
    assert not conforms(shape, _pattern)({"Entries": [{**entry, "EventBusName": "a b"}]})
    assert not conforms(shape, _pattern)({"Entries": [{**entry, "Time": "yesterday"}]})
