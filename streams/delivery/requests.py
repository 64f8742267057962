"""The HTTP request for one delivery: its destination's endpoint and method, the target's
HttpParameters and the connection's InvocationHttpParameters and credentials.

As on EventBridge: each `*` in the endpoint's path takes the next of the target's
PathParameterValues; headers and query string parameters come from the target and then from
the connection, whose values win a conflict; the connection's body parameters are added to a
JSON object body; the body is the event (or the target's shaped input) with Content-Type
application/json.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

BODYLESS_METHODS = ("GET", "HEAD")


class RequestError(ValueError):
    """The delivery cannot be made into a request (it never will be: not retried)."""


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None


def endpoint_url(endpoint: str, values: list[str]) -> str:
    """The endpoint with each `*` replaced by the next path parameter value (URL-quoted)."""
    stars = endpoint.count("*")
    if stars != len(values):
        raise RequestError(f"the endpoint has {stars} path parameter(s) (*) but the target gives "
                           f"{len(values)} PathParameterValues")
    for value in values:
        endpoint = endpoint.replace("*", quote(str(value), safe=""), 1)
    return endpoint


def pairs(parameters: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(str(item["Key"]), str(item.get("Value", ""))) for item in parameters]


def build(payload: bytes, target: dict[str, Any], destination: dict[str, Any],
          connection_auth: dict[str, Any]) -> HttpRequest:
    """Everything but the credentials, which depend on the authorization type (see `authorize`)."""
    http = target.get("HttpParameters") or {}
    method = str(destination.get("HttpMethod", "POST"))
    request = HttpRequest(method, endpoint_url(str(destination["InvocationEndpoint"]),
                                                list(http.get("PathParameterValues") or [])))
    invocation = connection_auth.get("InvocationHttpParameters") or {}
    request.headers.update({str(k): str(v) for k, v in (http.get("HeaderParameters") or {}).items()})
    request.headers.update(dict(pairs(invocation.get("HeaderParameters") or [])))
    request.headers["Content-Type"] = "application/json"
    query = {str(k): str(v) for k, v in (http.get("QueryStringParameters") or {}).items()}
    query.update(dict(pairs(invocation.get("QueryStringParameters") or [])))
    request.query = list(query.items())
    if method not in BODYLESS_METHODS:
        request.body = _with_body_parameters(payload, invocation.get("BodyParameters") or [])
    return request


def _with_body_parameters(payload: bytes, parameters: list[dict[str, Any]]) -> bytes:
    if not parameters:
        return payload
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload  # not JSON (a shaped string): nowhere to add members to
    if not isinstance(body, dict):
        return payload
    body.update(dict(pairs(parameters)))
    return orjson.dumps(body)


def basic_authorization(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def static_credentials(kind: str, auth: dict[str, Any]) -> dict[str, str]:
    """The header an API key or basic connection adds (OAuth's needs a token: streams/delivery/oauth.py)."""
    if kind == "API_KEY":
        key = auth["ApiKeyAuthParameters"]
        return {str(key["ApiKeyName"]).strip(): str(key["ApiKeyValue"]).strip()}
    if kind == "BASIC":
        basic = auth["BasicAuthParameters"]
        return {"Authorization": basic_authorization(basic["Username"], basic["Password"])}
    return {}
