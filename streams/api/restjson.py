"""The rest-json protocol (EventBridge Scheduler's), read from the service model botocore ships.

Scheduler does not speak the events API's JSON 1.1: boto3's `scheduler` client sends each
operation to its own method and path (`POST /schedules/{Name}`, `GET /schedules?ScheduleGroup=`)
with members in the path, the query string and a JSON body, and it reads an error's code from
the `x-amzn-ErrorType` header and the HTTP status from the error's shape. Taking routes, member
locations, constraints and statuses from botocore's `scheduler` model keeps all of that exactly
what the client expects, with nothing transcribed by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from aiohttp import web
from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel

from streams.api.errors import ApiError, SerializationException, ValidationException
from streams.api.validation import check_shape

SERVICE = "scheduler"
CONTENT_TYPE = "application/json"
# Codes of the events API that Scheduler spells otherwise.
RENAMED_CODES = {"InternalException": "InternalServerException"}
# Signature failures: rest-json services answer them with 403.
AUTH_CODES = ("MissingAuthenticationTokenException", "IncompleteSignatureException", "InvalidSignatureException",
              "UnrecognizedClientException")


@cache
def service_model() -> ServiceModel:
    return ServiceModel(Loader().load_service_model(SERVICE, "service-2"), SERVICE)


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    path: str  # aiohttp's form, which is the model's: /schedules/{Name}


def routes(operations: list[str]) -> list[Route]:
    https = {name: service_model().operation_model(name).http for name in operations}
    return [Route(name, http["method"], http["requestUri"]) for name, http in https.items()]


def decode_request(operation: str, path_members: Mapping[str, str], query: Mapping[str, str],
                   body: bytes) -> dict[str, Any]:
    """The operation's input as one dict of member name -> value, checked against the model."""
    op: OperationModel = service_model().operation_model(operation)
    shape = op.input_shape
    params = _body(body) if op.http["method"] in ("POST", "PUT") else {}
    for name, member in shape.members.items():
        location, wire_name = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri":
            params[name] = path_members[wire_name]
        elif location == "querystring" and wire_name in query:
            params[name] = _query_value(member.type_name, wire_name, query[wire_name])
    check_shape(shape, params)
    return params


def _body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


def _query_value(type_name: str, wire_name: str, value: str) -> Any:
    if type_name != "integer":
        return value
    try:
        return int(value)
    except ValueError:
        raise ValidationException(f"Query parameter {wire_name} must be an integer, got '{value}'.") from None


def json_response(result: dict[str, Any], request_id: str) -> web.Response:
    return web.Response(body=orjson.dumps(result), status=200,
                        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id})


def error_response(exc: ApiError, request_id: str | None = None) -> web.Response:
    """The status is the one the model gives the error's shape, so botocore maps it back."""
    code = RENAMED_CODES.get(exc.code, exc.code)
    status = 403 if code in AUTH_CODES else _model_status(code, exc.status)
    return web.Response(body=orjson.dumps({"Message": exc.message}), status=status, headers={
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id or str(uuid.uuid4()),
        "x-amzn-ErrorType": code,
    })


def _model_status(code: str, default: int) -> int:
    for shape in service_model().error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", default))
    return default
