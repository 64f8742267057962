"""Operation name -> handler, and the checks every operation gets before its handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from streams.api.errors import SerializationException, UnknownOperationException, config_write_failed
from streams.api.operations import (
    api_destinations,
    archives,
    buses,
    connections,
    correlations,
    events,
    functions,
    permissions,
    replays,
    rules,
    tags,
    targets,
    test_pattern,
)
from streams.api.operations.common import Context, Params, Response
from streams.api.validation import validate
from streams.config_store import ConfigStoreError

TARGET_PREFIX = "AWSEvents."
BUSBAR_PREFIX = "Busbar."

Handler = Callable[[Context, Params], Awaitable[Response]]

OPERATIONS: dict[str, Handler] = {
    "PutEvents": events.put_events,
    "PutRule": rules.put_rule,
    "DescribeRule": rules.describe_rule,
    "DeleteRule": rules.delete_rule,
    "ListRules": rules.list_rules,
    "EnableRule": rules.enable_rule,
    "DisableRule": rules.disable_rule,
    "PutTargets": targets.put_targets,
    "RemoveTargets": targets.remove_targets,
    "ListTargetsByRule": targets.list_targets_by_rule,
    "ListRuleNamesByTarget": targets.list_rule_names_by_target,
    "CreateEventBus": buses.create_event_bus,
    "DescribeEventBus": buses.describe_event_bus,
    "DeleteEventBus": buses.delete_event_bus,
    "ListEventBuses": buses.list_event_buses,
    "PutPermission": permissions.put_permission,
    "RemovePermission": permissions.remove_permission,
    "TestEventPattern": test_pattern.test_event_pattern,
    "CreateConnection": connections.create_connection,
    "DescribeConnection": connections.describe_connection,
    "UpdateConnection": connections.update_connection,
    "DeleteConnection": connections.delete_connection,
    "ListConnections": connections.list_connections,
    "DeauthorizeConnection": connections.deauthorize_connection,
    "CreateApiDestination": api_destinations.create_api_destination,
    "DescribeApiDestination": api_destinations.describe_api_destination,
    "UpdateApiDestination": api_destinations.update_api_destination,
    "DeleteApiDestination": api_destinations.delete_api_destination,
    "ListApiDestinations": api_destinations.list_api_destinations,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    "CreateArchive": archives.create_archive,
    "DescribeArchive": archives.describe_archive,
    "ListArchives": archives.list_archives,
    "UpdateArchive": archives.update_archive,
    "DeleteArchive": archives.delete_archive,
    "StartReplay": replays.start_replay,
    "DescribeReplay": replays.describe_replay,
    "CancelReplay": replays.cancel_replay,
    "ListReplays": replays.list_replays,
}

# busbar's own operations (no EventBridge equivalent), named `Busbar.<Operation>`; botocore's
# model does not know them, so their handlers check their input themselves.
BUSBAR_OPERATIONS: dict[str, Handler] = {
    "Busbar.PutCorrelation": correlations.put_correlation,
    "Busbar.DescribeCorrelation": correlations.describe_correlation,
    "Busbar.ListCorrelations": correlations.list_correlations,
    "Busbar.DeleteCorrelation": correlations.delete_correlation,
    "Busbar.PutFunction": functions.put_function,
    "Busbar.GetFunction": functions.get_function,
    "Busbar.ListFunctions": functions.list_functions,
    "Busbar.DeleteFunction": functions.delete_function,
}


def operation_of(target: str | None) -> str:
    """The operation an X-Amz-Target header names; UnknownOperationException otherwise."""
    if not target:
        raise UnknownOperationException("Missing X-Amz-Target header: expected AWSEvents.<Operation>.")
    if target in BUSBAR_OPERATIONS:
        return target
    service, _, operation = target.partition(".")
    if f"{service}." != TARGET_PREFIX or operation not in OPERATIONS:
        raise UnknownOperationException(f"Operation {target} is not supported by busbar.")
    return operation


async def dispatch(ctx: Context, operation: str, params: object) -> Response:
    try:
        if operation in BUSBAR_OPERATIONS:
            if not isinstance(params, dict):
                raise SerializationException("the request body must be a JSON object")
            return await BUSBAR_OPERATIONS[operation](ctx, params)
        return await OPERATIONS[operation](ctx, validate(operation, params))
    except ConfigStoreError as exc:
        raise config_write_failed(exc) from exc
