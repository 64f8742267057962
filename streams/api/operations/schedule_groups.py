"""CreateScheduleGroup, GetScheduleGroup, DeleteScheduleGroup, ListScheduleGroups (EventBridge Scheduler).

A group is a config record (`schedule-group/<name>`); the `default` group always exists, as on
AWS. Deleting a group deletes its schedules in the same config write, schedules first, so no
worker ever sees schedules of a group that is gone.
"""

from __future__ import annotations

from streams.api.errors import ApiError, ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, now, paginate
from streams.arns import schedule_group_arn
from streams.model import DEFAULT_SCHEDULE_GROUP, Record, schedule_group_key, schedule_key

ACTIVE = "ACTIVE"


def conflict(message: str) -> ApiError:
    """Scheduler's code for something that already exists; the events API has no such code, so
    it is no ApiError subclass (whose statuses follow the events API's JSON 1.1 rules)."""
    return ApiError(message, code="ConflictException", status=409)


def require_schedule_group(ctx: Context, group: str) -> Record:
    record = ctx.model.schedule_group(group)
    if record is None:
        raise ResourceNotFoundException(f"Schedule group {group} does not exist.")
    return record


def group_view(ctx: Context, record: Record) -> Response:
    view = {"Arn": schedule_group_arn(ctx.settings.region, ctx.settings.account, record["Name"]),
            "Name": record["Name"], "State": ACTIVE}
    view.update({name: record[name] for name in ("CreationDate", "LastModificationDate") if name in record})
    return view


async def create_schedule_group(ctx: Context, params: Params) -> Response:
    name = params["Name"]
    async with ctx.write_lock:
        if ctx.model.schedule_group(name) is not None:
            raise conflict(f"Schedule group {name} already exists.")
        created = now()
        await ctx.store.awrite(schedule_group_key(name), {
            "Name": name, "CreationDate": created, "LastModificationDate": created, "Tags": params.get("Tags") or []})
    return {"ScheduleGroupArn": schedule_group_arn(ctx.settings.region, ctx.settings.account, name)}


async def get_schedule_group(ctx: Context, params: Params) -> Response:
    return group_view(ctx, require_schedule_group(ctx, params["Name"]))


async def delete_schedule_group(ctx: Context, params: Params) -> Response:
    name = params["Name"]
    if name == DEFAULT_SCHEDULE_GROUP:
        raise ValidationException("The default schedule group cannot be deleted.")
    async with ctx.write_lock:
        require_schedule_group(ctx, name)
        deletions: dict[str, Record | None] = {
            schedule_key(name, schedule["Name"]): None for schedule in ctx.model.schedules(name)}
        deletions[schedule_group_key(name)] = None
        await ctx.store.awrite_many(deletions)
    return {}


async def list_schedule_groups(ctx: Context, params: Params) -> Response:
    prefix = params.get("NamePrefix") or ""
    groups = [group for group in ctx.model.schedule_groups() if group["Name"].startswith(prefix)]
    page, more = paginate(groups, lambda group: group["Name"], {"Limit": params.get("MaxResults"),
                                                               "NextToken": params.get("NextToken")})
    return {"ScheduleGroups": [group_view(ctx, group) for group in page], **more}
