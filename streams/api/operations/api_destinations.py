"""CreateApiDestination, DescribeApiDestination, UpdateApiDestination, DeleteApiDestination,
ListApiDestinations.

An API destination is an HTTP endpoint (`*` in its path stands for a value each target gives
in HttpParameters.PathParameterValues), the method, the connection that authorises requests
and a rate limit that all workers together keep to. The endpoint's scheme and literal address
are checked here (streams/addresses.py); host names are checked on every connection.
"""

from __future__ import annotations

import uuid

from streams.addresses import RefusedAddress, check_url
from streams.api.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, now, paginate
from streams.arns import api_destination_arn, connection_arn, parse_named_arn
from streams.model import Record, api_destination_key

DEFAULT_RATE_PER_SECOND = 300  # EventBridge's default InvocationRateLimitPerSecond
FIELDS = ("Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond")


def arn_of(ctx: Context, record: Record) -> str:
    return api_destination_arn(ctx.settings.region, ctx.settings.account, record["Name"], record["Uuid"])


def _require(ctx: Context, name: str) -> Record:
    record = ctx.model.api_destination(name)
    if record is None:
        raise ResourceNotFoundException(
            f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")
    return record


def _check_connection(ctx: Context, arn: str) -> None:
    """The connection must exist, under this ARN (a deleted and re-created one has another)."""
    try:
        name, _ = parse_named_arn(arn, "connection")
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    record = ctx.model.connection(name)
    settings = ctx.settings
    if record is None or connection_arn(settings.region, settings.account, name, record["Uuid"]) != arn:
        raise ResourceNotFoundException(f"Connection '{arn}' does not exist.")


def _check_endpoint(ctx: Context, endpoint: str) -> None:
    try:
        check_url(endpoint, ctx.settings.allow_private_destinations)
    except RefusedAddress as exc:
        raise ValidationException(f"InvocationEndpoint: {exc}") from None


def _answer(ctx: Context, record: Record) -> Response:
    return {"ApiDestinationArn": arn_of(ctx, record), "ApiDestinationState": record["ApiDestinationState"],
            "CreationTime": record["CreationTime"], "LastModifiedTime": record["LastModifiedTime"]}


def destination_view(ctx: Context, record: Record) -> Response:
    view = {"ApiDestinationArn": arn_of(ctx, record), "Name": record["Name"],
            "ApiDestinationState": record["ApiDestinationState"],
            "CreationTime": record["CreationTime"], "LastModifiedTime": record["LastModifiedTime"]}
    view.update({field: record[field] for field in FIELDS if field in record})
    return view


async def create_api_destination(ctx: Context, params: Params) -> Response:
    name = params["Name"]
    _check_endpoint(ctx, params["InvocationEndpoint"])
    _check_connection(ctx, params["ConnectionArn"])
    async with ctx.write_lock:
        if ctx.model.api_destination(name) is not None:
            raise ResourceAlreadyExistsException(f"An api-destination '{name}' already exists.")
        created = now()
        record: Record = {"Name": name, "Uuid": str(uuid.uuid4()), "ApiDestinationState": "ACTIVE",
                          "InvocationRateLimitPerSecond": DEFAULT_RATE_PER_SECOND,
                          "CreationTime": created, "LastModifiedTime": created}
        record.update({field: params[field] for field in FIELDS if field in params})
        await ctx.write(api_destination_key(name), record)
    return _answer(ctx, record)


async def describe_api_destination(ctx: Context, params: Params) -> Response:
    return destination_view(ctx, _require(ctx, params["Name"]))


async def update_api_destination(ctx: Context, params: Params) -> Response:
    if "InvocationEndpoint" in params:
        _check_endpoint(ctx, params["InvocationEndpoint"])
    if "ConnectionArn" in params:
        _check_connection(ctx, params["ConnectionArn"])
    async with ctx.write_lock:
        changes = {field: params[field] for field in FIELDS if field in params}
        record = {**_require(ctx, params["Name"]), **changes}
        record["LastModifiedTime"] = now()
        await ctx.write(api_destination_key(record["Name"]), record)
    return _answer(ctx, record)


async def delete_api_destination(ctx: Context, params: Params) -> Response:
    async with ctx.write_lock:
        _require(ctx, params["Name"])
        await ctx.write(api_destination_key(params["Name"]), None)
    return {}


async def list_api_destinations(ctx: Context, params: Params) -> Response:
    prefix, connection = params.get("NamePrefix") or "", params.get("ConnectionArn")
    records = [r for r in ctx.model.api_destinations()
               if r["Name"].startswith(prefix) and (connection is None or r["ConnectionArn"] == connection)]
    page, more = paginate(records, lambda r: r["Name"], params)
    return {"ApiDestinations": [destination_view(ctx, r) for r in page], **more}
