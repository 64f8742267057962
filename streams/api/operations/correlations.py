"""busbar's own operations for correlation rules: PutCorrelation, DescribeCorrelation,
ListCorrelations, DeleteCorrelation.

EventBridge has no such resource, so these are not in botocore's model: they are sent to the
same endpoint as `X-Amz-Target: Busbar.<Operation>` with a JSON body (AWS JSON 1.1, signed
like the events API), and they check their input themselves. A rule is stored as the
definition the user wrote, normalised (`correlation/<bus>/<name>`), so DescribeCorrelation
shows what `busbar apply` compares.
"""

from __future__ import annotations

import time
from typing import Any

from streams.api.errors import LimitExceededException, ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, require_bus
from streams.correlation_rules import InvalidCorrelation, parse_rule
from streams.model import DEFAULT_BUS, correlation_key

MAX_CORRELATIONS_PER_BUS = 100


def _identity(params: Params) -> tuple[str, str]:
    name, bus = params.get("name"), params.get("bus", DEFAULT_BUS)
    if not isinstance(name, str) or not name:
        raise ValidationException("Parameter name is required: the correlation rule's name.")
    if not isinstance(bus, str) or not bus:
        raise ValidationException("Parameter bus must be the name of an event bus.")
    return bus, name


async def put_correlation(ctx: Context, params: Params) -> Response:
    """Create or replace a rule; its window state is kept only while its definition is unchanged."""
    try:
        rule = parse_rule(params)
    except InvalidCorrelation as exc:
        raise ValidationException(f"Correlation rule is not valid: {exc}") from None
    async with ctx.write_lock:
        require_bus(ctx, rule.bus)
        if rule.emit_bus is not None and ctx.model.bus(rule.emit_bus) is None:
            raise ResourceNotFoundException(f"emit.bus: Event bus {rule.emit_bus} does not exist.")
        existing = ctx.model.correlation(rule.bus, rule.name)
        if existing is None and len(ctx.model.correlations(rule.bus)) >= MAX_CORRELATIONS_PER_BUS:
            raise LimitExceededException(f"Event bus {rule.bus} already has {MAX_CORRELATIONS_PER_BUS} "
                                         "correlation rules.")
        # When the rule began to exist: it counts events put from then on, as a rule does.
        created = existing["created"] if existing and _same(existing, rule.record) else int(time.time() * 1000)
        record = {**rule.record, "created": created}
        if record != existing:
            await ctx.write(correlation_key(rule.bus, rule.name), record)
    return {"Correlation": _view(record)}


async def describe_correlation(ctx: Context, params: Params) -> Response:
    bus, name = _identity(params)
    return {"Correlation": _view(_require(ctx, bus, name))}


async def list_correlations(ctx: Context, params: Params) -> Response:
    bus = params.get("bus")
    if bus is not None:
        require_bus(ctx, bus)
    prefix = params.get("namePrefix") or ""
    return {"Correlations": [_view(record) for record in ctx.model.correlations(bus)
                             if record["name"].startswith(prefix)]}


async def delete_correlation(ctx: Context, params: Params) -> Response:
    """Deleting a rule that does not exist succeeds, as DeleteRule does."""
    bus, name = _identity(params)
    async with ctx.write_lock:
        require_bus(ctx, bus)
        if ctx.model.correlation(bus, name) is not None:
            await ctx.write(correlation_key(bus, name), None)
    return {}


def _require(ctx: Context, bus: str, name: str) -> dict[str, Any]:
    require_bus(ctx, bus)
    record = ctx.model.correlation(bus, name)
    if record is None:
        raise ResourceNotFoundException(f"Correlation rule {name} does not exist on EventBus {bus}.")
    return record


def _same(existing: dict[str, Any], definition: dict[str, Any]) -> bool:
    return {key: value for key, value in existing.items() if key != "created"} == definition


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "created"}
