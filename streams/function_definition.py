"""A function's declaration (name, handler, limits, environment, destinations), checked.

A function is a Python handler the workers run as a rule target, the way AWS Lambda runs one:
`handler(event, context)`. Its declaration is read here, by `busbar apply` (so a mistake is
reported with its place in the file) and by the API (so nothing else reaches the config topic),
and stored as the record `record()` returns, in Lambda's member names.

Keys may be written in snake_case (`max_concurrency`) or in the stored spelling
(`MaxConcurrency`). The handler is `package.module:callable`; Lambda's own `module.callable`
form is read as well, so a SAM or Terraform handler string applies unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.arns import FUNCTION_NAME, parse_target_arn

DEFAULT_TIMEOUT_S = 3  # Lambda's defaults and limits
MAX_TIMEOUT_S = 900
DEFAULT_MEMORY_MB = 128
DEFAULT_MAX_CONCURRENCY = 10
MAX_CONCURRENCY = 1000

KEYS = {
    "name": "FunctionName", "function_name": "FunctionName", "handler": "Handler", "timeout": "Timeout",
    "memory_size": "MemorySize", "max_concurrency": "MaxConcurrency", "environment": "Environment",
    "on_success": "OnSuccess", "on_failure": "OnFailure", "description": "Description",
}
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
HANDLER = re.compile(rf"^({_IDENTIFIER}(?:\.{_IDENTIFIER})*)[:.]({_IDENTIFIER})$")
VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# What the API adds when it shows a function; given back (a described function put again), ignored.
READ_ONLY = ("FunctionArn", "LastModified")


class InvalidFunction(ValueError):
    """The declaration cannot be a function; the message names the member at fault."""


@dataclass(frozen=True)
class FunctionDefinition:
    name: str
    handler: str
    timeout_s: int = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    environment: dict[str, str] = field(default_factory=dict)
    on_success: str | None = None  # a bus name or an event bus ARN
    on_failure: str | None = None
    description: str = ""

    @property
    def module(self) -> str:
        return handler_parts(self.handler)[0]

    @property
    def callable_name(self) -> str:
        return handler_parts(self.handler)[1]

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "FunctionName": self.name, "Handler": self.handler, "Timeout": self.timeout_s,
            "MemorySize": self.memory_mb, "MaxConcurrency": self.max_concurrency,
            "Environment": {"Variables": dict(self.environment)},
        }
        for key, value in (("OnSuccess", self.on_success), ("OnFailure", self.on_failure),
                           ("Description", self.description)):
            if value:
                record[key] = value
        return record


def handler_parts(handler: str) -> tuple[str, str]:
    """(module, callable) of `package.module:callable` or Lambda's `module.callable`."""
    match = HANDLER.match(handler)
    if match is None:
        raise InvalidFunction(f"handler {handler!r} is not package.module:callable")
    return match.group(1), match.group(2)


def destination_bus(destination: str) -> str:
    """The bus an OnSuccess/OnFailure destination names (a bus name or an event bus ARN)."""
    if not destination.startswith("arn:"):
        if not destination or "/" in destination:
            raise InvalidFunction(f"destination {destination!r} is not a bus name or an event bus ARN")
        return destination
    try:
        ref = parse_target_arn(destination)
    except ValueError as exc:
        raise InvalidFunction(f"destination {exc}") from None
    if ref.kind != "bus":
        raise InvalidFunction(f"destination {destination!r}: only an event bus can be a function's destination")
    return ref.name


def declared(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored or shown function without what the API adds to it."""
    return {key: value for key, value in record.items() if key not in READ_ONLY}


def parse_function(item: Any) -> FunctionDefinition:
    if not isinstance(item, Mapping):
        raise InvalidFunction("a function is a mapping with a name and a handler")
    members: dict[str, Any] = {}
    for key, value in declared(item).items():
        name = KEYS.get(str(key), str(key))
        if name not in KEYS.values():
            raise InvalidFunction(f"unknown key {key!r}; allowed: {', '.join(sorted(KEYS))}")
        members[name] = value
    name, handler = members.get("FunctionName"), members.get("Handler")
    if not isinstance(name, str) or not FUNCTION_NAME.match(name):
        raise InvalidFunction(f"name {name!r} is not a function name (1 to 64 letters, digits, - and _)")
    if not isinstance(handler, str):
        raise InvalidFunction(f"{name}: handler is required: package.module:callable")
    try:
        handler_parts(handler)
        destinations = {key: _destination(members.get(key)) for key in ("OnSuccess", "OnFailure")}
        return FunctionDefinition(
            name=name, handler=handler,
            timeout_s=_whole(members, "Timeout", DEFAULT_TIMEOUT_S, 1, MAX_TIMEOUT_S),
            memory_mb=_whole(members, "MemorySize", DEFAULT_MEMORY_MB, 128, 10240),
            max_concurrency=_whole(members, "MaxConcurrency", DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY),
            environment=_environment(members.get("Environment")),
            on_success=destinations["OnSuccess"], on_failure=destinations["OnFailure"],
            description=str(members.get("Description") or ""),
        )
    except InvalidFunction as exc:
        raise InvalidFunction(f"{name}: {exc}") from None


def _whole(members: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = members.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidFunction(f"{key} is {value!r}: a whole number from {low} to {high}")
    return value


def _environment(value: Any) -> dict[str, str]:
    """A mapping of variables, or Lambda's {"Variables": {...}}; values are text, as in Lambda."""
    if value is None:
        return {}
    if isinstance(value, Mapping) and set(value) == {"Variables"}:
        value = value["Variables"] or {}
    if not isinstance(value, Mapping):
        raise InvalidFunction("environment is a mapping of variable names to values")
    variables = {}
    for key, item in value.items():
        if not isinstance(key, str) or not VARIABLE.match(key):
            raise InvalidFunction(f"environment variable name {key!r} is not a letter followed by letters, "
                                  "digits and _")
        if isinstance(item, Mapping | list) or item is None:
            raise InvalidFunction(f"environment variable {key}: its value must be text, not {item!r}")
        variables[key] = str(item).lower() if isinstance(item, bool) else str(item)
    return variables


def _destination(value: Any) -> str | None:
    """A bus name or ARN, or Lambda's {"Destination": arn}."""
    if isinstance(value, Mapping) and set(value) == {"Destination"}:
        value = value["Destination"]
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidFunction(f"destination {value!r} is not a bus name or an event bus ARN")
    destination_bus(value)
    return value
