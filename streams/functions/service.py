"""The functions Subsystem: a Faust agent per function consumes its topic and invokes its handler.

The router puts each event a rule sends to a function on the function's topic
(`<prefix>.function.<name>`) as a delivery record and moves on, so a slow handler never slows
routing. Every worker runs an agent per function in one consumer group (Faust's), so a
function's invocations are shared by the workers that hold its topic's partitions.

An agent takes events from its topic as they come and starts an invocation for each while the
function has a free slot (MaxConcurrency, per worker); when it has none, the agent waits (a
throttle, counted) and so reads no further on that topic. An event's offset is acknowledged to
Faust only once its invocation is settled (succeeded, parked for a retry or dead-lettered), and
Faust commits only offsets below which all are settled: a worker killed mid-invocation runs
those events again elsewhere (at least once, as Lambda does).

Agents are made when a function first appears and are never removed while the worker runs: an
agent whose function was deleted dead-letters what is left on its topic with that reason. A
worker starting also takes up the topics of functions deleted before it started, for the same
reason.

Faust subscribes to a new agent's topic in its own time: it waits 45 s after a change, to
gather changes made together, and forgets a change made while its group rebalances. It checks
for a rebalance before that wait, not after: a subscription changed during a rebalance crashed
the worker (its table recovery found no assignment). So Faust subscribes at once (no wait),
when no rebalance is under way, and a watch asks it again every WATCH_S while a function's
topic is not yet in its subscription: changes made together are still taken in one rebalance,
as the next ones wait for the current rebalance to end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import faust
import orjson
from confluent_kafka.admin import AdminClient

from streams.arns import bus_arn, function_arn
from streams.config_service import ConfigService
from streams.delivery.letters import Headers
from streams.envelope import InvalidEnvelope
from streams.function_definition import destination_bus
from streams.functions.catalog import Catalog, Function
from streams.functions.context import LambdaContext
from streams.functions.destinations import destination_event, invocation_record
from streams.functions.invocation import Result, invoke
from streams.functions.retries import Retries
from streams.jobs import Job, now_ms
from streams.metrics import (
    FUNCTION_DEAD_LETTERS,
    FUNCTION_DURATION,
    FUNCTION_ERRORS,
    FUNCTION_INVOCATIONS,
    FUNCTION_THROTTLES,
)
from streams.model import Change
from streams.settings import Settings
from streams.subsystem import Subsystem
from streams.topics import TopicNames

log = logging.getLogger(__name__)

IMPORT_ERROR = "Runtime.ImportModuleError"  # Lambda's errorType for a handler it cannot import
WATCH_S = 1.0


class FunctionService(Subsystem):
    def __init__(self, app: faust.App, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self._app = app
        self._settings = settings
        self._config = config
        self._topics = TopicNames(settings.topic_prefix)
        self._catalog = Catalog()
        self._agents: dict[str, faust.types.AgentT] = {}
        self._changes: asyncio.Queue[Change] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        # By (topic, partition, offset): Faust reads a kept partition again from its committed
        # offset after each rebalance, so an event being invoked here may come in a second time.
        self._running: dict[tuple[str, int, int], asyncio.Task[None]] = {}
        self._retries = Retries(settings, self._send)
        app.topics._resubscribe_sleep_lock_seconds = 0.0

    async def on_start(self) -> None:
        loop = asyncio.get_running_loop()
        self._config.subscribe(lambda change: loop.call_soon_threadsafe(self._changes.put_nowait, change))
        self.add_future(self._follow())
        self.add_future(self._keep_subscribed())

    async def on_stop(self) -> None:
        await super().on_stop()
        for task in list(self._tasks):  # unacknowledged: their events are invoked again after a restart
            task.cancel()

    async def _follow(self) -> None:
        """Apply config changes; agents are added once Faust runs its own (it must start them first).
        The configuration as it stands is applied before any agent reads, so that no event of a
        function that exists is taken for one of a deleted function."""
        await self._app.agents.wait_until_agents_started()
        while not self._changes.empty():
            await self._apply(self._changes.get_nowait())
        for name in await asyncio.get_running_loop().run_in_executor(None, self._existing_function_topics):
            await self._ensure_agent(name)
        while not self.should_stop:
            await self._apply(await self._changes.get())

    async def _apply(self, change: Change) -> None:
        try:
            name = await self._catalog.apply(change)
            if name is not None:
                await self._ensure_agent(name)
        except Exception:  # one function's trouble must not keep the others from their agents
            log.exception("functions: applying %s failed", change.key)

    async def _keep_subscribed(self) -> None:
        conductor = self._app.topics
        while not self.should_stop:
            await asyncio.sleep(WATCH_S)
            subscribed = conductor._topic_name_index  # a defaultdict: an empty entry is no subscription
            if not self._app.rebalancing and not all(subscribed.get(self._topics.function(name))
                                                     for name in self._agents):
                conductor._flag_changes()

    def _existing_function_topics(self) -> list[str]:
        admin = AdminClient({"bootstrap.servers": self._settings.kafka_bootstrap, "log_level": 0})
        topics = admin.list_topics(timeout=30).topics
        return sorted(name for topic in topics if (name := self._topics.function_of(topic)))

    async def _ensure_agent(self, name: str) -> None:
        if name in self._agents:
            return
        topic = self._app.topic(self._topics.function(name), key_serializer="raw", value_serializer="raw")

        async def consume(stream: faust.StreamT) -> None:
            await self._consume(name, stream)

        agent = self._app.agent(topic, name=f"{self._settings.app_id}.function.{name}")(consume)
        self._agents[name] = agent
        await agent.maybe_start()
        log.info("functions: agent for %s started on topic %s", name, topic.get_topic_name())

    async def _consume(self, name: str, stream: faust.StreamT) -> None:
        manual = stream.noack()
        async for event in manual.events():
            message = event.message
            offset = (message.topic, message.partition, message.offset)
            running = self._running.get(offset)
            if running is not None:  # read again after a rebalance while it is still invoked here
                self._track(self._ack_after(running, event, manual))
                continue
            function = self._catalog.get(name)
            slots = function.slots if function is not None else None
            if slots is not None:
                if slots.locked():
                    FUNCTION_THROTTLES.labels(name).inc()
                await slots.acquire()
            task = self._track(self._settle(name, slots, event, manual))
            self._running[offset] = task
            task.add_done_callback(lambda _, offset=offset: self._running.pop(offset, None))

    def _track(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _ack_after(running: asyncio.Task[None], event: faust.EventT, stream: faust.StreamT) -> None:
        """Acknowledge an event read again once its first reading is settled: one invocation for
        both, rather than a second one holding another slot beside it."""
        await asyncio.wait([running])
        if not running.cancelled():
            await stream.ack(event)

    async def _settle(self, name: str, slots: asyncio.Semaphore | None, event: faust.EventT,
                      stream: faust.StreamT) -> None:
        try:
            # Looked up once it has a slot: the function may have changed or gone while it waited.
            await self._handle(name, self._catalog.get(name), event.message.value, event.message.timestamp)
        except asyncio.CancelledError:
            raise
        except Exception:  # never leave an event unacknowledged for good: log it; its offset moves on
            log.exception("functions: invocation of %s failed unexpectedly", name)
        finally:
            if slots is not None:
                slots.release()
        await stream.ack(event)

    async def _handle(self, name: str, function: Function | None, value: bytes, timestamp_s: float) -> None:
        try:
            job = Job.decode(value, int(timestamp_s * 1000))
        except ValueError as exc:
            await self._send(self._topics.dlq("default"), value, None, [("busbar-error", str(exc).encode())])
            return
        if function is None:
            await self._give_up(name, job, f"function {name} does not exist (deleted while its events were "
                                           "in flight)")
            return
        request = _event_of(job.payload)
        if now_ms() - job.timestamp_ms > job.max_age_ms:
            reason = f"{job.record.get('last_error', 'not invoked')} (older than MaximumEventAgeInSeconds)"
            await self._fail(function, job, reason, "EventAgeExceeded", request, {"errorMessage": reason})
            return
        context = LambdaContext(function_name=name, invoked_function_arn=str(job.target.get("Arn", "")),
                                memory_limit_in_mb=function.definition.memory_mb,
                                timeout_s=function.definition.timeout_s)
        result = await self._invoke(function, request, context)
        job.attempted(None if result.ok else result.reason)
        if result.ok:
            if function.definition.on_success:
                await self._publish(function, function.definition.on_success, job, context.aws_request_id,
                                     "Success", request, result.value)
            return
        given_up = await self._retries.park_or_why_not(job, result.reason)
        if given_up is not None:
            await self._fail(function, job, given_up, "RetriesExhausted", request,
                             result.error_payload(context.aws_request_id), context.aws_request_id)

    async def _invoke(self, function: Function, request: Any, context: LambdaContext) -> Result:
        definition = function.definition
        FUNCTION_INVOCATIONS.labels(definition.name).inc()
        if function.handler is None:
            await function.load()  # the module may be there now (installed since)
        if function.handler is None:
            result = Result(False, error_type=IMPORT_ERROR, error_message=function.problem)
        else:
            result = await invoke(function.handler, request, context, definition.timeout_s, {
                **definition.environment, **_lambda_variables(function, self._settings.region)})
            FUNCTION_DURATION.labels(definition.name).observe(result.seconds)
        if not result.ok:
            FUNCTION_ERRORS.labels(definition.name, result.error_type).inc()
            log.warning("function %s: invocation %s failed: %s", definition.name, context.aws_request_id,
                        result.reason)
        return result

    async def _give_up(self, name: str, job: Job, reason: str) -> None:
        log.warning("function %s (rule %s/%s): given up after %d attempt(s): %s", name, job.record.get("bus"),
                    job.record.get("rule"), job.attempts, reason)
        FUNCTION_DEAD_LETTERS.labels(name).inc()
        await self._retries.dead_letter(job, reason)

    async def _fail(self, function: Function, job: Job, reason: str, condition: str, request: Any, response: Any,
                    request_id: str = "") -> None:
        """Give the job up, and tell the function's OnFailure bus (`condition` as Lambda names it)."""
        await self._give_up(function.definition.name, job, reason)
        if function.definition.on_failure:
            await self._publish(function, function.definition.on_failure, job, request_id, condition, request,
                                response, failed=True)

    async def _publish(self, function: Function, destination: str, job: Job, request_id: str, condition: str,
                       request: Any, response: Any, *, failed: bool = False) -> None:
        settings = self._settings
        bus = destination_bus(destination)
        arn = function_arn(settings.region, settings.account, function.definition.name)
        record = invocation_record(function_arn=arn, request_id=request_id, condition=condition,
                                   attempts=job.attempts, request=request, response=response, failed=failed)
        try:
            event_id, data = destination_event(record, bus_arn=bus_arn(settings.region, settings.account, bus),
                                               function_arn=arn, account=settings.account, region=settings.region)
        except InvalidEnvelope as exc:
            log.error("function %s: its %s destination event cannot be sent: %s", function.definition.name,
                      condition, exc)
            return
        await self._send(self._topics.bus(bus), data, event_id.encode(), [])

    async def _send(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        await self._app.producer.send_and_wait(topic, key, value, None, None, headers)


def _event_of(payload: bytes) -> Any:
    """What the handler gets: the JSON the target's input is, decoded (text that is not JSON as it is)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return payload.decode("utf-8", "replace")


def _lambda_variables(function: Function, region: str) -> dict[str, str]:
    """The variables Lambda's runtime sets for every function."""
    definition = function.definition
    return {"AWS_LAMBDA_FUNCTION_NAME": definition.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(definition.memory_mb), "AWS_REGION": region,
            "_HANDLER": definition.handler}
