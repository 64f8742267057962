"""PutRule, DescribeRule, DeleteRule, ListRules, EnableRule, DisableRule.

A rule record carries its targets (key `rule/<bus>/<name>`), so the router sees a rule and
its targets change together, never a rule half-updated.
"""

from __future__ import annotations

from streams.api.errors import LimitExceededException, ValidationException
from streams.api.operations.common import (
    Context,
    Params,
    Response,
    bus_name,
    compile_event_pattern,
    paginate,
    require_bus,
    require_rule,
    rule_view,
)
from streams.model import DEFAULT_BUS, RULE_FIELDS, Record, rule_key
from streams.schedules import InvalidScheduleExpression, parse_expression

STATES = ("ENABLED", "DISABLED")
# Stored from PutRule as given; omitted ones are cleared, as AWS's PutRule replaces the rule.
REPLACED_FIELDS = tuple(name for name in RULE_FIELDS if name != "State")


def check_schedule(expression: str) -> None:
    """Rules take rate(...) and cron(...) (at() is Scheduler's only); AWS's message, then why."""
    try:
        parse_expression(expression, allow_at=False)
    except InvalidScheduleExpression as exc:
        raise ValidationException(f"Parameter ScheduleExpression is not valid: {exc}") from None


async def put_rule(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    name = params["Name"]
    if not params.get("EventPattern") and not params.get("ScheduleExpression"):
        raise ValidationException("Parameter(s) EventPattern or ScheduleExpression must be specified.")
    if params.get("EventPattern"):
        compile_event_pattern(params["EventPattern"])
    if params.get("ScheduleExpression"):
        if bus != DEFAULT_BUS:
            raise ValidationException("ScheduleExpression is supported only on the default event bus.")
        check_schedule(params["ScheduleExpression"])
    state = params.get("State") or "ENABLED"
    if state not in STATES:
        raise ValidationException(f"State {state} is not supported by busbar (it has no CloudTrail events); "
                                  "use ENABLED or DISABLED.")
    async with ctx.write_lock:
        require_bus(ctx, bus)
        existing = ctx.model.rule(bus, name)
        if existing is None and len(ctx.model.rules(bus)) >= ctx.settings.max_rules_per_bus:
            raise LimitExceededException(
                f"The requested resource exceeds the maximum number allowed: event bus {bus} already has "
                f"{ctx.settings.max_rules_per_bus} rules."
            )
        record: Record = {
            "Name": name,
            "EventBusName": bus,
            "State": state,
            # AWS ignores Tags when PutRule updates a rule: TagResource changes them.
            "Tags": existing.get("Tags", []) if existing else params.get("Tags") or [],
            "Targets": existing.get("Targets", []) if existing else [],
        }
        record.update({field: params[field] for field in REPLACED_FIELDS if params.get(field)})
        await ctx.write(rule_key(bus, name), record)
    return {"RuleArn": ctx.rule_arn(bus, name)}


async def describe_rule(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    record = require_rule(ctx, bus, params["Name"])
    return {**rule_view(ctx, record), "CreatedBy": ctx.settings.account}


async def delete_rule(ctx: Context, params: Params) -> Response:
    """Deleting a rule that does not exist succeeds (AWS: "all calls will succeed"); a rule with
    targets cannot be deleted. Force only concerns rules managed by other AWS services, which
    busbar has none of, so it does not lift that."""
    bus = bus_name(ctx, params.get("EventBusName"))
    name = params["Name"]
    async with ctx.write_lock:
        require_bus(ctx, bus)
        record = ctx.model.rule(bus, name)
        if record is None:
            return {}
        if record.get("Targets"):
            raise ValidationException("Rule can't be deleted since it has targets.")
        await ctx.write(rule_key(bus, name), None)
    return {}


async def list_rules(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    require_bus(ctx, bus)
    prefix = params.get("NamePrefix") or ""
    rules = [rule for rule in ctx.model.rules(bus) if rule["Name"].startswith(prefix)]
    page, more = paginate(rules, lambda rule: rule["Name"], params)
    return {"Rules": [rule_view(ctx, rule) for rule in page], **more}


async def set_state(ctx: Context, params: Params, state: str) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    async with ctx.write_lock:
        record = require_rule(ctx, bus, params["Name"])
        if record.get("State") != state:
            await ctx.write(rule_key(bus, record["Name"]), {**record, "State": state})
    return {}


async def enable_rule(ctx: Context, params: Params) -> Response:
    return await set_state(ctx, params, "ENABLED")


async def disable_rule(ctx: Context, params: Params) -> Response:
    return await set_state(ctx, params, "DISABLED")
