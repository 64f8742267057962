"""busbar's own operations for functions: PutFunction, GetFunction, ListFunctions, DeleteFunction.

Functions are run by the workers, not by AWS Lambda, so these are busbar operations
(`X-Amz-Target: Busbar.<Operation>`, like the correlation rules'), named after Lambda's. A
function's Kafka topic (`<prefix>.function.<name>`) is created before its record is written, so
a target naming a function that any worker can see always has somewhere to go. Deleting a
function keeps its topic: events already routed to it are dead-lettered by the workers with
the reason, not left unread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from streams.api.errors import ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, now, require_bus
from streams.arns import function_arn
from streams.function_definition import InvalidFunction, declared, destination_bus, parse_function
from streams.model import function_key
from streams.topics import ensure_topics


def _name(params: Params) -> str:
    name = params.get("FunctionName")
    if not isinstance(name, str) or not name:
        raise ValidationException("Parameter FunctionName is required: the function's name.")
    return name


async def put_function(ctx: Context, params: Params) -> Response:
    """Create or replace a function; unchanged declarations are not rewritten."""
    try:
        definition = parse_function(params)
    except InvalidFunction as exc:
        raise ValidationException(f"Function is not valid: {exc}") from None
    for destination in (definition.on_success, definition.on_failure):
        if destination is not None:
            require_bus(ctx, destination_bus(destination))
    settings = ctx.settings
    await asyncio.get_running_loop().run_in_executor(None, lambda: ensure_topics(
        settings.kafka_bootstrap, {ctx.topics.function(definition.name): {}}, partitions=settings.partitions,
        replication=settings.replication))
    async with ctx.write_lock:
        existing = ctx.model.function(definition.name)
        record = definition.record()
        if existing is None or declared(existing) != record:
            record["LastModified"] = now()
            await ctx.write(function_key(definition.name), record)
        else:
            record = existing
    return _view(ctx, record)


async def get_function(ctx: Context, params: Params) -> Response:
    name = _name(params)
    record = ctx.model.function(name)
    if record is None:
        raise ResourceNotFoundException(f"Function not found: {_arn(ctx, name)}")
    return _view(ctx, record)


async def list_functions(ctx: Context, params: Params) -> Response:
    return {"Functions": [_view(ctx, record) for record in ctx.model.functions()]}


async def delete_function(ctx: Context, params: Params) -> Response:
    """Deleting a function that does not exist is no error (the function is gone either way)."""
    name = _name(params)
    async with ctx.write_lock:
        if ctx.model.function(name) is not None:
            await ctx.write(function_key(name), None)
    return {}


def _arn(ctx: Context, name: str) -> str:
    return function_arn(ctx.settings.region, ctx.settings.account, name)


def _view(ctx: Context, record: dict[str, Any]) -> Response:
    return {**record, "FunctionArn": _arn(ctx, record["FunctionName"])}
