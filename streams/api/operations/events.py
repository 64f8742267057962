"""PutEvents, and the Kafka producer it writes bus topics with.

Each entry becomes an EventBridge envelope on `<prefix>.bus.<bus>` (key = event id). Entries
fail one by one with AWS's per-entry codes while the others land, and the call answers only
once Kafka has acknowledged every accepted event (acks=all), so an EventId without an
ErrorCode means the event is durably on the bus.

A write Kafka has not confirmed within the write timeout may still be in the log (the broker
can store a record and fail to answer in time), so such an entry does not claim "not stored":
it says the outcome is unknown and keeps its EventId, the id that event carries if it was
stored, so a client that retries (and so stores a second copy under a new id) can recognise
the first. The producer gives up at the same deadline the request waits for, below clients'
read timeout, so the request learns every outcome Kafka can still give it.

One deliberate difference: AWS accepts events for a bus that does not exist and drops them
(aws/aws-sdk#186); busbar fails that entry with InvalidArgument instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.api.errors import ApiError, ValidationException
from streams.api.operations.common import Context, Params, Response, bus_name
from streams.api.operations.permissions import put_events_denial
from streams.envelope import MAX_EVENT_BYTES, InvalidEnvelope, encode_json, new_event
from streams.kafka_writes import bounded_producer, never_stored

log = logging.getLogger(__name__)

TIME_ENTRY_BYTES = 14  # what AWS counts for an entry's Time when sizing a request
# envelope field -> the PutEvents member it came from, for per-entry messages
ENTRY_MEMBERS = {"source": "Source", "detail-type": "DetailType", "detail": "Detail", "resources": "Resources",
                 "time": "Time"}
POLL_S = 0.1
# After the producer's own deadline, how long the request waits for its delivery reports.
REPORT_GRACE_S = 2.0


class EntryError(Exception):
    """One entry's failure: reported in its result slot, never failing the call."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class KafkaEventSink:
    """A confluent-kafka producer whose deliveries resolve asyncio futures.

    produce() only queues, so it can run on the event loop; a thread serves delivery reports
    (poll) so that awaiting an acknowledgement never blocks the loop.
    """

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._producer = Producer({
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",  # the Java client's, so an event id lands where Java would put it
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 2,
            **bounded_producer(timeout_s),  # no longer than the request waits
            "log_level": 3,
        })
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="busbar-api-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._producer.flush(5)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(POLL_S)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(err: KafkaError | None, _msg: Message) -> None:
            # RuntimeError: the loop has closed (worker shutdown), so nobody awaits this any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, err)

        give_up = loop.time() + self.timeout_s
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=settle)
                break
            except BufferError:  # local queue full: the poll thread is draining it
                if loop.time() >= give_up:
                    raise KafkaException(KafkaError(KafkaError._QUEUE_FULL)) from None
                await asyncio.sleep(POLL_S)
        await future


def _settle(future: asyncio.Future[None], err: KafkaError | None) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(KafkaException(err))


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's PutEvents entry size: Time counts 14 bytes, the strings their UTF-8 length."""
    size = TIME_ENTRY_BYTES if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        size += len((entry.get(member) or "").encode())
    return size + sum(len(resource.encode()) for resource in entry.get("Resources") or [])


def build_event(ctx: Context, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(bus, envelope) for one entry, or EntryError with AWS's code for the entry."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            raise EntryError("InvalidArgument", f"Parameter {member} is not valid. Reason: {member} is a required argument.")
    try:
        detail = orjson.loads(entry["Detail"])
    except orjson.JSONDecodeError:
        raise EntryError("MalformedDetail", "Detail is malformed.") from None
    if not isinstance(detail, dict):
        raise EntryError("MalformedDetail", "Detail is malformed: it must be a JSON object.")
    try:
        bus = bus_name(ctx, entry.get("EventBusName"))
    except ApiError as exc:
        raise EntryError("InvalidArgument", exc.message) from None
    record = ctx.model.bus(bus)
    if record is None:
        raise EntryError("InvalidArgument", f"Event bus {bus} does not exist.")
    denial = put_events_denial(ctx, bus, record)
    if denial is not None:
        raise EntryError("AccessDeniedException", denial)
    time = None
    if entry.get("Time") is not None:
        try:
            time = datetime.fromtimestamp(entry["Time"], UTC)
        except (OverflowError, OSError, ValueError):
            raise EntryError("InvalidArgument", "Parameter Time is not valid. Reason: out of range.") from None
    try:
        event = new_event(source=entry["Source"], detail_type=entry["DetailType"], detail=detail,
                          resources=entry.get("Resources"), time=time,
                          account=ctx.settings.account, region=ctx.settings.region)
    except InvalidEnvelope as exc:
        member = ENTRY_MEMBERS.get(exc.field or "", "Entry")
        raise EntryError("InvalidArgument", f"Parameter {member} is not valid. Reason: {exc}") from None
    return bus, event


async def put_events(ctx: Context, params: Params) -> Response:
    entries = params["Entries"]
    if sum(entry_size(entry) for entry in entries) > MAX_EVENT_BYTES:
        raise ValidationException(
            f"Total size of the entries in the request is over the limit ({MAX_EVENT_BYTES} bytes)."
        )
    results: list[Response] = []
    sends: dict[int, asyncio.Task[None]] = {}
    for index, entry in enumerate(entries):
        try:
            bus, event = build_event(ctx, entry)
        except EntryError as exc:
            results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
            continue
        results.append({"EventId": event["id"]})
        sends[index] = asyncio.ensure_future(
            ctx.events.send(ctx.topics.bus(bus), event["id"].encode(), encode_json(event))
        )
    if sends:
        await asyncio.wait(sends.values(), timeout=ctx.events.timeout_s + REPORT_GRACE_S)
    for index, send in sends.items():
        if not send.done():
            send.cancel()  # its report, if it ever comes, finds nobody waiting
            outcome: BaseException | None = TimeoutError("no delivery report")
        else:
            outcome = send.exception()
        if outcome is not None:
            event_id = results[index]["EventId"]
            log.error("PutEvents: event %s not acknowledged by Kafka: %s", event_id, outcome)
            results[index] = failed_entry(event_id, outcome, ctx.events.timeout_s)
    return {"FailedEntryCount": sum(1 for result in results if "ErrorCode" in result), "Entries": results}


def failed_entry(event_id: str, outcome: BaseException, timeout_s: float) -> Response:
    """The entry's answer for a write Kafka did not confirm: "not stored" only when that is certain."""
    error = outcome.args[0] if isinstance(outcome, KafkaException) and outcome.args else None
    if isinstance(error, KafkaError) and never_stored(error):
        return {"ErrorCode": "InternalFailure", "ErrorMessage": f"The event was not stored: {error.str()}"}
    reason = error.str() if isinstance(error, KafkaError) else str(outcome)
    return {
        "EventId": event_id,
        "ErrorCode": "InternalFailure",
        "ErrorMessage": (
            f"The event may or may not have been stored: Kafka did not confirm it within {timeout_s:g} s "
            f"({reason}). Retrying can store it twice, under a new EventId; if this attempt was stored, "
            f"it is the event with EventId {event_id}."
        ),
    }
