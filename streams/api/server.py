"""The EventBridge API's HTTP entry: AWS JSON 1.1 on `POST /` of the worker's web server or of an
API process (streams.api_process), and, through streams.api.scheduler, EventBridge Scheduler's
rest-json routes.

botocore sends every operation as `POST /` with `X-Amz-Target: AWSEvents.<Operation>` and a
JSON body, and reads errors from `__type`/`message`; speaking exactly that lets boto3 (and
the AWS CLI, Terraform, CDK) use busbar with nothing but an endpoint URL. The routes go on an
aiohttp router: the Faust app's own (beside /health and /metrics) or an API process's.

Every failure becomes an AWS-shaped error: an unexpected one is logged with its traceback and
answered as InternalException (500, which SDKs retry), never as an HTML 500 page.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import faust
import orjson
from aiohttp import web

from streams.api import sigv4
from streams.api.caller import CALLER_ACCOUNT
from streams.api.credentials import CredentialMap, load_credentials
from streams.api.dispatch import dispatch, operation_of
from streams.api.errors import (
    CONTENT_TYPE,
    ApiError,
    InternalException,
    RequestEntityTooLargeException,
    SerializationException,
    refusal,
)
from streams.api.operations.common import Context
from streams.api.operations.events import KafkaEventSink
from streams.api.scheduler import SchedulerApi
from streams.config_service import ConfigService
from streams.event_ids import new_id
from streams.settings import Settings
from streams.subsystem import Subsystem
from streams.topics import TopicNames

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
CHUNK_BYTES = 64 * 1024
# An oversized body is still read (and discarded) up to this multiple of the limit, so the
# client gets the 413 rather than a reset connection halfway through sending.
DRAIN_FACTOR = 16


class ApiServer(Subsystem):
    """Authenticates, parses and dispatches requests; owns the PutEvents producer."""

    def __init__(self, ctx: Context, credentials: CredentialMap | None, sink: KafkaEventSink,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.credentials = credentials
        self.sink = sink

    async def on_start(self) -> None:
        self.sink.start()

    async def on_stop(self) -> None:
        await super().on_stop()
        await asyncio.get_running_loop().run_in_executor(None, self.sink.stop)

    async def handle(self, request: web.Request) -> web.Response:
        request_id = new_id()
        operation = request.headers.get("X-Amz-Target", "?")
        try:
            body = await self.read_body(request)
            if self.credentials is not None:
                key_id = sigv4.verify(request.method, request.rel_url.raw_path, request.rel_url.raw_query_string,
                                      request.headers, body, self.credentials, region=self.ctx.settings.region)
                CALLER_ACCOUNT.set(self.credentials.accounts.get(key_id))
            operation = operation_of(request.headers.get("X-Amz-Target"))
            params = _parse(body)
            await self.ready_or_refuse()
            result = await dispatch(self.ctx, operation, params)
        except Exception as exc:
            return _error_response(refusal(exc, operation, request_id), request_id)
        return web.Response(body=orjson.dumps(result), status=200,
                            headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id})

    async def read_body(self, request: web.Request) -> bytes:
        limit = self.ctx.settings.max_request_bytes
        length = request.content_length
        if length is not None and length <= limit:  # the common case, in one read
            return await request.content.readexactly(length) if length else b""
        if (length or 0) > limit * DRAIN_FACTOR:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            size += len(chunk)
            if size > limit * DRAIN_FACTOR:
                break
            if size <= limit:
                chunks.append(chunk)
        if size > limit:
            raise _too_large(limit)
        return b"".join(chunks)

    async def ready_or_refuse(self) -> None:
        """Requests may arrive before the config is loaded; answering them from an empty model
        would report existing buses and rules as missing."""
        if self.is_ready:  # the common case, without wait_ready's task and timer per request
            return
        try:
            await self.wait_ready(READY_TIMEOUT_S)
        except TimeoutError:
            raise InternalException("The worker is still starting; retry shortly.") from None


def _too_large(limit: int) -> RequestEntityTooLargeException:
    return RequestEntityTooLargeException(f"The request body exceeds the limit of {limit} bytes "
                                          "(BUSBAR_MAX_REQUEST_BYTES).")


def _parse(body: bytes) -> object:
    if not body.strip():
        return {}  # operations without parameters may be sent with an empty body
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationException(_invalid_utf8(body) or f"The request body is not valid JSON: {exc}") from None


def _invalid_utf8(body: bytes) -> str | None:
    """Where the body stops being UTF-8, or None if it is UTF-8. orjson reports any such body as
    "surrogates not allowed", which misleads about a plain stray byte such as 0xff; only a
    body orjson already refused is decoded again, so valid requests pay nothing for this."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"The request body is not valid UTF-8: byte 0x{body[exc.start]:02x} at byte offset "
                f"{exc.start} ({exc.reason}).")
    return None


def _error_response(exc: ApiError, request_id: str) -> web.Response:
    status, headers, body = exc.to_response(request_id)
    return web.Response(body=body, status=status, headers=headers)


def build(settings: Settings, topics: TopicNames, config: ConfigService) -> ApiServer:
    """The API with its PutEvents producer and credentials; it requires the config service, and
    requests wait until that has started, so the first request already sees the whole configuration."""
    try:
        credentials = load_credentials(os.environ)
    except ValueError as exc:
        raise SystemExit(f"busbar: {exc}") from None
    sink = KafkaEventSink(settings.kafka_bootstrap, settings.write_timeout_s)
    return ApiServer(Context(settings, topics, config.store, sink), credentials, sink, requires=(config,))


def add_routes(router: web.UrlDispatcher, server: ApiServer) -> None:
    """The events API on `POST /` and EventBridge Scheduler's rest-json routes beside it."""
    router.add_post("/", server.handle)
    SchedulerApi(server).add_routes(router)


def install(app: faust.App, *, settings: Settings, topics: TopicNames, config: ConfigService) -> ApiServer:
    """The worker's API, served on the app's web server unless BUSBAR_WORKER_API=0 (API processes,
    `busbar api`, serve it instead); the server exists either way: connectors write with its producer."""
    server = build(settings, topics, config)
    if settings.worker_api:
        add_routes(app.web.web_app.router, server)
    return server
