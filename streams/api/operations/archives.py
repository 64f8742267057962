"""CreateArchive, DescribeArchive, ListArchives, UpdateArchive, DeleteArchive.

An archive is a config record (`archive/<name>`) plus a Kafka topic (`<prefix>.archive.<name>`)
whose retention is the archive's RetentionDays. The router compiles each archive as one more
rule of its bus with the archive topic as its one target, so every event of the bus that the
archive's pattern matches (every event, without a pattern) is kept there. The topic is created
before the record is written, so an archive any worker can see can always take events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from streams.api.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from streams.api.operations.common import (
    Context,
    Params,
    Response,
    bus_name,
    compile_event_pattern,
    now,
    paginate,
    require_bus,
)
from streams.archive_stats import archive_sizes
from streams.arns import archive_arn
from streams.model import Record, archive_key
from streams.topics import alter_topic, delete_topic, ensure_topics, retention_config

MAX_TOPIC_NAME = 249  # Kafka's limit on topic names
# Stored from Create/UpdateArchive when given and shown by DescribeArchive; busbar does not
# encrypt with KMS, the key is kept so declarative tools see no drift.
SETTINGS = ("Description", "EventPattern", "KmsKeyIdentifier")
# What ListArchives shows of each (DescribeArchive shows the whole record).
LISTED = ("ArchiveName", "EventSourceArn", "State", "StateReason", "RetentionDays", "SizeBytes", "EventCount",
          "CreationTime")


def archive_arn_of(ctx: Context, name: str) -> str:
    return archive_arn(ctx.settings.region, ctx.settings.account, name)


def require_archive(ctx: Context, name: str) -> Record:
    record = ctx.model.archive(name)
    if record is None:
        raise ResourceNotFoundException(f"Archive {name} does not exist.")
    return record


def exclusive_filters(params: Params, *names: str) -> None:
    """AWS's list calls take at most one of their filters ("Filter parameters are exclusive")."""
    given = [name for name in names if params.get(name) is not None]
    if len(given) > 1:
        raise ValidationException(f"Filter parameters are exclusive: give only one of {', '.join(given)}.")


async def _admin(ctx: Context, call: Callable[..., Any], *args: Any) -> Any:
    """A blocking Kafka admin call, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, call, ctx.settings.kafka_bootstrap, *args)


async def _sizes(ctx: Context, names: list[str]) -> dict[str, tuple[int, int]]:
    by_topic = await _admin(ctx, archive_sizes, [ctx.topics.archive(name) for name in names])
    return {name: by_topic[ctx.topics.archive(name)] for name in names}


def _view(ctx: Context, record: Record, sizes: tuple[int, int]) -> Response:
    view = {"ArchiveArn": archive_arn_of(ctx, record["ArchiveName"]), "State": "ENABLED", **record}
    view.pop("EventBusName")
    view["EventCount"], view["SizeBytes"] = sizes
    return view


def _retention(params: Params) -> int:
    return params.get("RetentionDays") or 0


async def create_archive(ctx: Context, params: Params) -> Response:
    name = params["ArchiveName"]
    bus = bus_name(ctx, params["EventSourceArn"])
    require_bus(ctx, bus)
    if params.get("EventPattern"):
        compile_event_pattern(params["EventPattern"])
    topic = ctx.topics.archive(name)
    if len(topic) > MAX_TOPIC_NAME:
        raise ValidationException(f"Archive name {name} is too long: its Kafka topic {topic} would exceed "
                                  f"{MAX_TOPIC_NAME} characters.")
    if ctx.model.archive(name) is not None:
        raise ResourceAlreadyExistsException(f"Archive {name} already exists.")
    retention = retention_config(_retention(params))
    settings = ctx.settings
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: ensure_topics(settings.kafka_bootstrap, {topic: retention}, partitions=settings.partitions,
                                    replication=settings.replication))
    await _admin(ctx, alter_topic, topic, retention)  # a topic left by an earlier archive of this name
    async with ctx.write_lock:
        if ctx.model.archive(name) is not None:  # created by a concurrent request meanwhile
            raise ResourceAlreadyExistsException(f"Archive {name} already exists.")
        record: Record = {"ArchiveName": name, "EventSourceArn": ctx.bus_arn(bus), "EventBusName": bus,
                          "RetentionDays": _retention(params), "CreationTime": now()}
        record.update({field: params[field] for field in SETTINGS if params.get(field)})
        await ctx.write(archive_key(name), record)
    return {"ArchiveArn": archive_arn_of(ctx, name), "State": "ENABLED", "CreationTime": record["CreationTime"]}


async def describe_archive(ctx: Context, params: Params) -> Response:
    record = require_archive(ctx, params["ArchiveName"])
    return _view(ctx, record, (await _sizes(ctx, [record["ArchiveName"]]))[record["ArchiveName"]])


async def list_archives(ctx: Context, params: Params) -> Response:
    exclusive_filters(params, "NamePrefix", "EventSourceArn", "State")
    archives = ctx.model.archives()
    if params.get("NamePrefix"):
        archives = [a for a in archives if a["ArchiveName"].startswith(params["NamePrefix"])]
    if params.get("EventSourceArn"):
        bus = require_bus(ctx, bus_name(ctx, params["EventSourceArn"]))["Name"]  # AWS: unknown bus, not []
        archives = [a for a in archives if a["EventBusName"] == bus]
    if params.get("State"):
        archives = [a for a in archives if params["State"] == "ENABLED"]  # busbar's archives are all enabled
    page, more = paginate(archives, lambda a: a["ArchiveName"], params)
    sizes = await _sizes(ctx, [a["ArchiveName"] for a in page])
    listed = [_view(ctx, a, sizes[a["ArchiveName"]]) for a in page]
    return {"Archives": [{k: v for k, v in view.items() if k in LISTED} for view in listed], **more}


async def update_archive(ctx: Context, params: Params) -> Response:
    """Omitted settings keep their values; a new RetentionDays becomes the topic's retention."""
    name = params["ArchiveName"]
    if params.get("EventPattern"):
        compile_event_pattern(params["EventPattern"])
    async with ctx.write_lock:
        record = dict(require_archive(ctx, name))
        record.update({field: params[field] for field in SETTINGS if params.get(field) is not None})
        if params.get("RetentionDays") is not None and params["RetentionDays"] != record.get("RetentionDays"):
            await _admin(ctx, alter_topic, ctx.topics.archive(name), retention_config(params["RetentionDays"]))
            record["RetentionDays"] = params["RetentionDays"]
        await ctx.write(archive_key(name), record)
    return {"ArchiveArn": archive_arn_of(ctx, name), "State": "ENABLED", "CreationTime": record["CreationTime"]}


async def delete_archive(ctx: Context, params: Params) -> Response:
    """The record goes first (the router stops archiving), then the topic and its events."""
    name = params["ArchiveName"]
    async with ctx.write_lock:
        require_archive(ctx, name)
        await ctx.write(archive_key(name), None)
    await _admin(ctx, delete_topic, ctx.topics.archive(name))
    return {}
