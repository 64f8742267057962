"""EventBridge Scheduler's API on the worker's web server, beside the events API.

boto3's `scheduler` client reaches it with the same endpoint URL as the events client. Requests
share the events API's server: its body limit, its credentials (signatures are checked for the
`scheduler` service name, as botocore signs them) and its wait for the configuration to load.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from streams.api import sigv4
from streams.api.errors import config_write_failed, refusal
from streams.api.operations import schedule_groups, schedules
from streams.api.operations.common import Context, Params, Response
from streams.api.restjson import SERVICE, decode_request, error_response, json_response, routes
from streams.config_store import ConfigStoreError
from streams.event_ids import new_id

if TYPE_CHECKING:
    from streams.api.server import ApiServer

OPERATIONS: dict[str, Callable[[Context, Params], Awaitable[Response]]] = {
    "CreateSchedule": schedules.create_schedule,
    "GetSchedule": schedules.get_schedule,
    "UpdateSchedule": schedules.update_schedule,
    "DeleteSchedule": schedules.delete_schedule,
    "ListSchedules": schedules.list_schedules,
    "CreateScheduleGroup": schedule_groups.create_schedule_group,
    "GetScheduleGroup": schedule_groups.get_schedule_group,
    "DeleteScheduleGroup": schedule_groups.delete_schedule_group,
    "ListScheduleGroups": schedule_groups.list_schedule_groups,
}


class SchedulerApi:
    def __init__(self, server: ApiServer) -> None:
        self.server = server

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for route in routes(list(OPERATIONS)):
            router.add_route(route.method, route.path, self._handler(route.operation))

    def _handler(self, operation: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await self.handle(operation, request)
        return handle

    async def handle(self, operation: str, request: web.Request) -> web.Response:
        request_id = new_id()
        server = self.server
        try:
            body = await server.read_body(request)
            if server.credentials is not None:
                sigv4.verify(request.method, request.rel_url.raw_path, request.rel_url.raw_query_string,
                             request.headers, body, server.credentials, region=server.ctx.settings.region,
                             service=SERVICE)
            params = decode_request(operation, request.match_info, request.query, body)
            await server.ready_or_refuse()
            result = await OPERATIONS[operation](server.ctx, params)
        except ConfigStoreError as exc:
            return error_response(refusal(config_write_failed(exc), operation, request_id), request_id)
        except Exception as exc:
            return error_response(refusal(exc, operation, request_id), request_id)
        return json_response(result, request_id)
