"""Request parameter checks driven by botocore's own EventBridge service model.

boto3 only checks required members, types and minimums before sending, and other clients
(raw HTTP, other SDK versions) check nothing, so the server must enforce the whole model:
required members, JSON types, lengths, value ranges, enums and patterns. Reading the
constraints from the model botocore ships (instead of transcribing them) keeps busbar's
limits the ones AWS publishes, for every operation at once.

Wrong JSON types are SerializationException (the body cannot be read as the operation's
shape, as AWS answers); broken constraints are one ValidationException listing all of them,
in AWS's "N validation errors detected: Value ... at 'path' failed to satisfy constraint: ..."
form, so messages users paste into searches match AWS's.

A null is refused wherever it stands, required member or not, at any depth: handlers and the
router read a stored member as present-and-typed, so a null that slipped through would be
stored and only fail later, when an event is routed (`"MaximumRetryAttempts": null` did).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

from streams.api.conforms import conforms
from streams.api.errors import SerializationException, ValidationException

MAX_SHOWN_VALUE = 100


@cache
def service_model() -> ServiceModel:
    """Loaded once per process: parsing the model takes ~100 ms."""
    return ServiceModel(Loader().load_service_model("events", "service-2"), "events")


def operation_model(operation: str) -> OperationModel:
    return service_model().operation_model(operation)


@cache
def _pattern(regex: str) -> re.Pattern[str] | None:
    """AWS matches a pattern against the whole value. A Java-only construct that Python's re
    cannot compile is skipped rather than failing every request of that operation."""
    try:
        return re.compile(regex)
    except re.error:
        return None


def validate(operation: str, params: Any) -> dict[str, Any]:
    """Check a request body against the operation's input shape; returns it as a dict."""
    shape = operation_model(operation).input_shape
    if not isinstance(params, dict):
        raise SerializationException(f"the request body must be a JSON object, got {_json_type(params)}")
    if shape is not None:
        check_shape(shape, params)
    return params


def check_shape(shape: Shape, params: dict[str, Any]) -> None:
    """Any botocore input shape (Scheduler's rest-json ones too) checked as AWS checks it: first
    the quick yes/no (streams.api.conforms), and only a request it refuses checked again for the
    messages."""
    if conforms(shape, _pattern)(params):
        return
    errors: list[str] = []
    _check(shape, params, "", errors)
    if errors:
        count = len(errors)
        raise ValidationException(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors))


def _member_path(parent: str, name: str) -> str:
    """AWS names members in lowerCamelCase (see _members) and list items as '<list>.<n>.member'."""
    return f"{parent}.{name}" if parent else name


# What a shape's checks read, taken from botocore's model once per shape: every request walks
# the same few shapes, and reading their metadata afresh was most of PutEvents' validation time.

@cache
def _members(shape: Shape) -> tuple[tuple[str, str, Shape], ...]:
    """(name, name as AWS writes it in paths: lowerCamelCase, shape) of each member."""
    return tuple((name, name[:1].lower() + name[1:], member) for name, member in shape.members.items())


@cache
def _required(shape: Shape) -> tuple[tuple[str, str], ...]:
    return tuple((name, name[:1].lower() + name[1:]) for name in shape.required_members)


@cache
def _limits(shape: Shape) -> tuple[Any, Any]:
    return shape.metadata.get("min"), shape.metadata.get("max")


@cache
def _string_rules(shape: Shape) -> tuple[list[str] | None, str | None, re.Pattern[str] | None]:
    """(enum, pattern, the pattern compiled or None where Python cannot compile it)."""
    regex = shape.metadata.get("pattern")
    return shape.metadata.get("enum"), regex, _pattern(regex) if regex else None


def _shown(shape: Shape, value: Any) -> str:
    if shape.metadata.get("sensitive"):
        return "'***'"
    if isinstance(value, list):
        return f"'[{shape.member.name}]'"  # type: ignore[attr-defined]
    text = str(value)
    if len(text) > MAX_SHOWN_VALUE:
        text = text[: MAX_SHOWN_VALUE - 3] + "..."
    return f"'{text}'"


def _fail(errors: list[str], shape: Shape, value: Any, path: str, constraint: str) -> None:
    errors.append(f"Value {_shown(shape, value)} at '{path}' failed to satisfy constraint: Member must {constraint}")


def _null(errors: list[str], path: str) -> None:
    errors.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if value is None:
        _null(errors, path)
        return
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        checker(shape, value, path, errors)


def _check_structure(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, dict), "an object", value, path)
    for name, camel in _required(shape):
        if name not in value:
            _null(errors, _member_path(path, camel))
    for name, camel, member in _members(shape):
        if name in value:
            _check(member, value[name], _member_path(path, camel), errors)


def _check_list(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, list), "an array", value, path)
    _check_length(shape, value, path, errors)
    for index, item in enumerate(value, start=1):
        _check(shape.member, item, f"{path}.{index}.member", errors)


def _check_map(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, dict), "an object", value, path)
    _check_length(shape, value, path, errors)
    for key, item in value.items():
        _check(shape.key, key, f"{path}.key", errors)
        _check(shape.value, item, f"{path}.{key}", errors)


def _check_string(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, str), "a string", value, path)
    _check_length(shape, value, path, errors)
    enum, regex, compiled = _string_rules(shape)
    if enum and value not in enum:
        _fail(errors, shape, value, path, f"satisfy enum value set: [{', '.join(enum)}]")
    if compiled is not None and compiled.fullmatch(value) is None:
        _fail(errors, shape, value, path, f"satisfy regular expression pattern: {regex}")


def _check_integer(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, int) and not isinstance(value, bool), "an integer", value, path)
    _check_range(shape, value, path, errors)


def _check_number(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, int | float) and not isinstance(value, bool), "a number", value, path)
    _check_range(shape, value, path, errors)


def _check_boolean(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    _expect(isinstance(value, bool), "a boolean", value, path)


def _check_timestamp(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    """The JSON protocol sends timestamps as epoch seconds."""
    _expect(isinstance(value, int | float) and not isinstance(value, bool), "a number (epoch seconds)", value, path)


def _check_length(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    low, high = _limits(shape)
    if low is not None and len(value) < low:
        _fail(errors, shape, value, path, f"have length greater than or equal to {low}")
    if high is not None and len(value) > high:
        _fail(errors, shape, value, path, f"have length less than or equal to {high}")


def _check_range(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    low, high = _limits(shape)
    if low is not None and value < low:
        _fail(errors, shape, value, path, f"have value greater than or equal to {low}")
    if high is not None and value > high:
        _fail(errors, shape, value, path, f"have value less than or equal to {high}")


def _expect(ok: bool, wanted: str, value: Any, path: str) -> None:
    """A type mismatch makes the rest of the body meaningless, so it stops the check at once."""
    if not ok:
        raise SerializationException(f"'{path or 'body'}' must be {wanted}, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_CHECKERS = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_number,
    "double": _check_number,
    "boolean": _check_boolean,
    "timestamp": _check_timestamp,
}
