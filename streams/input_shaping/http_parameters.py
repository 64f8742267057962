"""Dynamic HttpParameters of API-destination targets: a path parameter, header or query string
value that is a JSONPath (`$.detail.id`) takes its value from the matched event, as on
EventBridge; any other value is sent as written.

The router resolves them, because it holds the decoded event and the delivery service only gets
the payload (which input shaping may have cut down); PutTargets compiles them to refuse a
malformed path. Targets without dynamic values cost nothing: their HttpParameters travel as
configured.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.input_shaping.paths import NOT_FOUND, CompiledPath, compile_path


def _dynamic(value: object, where: str) -> CompiledPath | None:
    return compile_path(value, where) if isinstance(value, str) and value.startswith("$.") else None


class DynamicParameters:
    """Compiled once per target; InvalidInputSpec (a ValueError) for a malformed path."""

    def __init__(self, http: dict[str, Any]) -> None:
        self.http = http
        values = http.get("PathParameterValues") or []
        self.paths = [_dynamic(v, "HttpParameters.PathParameterValues") for v in values]
        self.headers = {k: _dynamic(v, f"HttpParameters.HeaderParameters.{k}")
                        for k, v in (http.get("HeaderParameters") or {}).items()}
        self.query = {k: _dynamic(v, f"HttpParameters.QueryStringParameters.{k}")
                      for k, v in (http.get("QueryStringParameters") or {}).items()}
        self.any = any(self.paths) or any(self.headers.values()) or any(self.query.values())

    def resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        """The target's HttpParameters with each JSONPath replaced by what it names in `event`
        (text as is, anything else as JSON, nothing found as "")."""
        resolved = dict(self.http)
        if "PathParameterValues" in self.http:
            values = zip(self.paths, self.http["PathParameterValues"], strict=True)
            resolved["PathParameterValues"] = [_value(path, event, raw) for path, raw in values]
        for member, compiled in (("HeaderParameters", self.headers), ("QueryStringParameters", self.query)):
            if member in self.http:
                resolved[member] = {k: _value(compiled[k], event, v) for k, v in self.http[member].items()}
        return resolved


def _value(path: CompiledPath | None, event: dict[str, Any], raw: Any) -> str:
    if path is None:
        return str(raw)
    found = path.find(event)
    if found is NOT_FOUND:
        return ""
    return found if isinstance(found, str) else orjson.dumps(found).decode()
