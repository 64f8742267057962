"""One invocation of a handler: `handler(event, context)` with the function's environment, bounded by its timeout.

An `async def` handler is awaited on the worker's event loop and cancelled when its time is up;
the invocation ends then, even if the handler catches the cancellation and runs on.
Any other handler runs in a thread of its own, so a blocking handler never blocks the loop;
when its time is up busbar stops waiting and the invocation fails, but Python cannot stop a
thread, so the handler's code runs on until it returns and its result is discarded. A new
thread per invocation (not a pool) means such a runaway never holds up later invocations.
A handler that returns an awaitable (a sync function wrapping a coroutine) has it awaited too.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.function_environ import function_variables
from streams.functions.context import LambdaContext

TIMEOUT_ERROR = "Sandbox.Timedout"  # what Lambda reports as the errorType of a timed-out invocation


@dataclass
class Result:
    """What the handler returned, or what went wrong (Lambda's error payload: errorType, errorMessage)."""

    ok: bool
    value: Any = None
    error_type: str = ""
    error_message: str = ""
    stack_trace: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def timed_out(self) -> bool:
        return self.error_type == TIMEOUT_ERROR

    @property
    def reason(self) -> str:
        return f"{self.error_type}: {self.error_message}"

    def error_payload(self, request_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"errorMessage": self.error_message, "errorType": self.error_type,
                                   "requestId": request_id}
        if self.stack_trace:
            payload["stackTrace"] = self.stack_trace
        return payload


async def invoke(handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext, timeout_s: float,
                 variables: Mapping[str, str]) -> Result:
    started = time.monotonic()
    with function_variables(variables):  # the task and the thread below copy this context
        task = asyncio.ensure_future(_run(handler, event, context))
    try:
        await asyncio.wait([task], timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        # Not waited for once cancelled (asyncio.wait_for would): an async handler that catches
        # the cancellation and goes on must not keep the invocation, and so its slot, for good.
        task.cancel()
        task.add_done_callback(_forget)
        return Result(False, error_type=TIMEOUT_ERROR, seconds=time.monotonic() - started,
                      error_message=f"Task timed out after {timeout_s:.2f} seconds")
    try:
        value = task.result()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # the handler's own failure, whatever it is (sys.exit too)
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        return Result(False, error_type=type(exc).__name__, error_message=str(exc),
                      stack_trace=frames, seconds=time.monotonic() - started)
    return Result(True, value=value, seconds=time.monotonic() - started)


def _forget(task: asyncio.Task[Any]) -> None:
    """What a timed-out invocation ends with, if it ever ends, is nobody's any more."""
    if not task.cancelled():
        task.exception()


async def _run(handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext) -> Any:
    if inspect.iscoroutinefunction(handler):
        return await handler(event, context)
    value = await _in_thread(lambda: handler(event, context), context.function_name)
    if inspect.isawaitable(value):
        value = await value
    return value


def _in_thread(call: Callable[[], Any], name: str) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(outcome: Any, failed: bool) -> None:
        if future.done():  # timed out meanwhile: nobody waits for it any more
            return
        if failed:
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome, failed = context.run(call), False
        except BaseException as exc:  # handed to the waiting invocation, which reports it
            outcome, failed = exc, True
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle, outcome, failed)

    threading.Thread(target=run, name=f"busbar-function-{name}", daemon=True).start()
    return future
