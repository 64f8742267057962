"""CreateEventBus, DescribeEventBus, DeleteEventBus, ListEventBuses.

A bus is a config record plus two Kafka topics (`<prefix>.bus.<name>` for its events and
`<prefix>.dlq.<name>` for those the router cannot read). The topics are created before the
record is written, so a bus that any worker can see can always take events.
"""

from __future__ import annotations

import asyncio

from streams.api.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, bus_name, now, paginate, require_bus
from streams.model import DEFAULT_BUS, Record, bus_key
from streams.topics import DEAD_LETTER_TOPIC_CONFIG, ensure_topics

MAX_TOPIC_NAME = 249  # Kafka's limit on topic names
# Stored and echoed so declarative tools see no drift; busbar itself does not act on them.
ECHOED_FIELDS = ("Description", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig")


def bus_view(ctx: Context, record: Record) -> Response:
    view = {"Name": record["Name"], "Arn": ctx.bus_arn(record["Name"])}
    view.update({name: record[name] for name in (*ECHOED_FIELDS, "Policy", "CreationTime", "LastModifiedTime")
                 if name in record})
    return view


async def create_event_bus(ctx: Context, params: Params) -> Response:
    name = params["Name"]
    if params.get("EventSourceName"):
        raise ResourceNotFoundException(
            f"Event source {params['EventSourceName']} does not exist: busbar has no partner event sources."
        )
    if "/" in name:
        raise ValidationException("Event bus name must not contain '/'.")
    topics = {ctx.topics.bus(name): {}, ctx.topics.dlq(name): DEAD_LETTER_TOPIC_CONFIG}
    longest = max(topics, key=len)
    if len(longest) > MAX_TOPIC_NAME:
        raise ValidationException(
            f"Event bus name {name} is too long: its Kafka topic {longest} would exceed {MAX_TOPIC_NAME} characters."
        )
    if ctx.model.bus(name) is not None:
        raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
    settings = ctx.settings
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: ensure_topics(settings.kafka_bootstrap, topics, partitions=settings.partitions,
                                    replication=settings.replication)
    )
    async with ctx.write_lock:
        if ctx.model.bus(name) is not None:  # created by a concurrent request meanwhile
            raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
        created = now()
        record: Record = {"Name": name, "CreationTime": created, "LastModifiedTime": created,
                          "Tags": params.get("Tags") or []}
        record.update({field: params[field] for field in ECHOED_FIELDS if params.get(field) is not None})
        await ctx.write(bus_key(name), record)
    view = bus_view(ctx, record)
    response = {"EventBusArn": view["Arn"]}
    response.update({field: view[field] for field in ECHOED_FIELDS if field in view})
    return response


async def describe_event_bus(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("Name"))
    return bus_view(ctx, require_bus(ctx, bus))


async def delete_event_bus(ctx: Context, params: Params) -> Response:
    """Deleting a bus that does not exist succeeds, as on AWS. A bus with rules is refused with
    AWS's words (tools that retry a deletion match on them), and so is a bus with archives: on AWS
    an archive is a managed rule of its bus, which counts as a rule here, and busbar would
    otherwise leave archives that no bus feeds. The bus's topics stay: they hold events that
    consumers may still need, and Kafka retention ages them out."""
    name = params["Name"]
    if name == DEFAULT_BUS:
        raise ValidationException("Cannot delete event bus default.")
    async with ctx.write_lock:
        if ctx.model.bus(name) is None:
            return {}
        rules = ctx.model.rules(name)
        archives = sorted(a["ArchiveName"] for a in ctx.model.archives() if a["EventBusName"] == name)
        held = ([f"{len(rules)} rule(s)"] if rules else []) + ([f"archive(s) {', '.join(archives)}"] if archives else [])
        if held:
            raise ValidationException(f"EventBus can't be deleted since it has rules: {name} still has "
                                      f"{' and '.join(held)}; delete them before the event bus.")
        await ctx.write(bus_key(name), None)
    return {}


async def list_event_buses(ctx: Context, params: Params) -> Response:
    prefix = params.get("NamePrefix") or ""
    names = [name for name in ctx.model.bus_names() if name.startswith(prefix)]
    page, more = paginate(names, lambda name: name, params)
    return {"EventBuses": [bus_view(ctx, ctx.model.bus(name) or {"Name": name}) for name in page], **more}
