"""StartReplay, DescribeReplay, CancelReplay, ListReplays.

A replay is two config records: `replay/<name>`, the request as StartReplay stored it (and
CancelReplay marked it), written only here; and `replay-progress/<name>`, written only by the
worker running it (streams/replay/). StartReplay also puts the name on the replays topic,
where one worker claims it. What a replay shows is the two read together, so any worker
answers DescribeReplay with the running worker's latest progress.

DescribeReplay also answers `EventsReplayed`, `EventsTotal` and `Worker` (the API address of the
worker running it), busbar's own members: boto3 drops them (they are not in EventBridge's model),
`busbar replays describe` draws its progress bar from them.
"""

from __future__ import annotations

import asyncio

from streams.api.errors import (
    IllegalStatusException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    ValidationException,
)
from streams.api.operations.archives import exclusive_filters, require_archive
from streams.api.operations.common import Context, Params, Response, bus_name, now, paginate
from streams.arns import archive_arn, parse_archive_arn, parse_bus_or_rule_arn, replay_arn
from streams.model import Record, replay_key
from streams.topics import ensure_topics

RUNNING = ("STARTING", "RUNNING")
# From the request, as DescribeReplay shows it.
REQUEST_FIELDS = ("ReplayName", "Description", "EventSourceArn", "Destination", "EventStartTime", "EventEndTime",
                  "ReplayStartTime")
PROGRESS_FIELDS = ("StateReason", "EventLastReplayedTime", "ReplayEndTime", "EventsReplayed", "EventsTotal",
                   "Worker")
LISTED = ("ReplayName", "EventSourceArn", "State", "StateReason", "EventStartTime", "EventEndTime",
          "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime")


def require_replay(ctx: Context, name: str) -> Record:
    record = ctx.model.replay(name)
    if record is None:
        raise ResourceNotFoundException(f"Replay {name} does not exist.")
    return record


def replay_state(request: Record, progress: Record | None) -> str:
    """The running worker's state, except that a cancel it has not acted on yet shows as CANCELLING."""
    state = (progress or {}).get("State", "STARTING")
    return "CANCELLING" if request.get("Cancelled") and state in RUNNING else state


def _view(ctx: Context, request: Record) -> Response:
    progress = ctx.model.replay_progress(request["ReplayName"]) or {}
    view = {"ReplayArn": replay_arn(ctx.settings.region, ctx.settings.account, request["ReplayName"]),
            "State": replay_state(request, progress)}
    view.update({name: request[name] for name in REQUEST_FIELDS if name in request})
    view.update({name: progress[name] for name in PROGRESS_FIELDS if name in progress})
    return view


def _archive_of(ctx: Context, arn: str) -> Record:
    try:
        name = parse_archive_arn(arn)
    except ValueError as exc:
        raise ValidationException(f"Parameter EventSourceArn is not valid. Reason: {exc}") from None
    if arn != archive_arn(ctx.settings.region, ctx.settings.account, name):
        raise ResourceNotFoundException(f"Archive {arn} does not exist.")  # another account's or region's
    return require_archive(ctx, name)


def _rules_of(ctx: Context, bus: str, arns: list[str]) -> None:
    """FilterArns must name existing rules of the destination bus."""
    for arn in arns:
        try:
            kind, rule_bus, rule = parse_bus_or_rule_arn(arn)
        except ValueError as exc:
            raise ValidationException(f"Parameter Destination.FilterArns is not valid. Reason: {exc}") from None
        if kind != "rule" or rule_bus != bus or arn != ctx.rule_arn(bus, rule or ""):
            raise ValidationException(f"Parameter Destination.FilterArns is not valid. Reason: {arn} is not a rule "
                                      f"of the destination event bus {bus}.")
        if ctx.model.rule(bus, rule or "") is None:
            raise ResourceNotFoundException(f"Rule {rule} does not exist on EventBus {bus}.")


async def start_replay(ctx: Context, params: Params) -> Response:
    name = params["ReplayName"]
    if ctx.model.replay(name) is not None:
        raise ResourceAlreadyExistsException(f"Replay {name} already exists.")
    archive = _archive_of(ctx, params["EventSourceArn"])
    if params["EventEndTime"] <= params["EventStartTime"]:
        raise ValidationException("Parameter EventStartTime is not valid. Reason: EventStartTime must be before "
                                  "EventEndTime.")
    destination = params["Destination"]
    bus = bus_name(ctx, destination["Arn"])
    if bus != archive["EventBusName"]:
        raise ValidationException("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                                  f"permitted: the archive {archive['ArchiveName']} keeps events of {bus}.")
    _rules_of(ctx, bus, destination.get("FilterArns") or [])
    settings = ctx.settings
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: ensure_topics(settings.kafka_bootstrap, {ctx.topics.replay(bus): {}},
                                    partitions=settings.partitions, replication=settings.replication))
    async with ctx.write_lock:
        if ctx.model.replay(name) is not None:  # started by a concurrent request meanwhile
            raise ResourceAlreadyExistsException(f"Replay {name} already exists.")
        record: Record = {"ReplayName": name, "EventSourceArn": params["EventSourceArn"],
                          "ArchiveName": archive["ArchiveName"], "EventBusName": bus, "Destination": destination,
                          "EventStartTime": params["EventStartTime"], "EventEndTime": params["EventEndTime"],
                          "ReplayStartTime": now()}
        if params.get("Description"):
            record["Description"] = params["Description"]
        await ctx.write(replay_key(name), record)
    # After the record, so the worker that claims the request finds the replay stored.
    await ctx.events.send(ctx.topics.replays, name.encode(), name.encode())
    return {"ReplayArn": replay_arn(settings.region, settings.account, name), "State": "STARTING",
            "ReplayStartTime": record["ReplayStartTime"]}


async def describe_replay(ctx: Context, params: Params) -> Response:
    return _view(ctx, require_replay(ctx, params["ReplayName"]))


async def cancel_replay(ctx: Context, params: Params) -> Response:
    name = params["ReplayName"]
    async with ctx.write_lock:
        request = require_replay(ctx, name)
        state = replay_state(request, ctx.model.replay_progress(name))
        if state not in RUNNING:
            raise IllegalStatusException(f"Replay {name} is {state}: only a STARTING or RUNNING replay can be "
                                         "cancelled.")
        await ctx.write(replay_key(name), {**request, "Cancelled": True})
    return {"ReplayArn": replay_arn(ctx.settings.region, ctx.settings.account, name), "State": "CANCELLING"}


async def list_replays(ctx: Context, params: Params) -> Response:
    exclusive_filters(params, "NamePrefix", "State", "EventSourceArn")
    views = [_view(ctx, request) for request in ctx.model.replays()]
    if params.get("NamePrefix"):
        views = [v for v in views if v["ReplayName"].startswith(params["NamePrefix"])]
    if params.get("State"):
        views = [v for v in views if v["State"] == params["State"]]
    if params.get("EventSourceArn"):
        views = [v for v in views if v["EventSourceArn"] == params["EventSourceArn"]]
    page, more = paginate(views, lambda v: v["ReplayName"], params)
    return {"Replays": [{k: v for k, v in view.items() if k in LISTED} for view in page], **more}
