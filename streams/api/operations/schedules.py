"""CreateSchedule, GetSchedule, UpdateSchedule, DeleteSchedule, ListSchedules (EventBridge Scheduler).

A schedule is a config record (`schedule/<group>/<name>`) holding the request's settings as
GetSchedule shows them, so every worker's firing service reads it from the config topic like
any other configuration. What the model cannot check is checked here: the expression and its
time zone by streams.schedules, the flexible window's mode against its size, and the target
(and dead-letter) ARN by the mapping rules use, so a schedule is stored only if busbar can fire
it. UpdateSchedule replaces every setting, as on AWS: omitted optional ones return to defaults.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.api.errors import ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, now, paginate
from streams.api.operations.schedule_groups import conflict, require_schedule_group
from streams.arns import parse_target_arn, schedule_arn
from streams.model import DEFAULT_SCHEDULE_GROUP, Record, schedule_key
from streams.schedules import InvalidScheduleExpression, InvalidTimeZone, parse_expression, zone

# Settings stored from Create/UpdateSchedule when given, and shown by GetSchedule.
SETTINGS = ("ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "EndDate", "Description", "State",
            "KmsKeyArn", "Target", "FlexibleTimeWindow", "ActionAfterCompletion")
DEFAULTS = {"State": "ENABLED", "ActionAfterCompletion": "NONE"}
TIMESTAMPS = ("CreationDate", "LastModificationDate")


def _arn(ctx: Context, group: str, name: str) -> str:
    return schedule_arn(ctx.settings.region, ctx.settings.account, group, name)


def _group(params: Params) -> str:
    return params.get("GroupName") or DEFAULT_SCHEDULE_GROUP


def _settings(params: Params) -> Record:
    """The request's settings, checked, with defaults filled in."""
    try:
        parse_expression(params["ScheduleExpression"])
        if params.get("ScheduleExpressionTimezone"):
            zone(params["ScheduleExpressionTimezone"])
    except (InvalidScheduleExpression, InvalidTimeZone) as exc:
        raise ValidationException(str(exc)) from None
    if params.get("StartDate") is not None and params.get("EndDate") is not None \
            and params["EndDate"] <= params["StartDate"]:
        raise ValidationException("EndDate must be later than StartDate.")
    _check_window(params["FlexibleTimeWindow"])
    _check_target(params["Target"])
    return {**DEFAULTS, **{name: params[name] for name in SETTINGS if params.get(name) is not None}}


def _check_window(window: dict[str, Any]) -> None:
    size = window.get("MaximumWindowInMinutes")
    if window["Mode"] == "FLEXIBLE" and size is None:
        raise ValidationException("FlexibleTimeWindow.MaximumWindowInMinutes is required when Mode is FLEXIBLE.")
    if window["Mode"] == "OFF" and size is not None:
        raise ValidationException("FlexibleTimeWindow.MaximumWindowInMinutes must not be set when Mode is OFF.")


def _check_target(target: dict[str, Any]) -> None:
    arns = {"Target.Arn": target["Arn"], "Target.DeadLetterConfig.Arn": (target.get("DeadLetterConfig") or {}).get("Arn")}
    refs = {}
    for member, arn in arns.items():
        if arn is None:
            continue
        try:
            refs[member] = parse_target_arn(arn)
        except ValueError as exc:  # UnsupportedTarget is a ValueError too
            raise ValidationException(f"{member}: {exc}") from None
    if refs["Target.Arn"].kind == "function":
        raise ValidationException(f"Target.Arn: '{target['Arn']}': schedules cannot invoke functions yet "
                                  "(a rule with a schedule expression can)")
    if refs["Target.Arn"].kind == "bus" and target.get("Input") is not None:
        try:
            orjson.loads(target["Input"])
        except orjson.JSONDecodeError:
            raise ValidationException("Target.Input must be well-formed JSON for an event bus target.") from None


def _require_schedule(ctx: Context, group: str, name: str) -> Record:
    require_schedule_group(ctx, group)
    record = ctx.model.schedule(group, name)
    if record is None:
        raise ResourceNotFoundException(f"Schedule {name} does not exist.")
    return record


async def create_schedule(ctx: Context, params: Params) -> Response:
    """A retry carrying the ClientToken of the call that created the schedule succeeds again
    (botocore sends one token per call, retries included) instead of failing with a conflict."""
    group, name = _group(params), params["Name"]
    settings = _settings(params)
    token = params.get("ClientToken")
    async with ctx.write_lock:
        require_schedule_group(ctx, group)
        existing = ctx.model.schedule(group, name)
        if existing is not None:
            if token is not None and existing.get("ClientToken") == token:
                return {"ScheduleArn": _arn(ctx, group, name)}
            raise conflict(f"Schedule {name} already exists.")
        created = now()
        record: Record = {"Name": name, "GroupName": group, **settings, "CreationDate": created,
                          "LastModificationDate": created}
        if token is not None:
            record["ClientToken"] = token
        await ctx.store.awrite(schedule_key(group, name), record)
    return {"ScheduleArn": _arn(ctx, group, name)}


async def update_schedule(ctx: Context, params: Params) -> Response:
    group, name = _group(params), params["Name"]
    settings = _settings(params)
    async with ctx.write_lock:
        existing = _require_schedule(ctx, group, name)
        record: Record = {"Name": name, "GroupName": group, **settings, "CreationDate": existing["CreationDate"],
                          "LastModificationDate": now()}
        await ctx.store.awrite(schedule_key(group, name), record)
    return {"ScheduleArn": _arn(ctx, group, name)}


async def get_schedule(ctx: Context, params: Params) -> Response:
    group, name = _group(params), params["Name"]
    record = _require_schedule(ctx, group, name)
    view = {"Arn": _arn(ctx, group, name), "Name": name, "GroupName": group}
    view.update({field: record[field] for field in (*SETTINGS, *TIMESTAMPS) if field in record})
    return view


async def delete_schedule(ctx: Context, params: Params) -> Response:
    group, name = _group(params), params["Name"]
    async with ctx.write_lock:
        _require_schedule(ctx, group, name)
        await ctx.store.awrite(schedule_key(group, name), None)
    return {}


async def list_schedules(ctx: Context, params: Params) -> Response:
    group = params.get("GroupName")
    if group is not None:
        require_schedule_group(ctx, group)
    prefix, state = params.get("NamePrefix") or "", params.get("State")
    schedules = [schedule for schedule in ctx.model.schedules(group)
                 if schedule["Name"].startswith(prefix) and (state is None or schedule["State"] == state)]
    page, more = paginate(schedules, lambda schedule: f"{schedule['GroupName']}/{schedule['Name']}",
                          {"Limit": params.get("MaxResults"), "NextToken": params.get("NextToken")})
    return {"Schedules": [_summary(ctx, schedule) for schedule in page], **more}


def _summary(ctx: Context, record: Record) -> Response:
    summary = {"Arn": _arn(ctx, record["GroupName"], record["Name"]), "Name": record["Name"],
               "GroupName": record["GroupName"], "State": record["State"], "Target": {"Arn": record["Target"]["Arn"]}}
    summary.update({field: record[field] for field in TIMESTAMPS if field in record})
    return summary
