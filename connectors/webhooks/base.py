"""What every webhook source does with a request: read it within its size cap, check its
signature, make it an event, drop redeliveries, publish, and answer only once Kafka has it.

A sender that gets a 2xx may forget the delivery, so the answer waits for Kafka's
acknowledgement (acks=all); a failed write is answered 503, which senders retry. A delivery
whose id was already published is answered 200 and not published again. The event's id is
derived from the delivery id, so even two workers racing on the same redelivery write the
same event id, which consumers can de-duplicate on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from aiohttp import web

from connectors.definitions import Field
from connectors.http import BodyTooLarge, read_capped
from connectors.metrics import RECORDS_IN, RECORDS_OUT, REJECTED
from connectors.plugin import Connector, Environment, missing_bus
from connectors.webhooks.signatures import SignatureRejected
from streams.envelope import MAX_EVENT_BYTES, InvalidEnvelope, encode_json, new_event

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Delivery:
    """What a verified request says: the event's parts and the id redeliveries share."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    delivery_id: str | None


class Refused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class WebhookConnector(Connector):
    CONFIG: ClassVar[tuple[Field, ...]] = (
        Field("bus", "STRING", "Event bus the events go to.", required=True),
        Field("webhook.secret", "PASSWORD", "Shared secret the sender signs requests with.", required=True),
        Field("webhook.max.bytes", "INT", "Largest request body accepted; larger ones get 413.",
              default=MAX_EVENT_BYTES, check=lambda v: None if 0 < v <= 16 * 1024 * 1024 else
              "Value must be between 1 and 16777216"),
    )

    @classmethod
    def check(cls, values: Mapping[str, Any], env: Environment) -> Sequence[tuple[str, str]]:
        return missing_bus(values, env)

    def __init__(self, name: str, values: dict[str, Any], env: Environment) -> None:
        super().__init__(name, values, env)
        self.secret: str = values["webhook.secret"]
        self._in_flight: dict[str, asyncio.Future[str]] = {}

    def delivery(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> Delivery:
        """The verified request as an event's parts; SignatureRejected when it may not pass."""
        raise NotImplementedError

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        raise NotImplementedError

    async def handle(self, request: web.Request) -> web.Response:
        RECORDS_IN.labels(self.name).inc()
        try:
            body = await self._read(request)
            try:
                self.verify(request.headers, body, time.time())
            except SignatureRejected as exc:
                raise Refused(401, exc.reason, exc.message) from None
            delivery = self.delivery(request.headers, body, _payload(body))
            event_id, duplicate = await self._publish_once(delivery)
        except Refused as exc:
            REJECTED.labels(self.name, exc.reason).inc()
            log.info("webhook %s refused a request (%s): %s", self.name, exc.reason, exc.message)
            return web.json_response({"error": exc.reason, "message": exc.message}, status=exc.status)
        if duplicate:
            REJECTED.labels(self.name, "duplicate").inc()
        return web.json_response({"id": event_id, "duplicate": duplicate}, status=200)

    async def _read(self, request: web.Request) -> bytes:
        try:
            return await read_capped(request, self.values["webhook.max.bytes"])
        except BodyTooLarge as exc:
            raise Refused(413, "oversized", str(exc)) from None

    async def _publish_once(self, delivery: Delivery) -> tuple[str, bool]:
        """(event id, whether it was a redelivery). Concurrent redeliveries on this worker wait
        for the first one's outcome instead of publishing beside it."""
        key = delivery.delivery_id
        if key is None:
            return await self._publish(delivery), False
        if self.env.seen_ids.seen(self.name, key):
            return self.event_id(key), True
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            event_id = await self._publish(delivery)
            await self.env.seen_ids.remember(self.name, key)
            future.set_result(event_id)
            return event_id, False
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not reported twice
            raise
        finally:
            del self._in_flight[key]

    def event_id(self, delivery_id: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"busbar-webhook:{self.name}:{delivery_id}"))

    async def _publish(self, delivery: Delivery) -> str:
        try:
            event = new_event(source=delivery.source, detail_type=delivery.detail_type, detail=delivery.detail,
                              account=self.env.account, region=self.env.region,
                              event_id=self.event_id(delivery.delivery_id) if delivery.delivery_id else None)
            value = encode_json(event)
        except InvalidEnvelope as exc:
            raise Refused(400, "invalid", f"the request does not make a valid event: {exc}") from None
        try:
            await self.env.publisher.send(self.env.topics.bus(self.values["bus"]), event["id"].encode(), value)
        except Exception as exc:
            raise Refused(503, "kafka", f"the event could not be written to Kafka ({exc}); retry later") from None
        RECORDS_OUT.labels(self.name).inc()
        return event["id"]


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(400, "invalid", "the request body is not JSON") from None
    if not isinstance(payload, dict):
        raise Refused(400, "invalid", "the request body is not a JSON object")
    return payload


def header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value else None
