"""A yes/no check of a request against a botocore input shape, built once per shape.

streams.api.validation reports every broken constraint with its path, in AWS's words; doing
that for every request (paths built per member, the model's metadata read per value) was a
tenth of an API process's time under PutEvents load. Almost every request is valid, so the
validator asks this first: one closure per shape, no paths, no messages, stopping at the first
fault. It accepts exactly what the full check accepts (a property test holds the two equal);
only a request it refuses goes through the full check, which then says why.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from botocore.model import Shape

Conforms = Callable[[Any], bool]

_built: dict[Shape, Conforms] = {}


def conforms(shape: Shape, pattern: Callable[[str], re.Pattern[str] | None]) -> Conforms:
    """The shape's check (built on first use); `pattern` compiles a model regex, None where
    Python cannot (the full check skips such patterns, so this does too)."""
    check = _built.get(shape)
    if check is None:
        check = _build(shape, pattern)
    return check


def _build(shape: Shape, pattern: Callable[[str], re.Pattern[str] | None]) -> Conforms:
    # A shape may contain itself: its entry goes in first, calling the real check once built.
    built: list[Conforms] = []
    _built[shape] = lambda value: built[0](value)
    check = _make(shape, pattern)
    built.append(check)
    _built[shape] = check
    return check


def _make(shape: Shape, pattern: Callable[[str], re.Pattern[str] | None]) -> Conforms:
    kind = shape.type_name
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if kind == "structure":
        return _structure(tuple(shape.required_members),
                          {name: conforms(member, pattern) for name, member in shape.members.items()})
    if kind == "list":
        return _list(conforms(shape.member, pattern), low, high)  # type: ignore[attr-defined]
    if kind == "map":
        return _map(conforms(shape.key, pattern), conforms(shape.value, pattern), low, high)  # type: ignore[attr-defined]
    if kind == "string":
        regex = shape.metadata.get("pattern")
        return _string(low, high, shape.metadata.get("enum"), pattern(regex) if regex else None)
    if kind in ("integer", "long"):
        return _number(int, low, high)
    if kind in ("float", "double"):
        return _number(int | float, low, high)
    if kind == "timestamp":
        return _number(int | float, None, None)
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    return lambda value: value is not None  # a type the full check does not look into


def _structure(required: tuple[str, ...], members: dict[str, Conforms]) -> Conforms:
    """Members the shape does not name are ignored, as the full check ignores them."""
    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            member = members.get(name)
            if member is not None and not member(item):
                return False
        return True
    return check


def _list(item: Conforms, low: Any, high: Any) -> Conforms:
    def check(value: Any) -> bool:
        return (isinstance(value, list) and (low is None or len(value) >= low)
                and (high is None or len(value) <= high) and all(map(item, value)))
    return check


def _map(key: Conforms, item: Conforms, low: Any, high: Any) -> Conforms:
    def check(value: Any) -> bool:
        return (isinstance(value, dict) and (low is None or len(value) >= low)
                and (high is None or len(value) <= high) and all(map(key, value))
                and all(map(item, value.values())))
    return check


def _string(low: Any, high: Any, enum: list[str] | None, compiled: re.Pattern[str] | None) -> Conforms:
    """Most strings (PutEvents' Source, DetailType, Detail) have no pattern or enum, and their
    check then asks only for what they have: a request's entries check a few strings each."""
    if not enum and compiled is None:
        if low is None and high is None:
            return lambda value: isinstance(value, str)
        shortest, longest = low or 0, high if high is not None else sys.maxsize
        return lambda value: isinstance(value, str) and shortest <= len(value) <= longest

    def check(value: Any) -> bool:
        return (isinstance(value, str) and (low is None or len(value) >= low)
                and (high is None or len(value) <= high) and (not enum or value in enum)
                and (compiled is None or compiled.fullmatch(value) is not None))
    return check


def _number(kind: Any, low: Any, high: Any) -> Conforms:
    def check(value: Any) -> bool:
        return (isinstance(value, kind) and not isinstance(value, bool) and (low is None or value >= low)
                and (high is None or value <= high))
    return check
