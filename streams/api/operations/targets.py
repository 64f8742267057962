"""PutTargets, RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget.

Targets live inside their rule's record. PutTargets checks each target the way AWS does: a
target busbar cannot deliver to fails on its own in FailedEntries while the others are
stored, whereas a malformed input setting (Input, InputPath, InputTransformer) fails the
whole request with ValidationException.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from streams.api.errors import LimitExceededException, ValidationException
from streams.api.operations.common import (
    Context,
    Params,
    Response,
    bus_name,
    paginate,
    require_bus,
    require_rule,
)
from streams.arns import parse_target_arn
from streams.input_shaping import InvalidInputSpec, compile_input
from streams.input_shaping.http_parameters import DynamicParameters
from streams.model import rule_key

# A target as PutTargets receives and ListTargetsByRule returns it (the JSON the API speaks).
TargetSpec = dict[str, Any]


def _unique_ids(ids: list[str]) -> None:
    repeated = sorted(target_id for target_id, count in Counter(ids).items() if count > 1)
    if repeated:
        raise ValidationException(f"Target Id(s) {', '.join(repeated)} appear more than once in the request.")


def _target_error(ctx: Context, target: TargetSpec) -> tuple[str, str] | None:
    """(error code, why) busbar cannot deliver to this target (its ARN or its dead-letter ARN), or None.
    A function must exist when its target is put: unlike a topic, nothing else would create it."""
    arns = [("Arn", target["Arn"])]
    if (target.get("DeadLetterConfig") or {}).get("Arn"):
        arns.append(("DeadLetterConfig.Arn", target["DeadLetterConfig"]["Arn"]))
    for member, arn in arns:
        try:
            ref = parse_target_arn(arn)
        except ValueError as exc:  # UnsupportedTarget is a ValueError too
            return "ValidationException", f"{member}: {exc}"
        if ref.kind == "function" and ctx.model.function(ref.name) is None:
            return "ResourceNotFoundException", f"{member}: function {ref.name} does not exist"
    return None


async def put_targets(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    rule = params["Rule"]
    targets: list[TargetSpec] = params["Targets"]
    _unique_ids([target["Id"] for target in targets])
    failed: list[Response] = []
    accepted: list[TargetSpec] = []
    for target in targets:
        try:
            compile_input(target)
            DynamicParameters(target.get("HttpParameters") or {})
        except InvalidInputSpec as exc:
            raise ValidationException(f"Target {target['Id']} is not valid: {exc}") from None
        error = _target_error(ctx, target)
        if error is None:
            accepted.append(target)
        else:
            failed.append({"TargetId": target["Id"], "ErrorCode": error[0], "ErrorMessage": error[1]})
    async with ctx.write_lock:
        record = require_rule(ctx, bus, rule)
        by_id = {target["Id"]: target for target in record.get("Targets", [])}
        by_id.update({target["Id"]: target for target in accepted})
        limit = ctx.settings.max_targets_per_rule
        if len(by_id) > limit:
            raise LimitExceededException(
                f"The requested resource exceeds the maximum number allowed: a rule has at most {limit} targets."
            )
        if accepted:
            await ctx.write(rule_key(bus, rule), {**record, "Targets": list(by_id.values())})
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


async def remove_targets(ctx: Context, params: Params) -> Response:
    """Ids the rule does not have are no failure (the target is gone either way), as on AWS;
    FailedEntries stays for the contract's sake and is empty because writes are serialised."""
    bus = bus_name(ctx, params.get("EventBusName"))
    rule = params["Rule"]
    ids = set(params["Ids"])
    async with ctx.write_lock:
        record = require_rule(ctx, bus, rule)
        kept = [target for target in record.get("Targets", []) if target["Id"] not in ids]
        if len(kept) != len(record.get("Targets", [])):
            await ctx.write(rule_key(bus, rule), {**record, "Targets": kept})
    return {"FailedEntryCount": 0, "FailedEntries": []}


async def list_targets_by_rule(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    record = require_rule(ctx, bus, params["Rule"])
    targets = sorted(record.get("Targets", []), key=lambda target: target["Id"])
    page, more = paginate(targets, lambda target: target["Id"], params)
    return {"Targets": page, **more}


async def list_rule_names_by_target(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    require_bus(ctx, bus)
    arn = params["TargetArn"]
    names = [rule["Name"] for rule in ctx.model.rules(bus)
             if any(target["Arn"] == arn for target in rule.get("Targets", []))]
    page, more = paginate(names, lambda name: name, params)
    return {"RuleNames": page, **more}
