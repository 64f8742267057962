"""TagResource, UntagResource, ListTagsForResource for event buses and rules.

Tags are stored in the resource's own record, so they go when the resource goes.
"""

from __future__ import annotations

from streams.api.errors import ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, merge_tags, require_bus, require_rule
from streams.arns import parse_bus_or_rule_arn
from streams.model import Record, bus_key, rule_key


def _resource(ctx: Context, arn: str) -> tuple[str, Record]:
    """(config key, record) of the bus or rule `arn` names; ResourceNotFound for another
    account's or region's ARN, which this server cannot hold."""
    try:
        _, bus, rule = parse_bus_or_rule_arn(arn)
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    if rule is None:
        if arn != ctx.bus_arn(bus):
            raise ResourceNotFoundException(f"Event bus {arn} does not exist.")
        return bus_key(bus), require_bus(ctx, bus)
    if arn != ctx.rule_arn(bus, rule):
        raise ResourceNotFoundException(f"Rule {arn} does not exist.")
    return rule_key(bus, rule), require_rule(ctx, bus, rule)


async def tag_resource(ctx: Context, params: Params) -> Response:
    async with ctx.write_lock:
        key, record = _resource(ctx, params["ResourceARN"])
        await ctx.write(key, {**record, "Tags": merge_tags(record.get("Tags", []), params["Tags"])})
    return {}


async def untag_resource(ctx: Context, params: Params) -> Response:
    removed = set(params["TagKeys"])
    async with ctx.write_lock:
        key, record = _resource(ctx, params["ResourceARN"])
        tags = [tag for tag in record.get("Tags", []) if tag["Key"] not in removed]
        if len(tags) != len(record.get("Tags", [])):
            await ctx.write(key, {**record, "Tags": tags})
    return {}


async def list_tags_for_resource(ctx: Context, params: Params) -> Response:
    _, record = _resource(ctx, params["ResourceARN"])
    return {"Tags": record.get("Tags", [])}
