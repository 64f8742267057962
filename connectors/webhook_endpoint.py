"""`POST /webhooks/{name}`: where a webhook connector named N receives its requests.

Any worker answers for any webhook connector (every worker holds every connector), so the
senders can be pointed at a load balancer in front of all of them.
"""

from __future__ import annotations

from aiohttp import web

from connectors.metrics import REJECTED
from connectors.runtime import ConnectorRuntime
from connectors.webhooks.base import WebhookConnector

READY_TIMEOUT_S = 30.0
PAUSED_RETRY_AFTER_S = 60


class WebhookEndpoint:
    def __init__(self, runtime: ConnectorRuntime) -> None:
        self.runtime = runtime

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/webhooks/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            await self.runtime.wait_ready(READY_TIMEOUT_S)
        except TimeoutError:
            return web.json_response({"error": "starting", "message": "the worker is starting"}, status=503)
        inst = self.runtime.instance(name)
        if inst is None or (inst.connector is not None and not isinstance(inst.connector, WebhookConnector)):
            return web.json_response({"error": "not_found", "message": f"no webhook connector {name}"}, status=404)
        if inst.connector is None:
            return web.json_response({"error": "failed", "message": f"connector {name} cannot run: {inst.error}"},
                                     status=503)
        if inst.paused:
            REJECTED.labels(name, "paused").inc()
            return web.json_response({"error": "paused", "message": f"connector {name} is paused"}, status=503,
                                     headers={"Retry-After": str(PAUSED_RETRY_AFTER_S)})
        return await inst.connector.handle(request)
