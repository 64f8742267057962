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
from collections import deque
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.api.errors import ApiError, ValidationException
from streams.api.operations.common import Context, Params, Response, bus_name
from streams.api.operations.permissions import put_events_denial
from streams.envelope import MAX_EVENT_BYTES, InvalidEnvelope, new_event_record
from streams.kafka_writes import bounded_producer, never_stored

log = logging.getLogger(__name__)

TIME_ENTRY_BYTES = 14  # what AWS counts for an entry's Time when sizing a request
SIZED_MEMBERS = ("Source", "DetailType", "Detail")  # the strings that count, with Resources
# envelope field -> the PutEvents member it came from, for per-entry messages
ENTRY_MEMBERS = {"source": "Source", "detail-type": "DetailType", "detail": "Detail", "resources": "Resources",
                 "time": "Time"}
POLL_S = 0.1
# After the producer's own deadline, how long the request waits for its delivery reports.
REPORT_GRACE_S = 2.0
SWEEP_S = 0.25  # how often requests past their deadline are looked for


class EntryError(Exception):
    """One entry's failure: reported in its result slot, never failing the call."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Outcome = BaseException | None  # None: Kafka acknowledged the record


class _Pending:
    """The records of one request: their outcomes, filled in by the producer's delivery reports
    (on the poll thread; on the event loop for a record refused before sending); complete when
    none is missing, and then queued on `done` for the poll thread to hand to the loop."""

    __slots__ = ("future", "outcomes", "missing", "done", "lock")

    def __init__(self, future: asyncio.Future[None], count: int, done: deque[_Pending]) -> None:
        self.future, self.outcomes, self.missing, self.done = future, [None] * count, count, done
        self.lock = threading.Lock()

    def report(self, index: int, err: KafkaError | None, _msg: Message | None = None) -> None:
        if err is not None:
            self.outcomes[index] = KafkaException(err)
        with self.lock:
            self.missing -= 1
            complete = self.missing == 0
        if complete:
            self.done.append(self)


class KafkaEventSink:
    """A confluent-kafka producer whose delivery reports settle whole requests.

    produce() only queues, so it runs on the event loop; a thread serves delivery reports
    (poll). A report only fills in its request's outcome; the poll thread then wakes the event
    loop once for every request completed in that poll, not once per record: waking the loop
    per record was a fifth of the worker's time under PutEvents load.
    """

    def __init__(self, bootstrap: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._producer = Producer({
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",  # the Java client's, so an event id lands where Java would put it
            "acks": "all",
            "enable.idempotence": True,
            # Records wait up to 10 ms to share a produce request: fewer, fuller requests cost
            # librdkafka's broker thread and the broker less CPU, which on a small machine is
            # the API's own; measured on 2 cores against 2 ms: a third more entries/s, lower p99.
            "linger.ms": 10,
            **bounded_producer(timeout_s),  # no longer than the request waits
            "log_level": 3,
        })
        self._completed: deque[_Pending] = deque()
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()  # (give up at, request)
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="busbar-api-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a worker that failed to start stops what it had not started
            self._thread.join(5)
        self._producer.flush(5)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(POLL_S)
            if self._completed and self._loop is not None:
                completed = [self._completed.popleft() for _ in range(len(self._completed))]
                # RuntimeError: the loop has closed (worker shutdown), so nobody awaits these any more.
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(_resolve, completed)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """One record; raises what Kafka answered if it was not acknowledged."""
        (outcome,) = await self.send_all([(topic, key, value)])
        if outcome is not None:
            raise outcome

    async def send_all(self, records: list[tuple[str, bytes, bytes]]) -> list[Outcome]:
        """Produce (topic, key, value) records; each one's outcome once Kafka has answered for all,
        or TimeoutError for those it has not answered within the timeout (and its grace).

        One produce_batch per topic rather than a produce per record: produce holds the
        interpreter lock while librdkafka queues the record, and per call that was the largest
        single share of an API process's time under PutEvents load."""
        loop = self._loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), len(records), self._completed)
        batches: dict[str, list[dict[str, Any]]] = {}
        for index, (topic, key, value) in enumerate(records):
            batches.setdefault(topic, []).append({"key": key, "value": value, "callback": partial(pending.report, index)})
        give_up = loop.time() + self.timeout_s
        for topic, messages in batches.items():
            while messages:
                messages = self._produce(topic, messages)
                if messages:  # local queue full: the poll thread is draining it
                    if loop.time() >= give_up:
                        for message in messages:
                            message["callback"](KafkaError(KafkaError._QUEUE_FULL))
                        break
                    await asyncio.sleep(POLL_S)
        if pending.missing:
            self._wait_at_most(loop, pending.future)
            await pending.future
        return [TimeoutError("no delivery report") if pending.missing and outcome is None else outcome
                for outcome in pending.outcomes]

    def _wait_at_most(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        """Until the producer's deadline and its grace: one sweep timer for all requests rather
        than a timer (or asyncio.wait_for's waiter and callbacks) each. Every request waits as
        long, so the queue is in deadline order."""
        self._waiting.append((loop.time() + self.timeout_s + REPORT_GRACE_S, future))
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now, waiting = loop.time(), self._waiting
        while waiting and (waiting[0][1].done() or waiting[0][0] <= now):
            _stop_waiting(waiting.popleft()[1])
        self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop) if waiting else None

    def _produce(self, topic: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Queues the messages; those refused before sending (too large, ...) are reported at
        once, and those the full local queue refused are returned, to be tried again."""
        try:
            if self._producer.produce_batch(topic, messages) == len(messages):
                return []
        except KafkaException as exc:  # the whole batch refused (an invalid topic name, ...)
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else KafkaError(
                KafkaError._INVALID_ARG)
            for message in messages:
                message["callback"](error)
            return []
        again = []
        for message in messages:
            error = message.pop("_error", None)
            if error is None:
                continue
            if error.code() == KafkaError._QUEUE_FULL:
                again.append(message)
            else:
                message["callback"](error)
        return again


def _stop_waiting(future: asyncio.Future[None]) -> None:
    """The request stops waiting; the records still missing are reported as timed out."""
    if not future.done():
        future.set_result(None)


def _resolve(completed: list[_Pending]) -> None:
    for pending in completed:
        if not pending.future.done():  # the request gave up waiting meanwhile
            pending.future.set_result(None)


def entry_size(entry: dict[str, Any]) -> int:
    """AWS's PutEvents entry size: Time counts 14 bytes, the strings their UTF-8 length."""
    size = TIME_ENTRY_BYTES if entry.get("Time") is not None else 0
    for member in SIZED_MEMBERS:
        text = entry.get(member)
        if text:
            size += len(text) if text.isascii() else len(text.encode())
    resources = entry.get("Resources")
    if resources:
        size += sum(len(text) if text.isascii() else len(text.encode()) for text in resources)
    return size


class _Buses:
    """The bus topic each EventBusName of one request writes to, or why its entries fail:
    resolved (and the caller's permission checked) once per name, since a request's entries
    mostly name one bus."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.known: dict[str | None, str | EntryError] = {}

    def topic(self, name: str | None) -> str:
        found = self.known.get(name)
        if found is None:
            try:
                found = self.ctx.topics.bus(self._writable(name))
            except EntryError as exc:
                found = exc
            self.known[name] = found
        if isinstance(found, EntryError):
            raise EntryError(found.code, found.message)
        return found

    def _writable(self, name: str | None) -> str:
        ctx = self.ctx
        try:
            bus = bus_name(ctx, name)
        except ApiError as exc:
            raise EntryError("InvalidArgument", exc.message) from None
        record = ctx.model.bus(bus)
        if record is None:
            raise EntryError("InvalidArgument", f"Event bus {bus} does not exist.")
        denial = put_events_denial(ctx, bus, record)
        if denial is not None:
            raise EntryError("AccessDeniedException", denial)
        return bus


def build_event(ctx: Context, entry: dict[str, Any], buses: _Buses) -> tuple[str, str, bytes]:
    """(bus topic, event id, the envelope's JSON) for one entry, or EntryError with AWS's code
    for the entry."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            raise EntryError("InvalidArgument", f"Parameter {member} is not valid. Reason: {member} is a required argument.")
    try:
        detail = orjson.loads(entry["Detail"])
    except orjson.JSONDecodeError:
        raise EntryError("MalformedDetail", "Detail is malformed.") from None
    if not isinstance(detail, dict):
        raise EntryError("MalformedDetail", "Detail is malformed: it must be a JSON object.")
    topic = buses.topic(entry.get("EventBusName"))
    time = None
    if entry.get("Time") is not None:
        try:
            time = datetime.fromtimestamp(entry["Time"], UTC)
        except (OverflowError, OSError, ValueError):
            raise EntryError("InvalidArgument", "Parameter Time is not valid. Reason: out of range.") from None
    try:
        event, data = new_event_record(source=entry["Source"], detail_type=entry["DetailType"], detail=detail,
                                       resources=entry.get("Resources"), time=time,
                                       account=ctx.settings.account, region=ctx.settings.region)
    except InvalidEnvelope as exc:
        member = ENTRY_MEMBERS.get(exc.field or "", "Entry")
        raise EntryError("InvalidArgument", f"Parameter {member} is not valid. Reason: {exc}") from None
    return topic, event["id"], data


async def put_events(ctx: Context, params: Params) -> Response:
    entries = params["Entries"]
    if sum(entry_size(entry) for entry in entries) > MAX_EVENT_BYTES:
        raise ValidationException(
            f"Total size of the entries in the request is over the limit ({MAX_EVENT_BYTES} bytes)."
        )
    results: list[Response] = []
    sent: list[int] = []  # indexes of the entries sent, in records' order
    records: list[tuple[str, bytes, bytes]] = []
    buses = _Buses(ctx)
    for index, entry in enumerate(entries):
        try:
            topic, event_id, data = build_event(ctx, entry, buses)
        except EntryError as exc:
            results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
            continue
        results.append({"EventId": event_id})
        sent.append(index)
        records.append((topic, event_id.encode(), data))
    if records:
        for index, outcome in zip(sent, await ctx.events.send_all(records), strict=True):
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
