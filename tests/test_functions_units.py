"""The functions' pure parts, without a broker: declarations, Lambda ARNs, handler imports, the
per-function environment, one invocation (real handlers on a real event loop), destination records."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import orjson
import pytest

from streams.arns import TargetRef, parse_target_arn
from streams.function_definition import InvalidFunction, destination_bus, handler_parts, parse_function
from streams.function_environ import function_variables
from streams.functions.context import LambdaContext
from streams.functions.destinations import FAILURE, SUCCESS, destination_event, invocation_record
from streams.functions.invocation import invoke
from streams.handler_import import HandlerUnavailable, import_handler


def test_lambda_arns_with_and_without_qualifier() -> None:
    for suffix in ("", ":$LATEST", ":7", ":live"):
        assert parse_target_arn(f"arn:aws:lambda:us-east-1:000000000000:function:enrich{suffix}") == TargetRef(
            "function", "enrich")
    with pytest.raises(ValueError, match="a function ARN is arn:aws:lambda"):
        parse_target_arn("arn:aws:lambda:us-east-1:000000000000:layer:x:1")


def test_declarations_in_either_spelling_give_the_same_record() -> None:
    friendly = parse_function({"name": "f", "handler": "pkg.mod:run", "timeout": 30, "max_concurrency": 2,
                               "environment": {"A": 1, "B": True}, "on_success": "orders"})
    stored = parse_function(friendly.record())
    assert stored == friendly
    assert friendly.record() == {"FunctionName": "f", "Handler": "pkg.mod:run", "Timeout": 30, "MemorySize": 128,
                                 "MaxConcurrency": 2, "Environment": {"Variables": {"A": "1", "B": "true"}},
                                 "OnSuccess": "orders"}
    assert handler_parts("pkg.mod:run") == ("pkg.mod", "run")
    assert handler_parts("app.lambda_handler") == ("app", "lambda_handler")  # Lambda's own form
    assert destination_bus("arn:aws:events:us-east-1:000000000000:event-bus/orders") == "orders"
    assert parse_function({"name": "f", "handler": "m.h", "on_failure": {"Destination": "b"}}).on_failure == "b"


@pytest.mark.parametrize(("item", "message"), [
    ({"handler": "m:h"}, "name None is not a function name"),
    ({"name": "f"}, "f: handler is required"),
    ({"name": "f", "handler": "m:h", "max_concurrency": 0}, "f: MaxConcurrency is 0: a whole number from 1"),
    ({"name": "f", "handler": "m:h", "environment": {"A": {"b": 1}}}, "f: environment variable A: its value"),
    ({"name": "f", "handler": "m:h", "on_success": "a/b"}, "f: destination 'a/b' is not a bus name"),
    ({"name": "f/g", "handler": "m:h"}, "name 'f/g' is not a function name"),
])
def test_invalid_declarations_name_what_is_wrong(item: dict, message: str) -> None:
    with pytest.raises(InvalidFunction) as refused:
        parse_function(item)
    assert str(refused.value).startswith(message)


def test_a_handler_that_cannot_be_imported_is_explained() -> None:
    assert import_handler("tests.function_handlers:echo", {}).__name__ == "echo"
    with pytest.raises(HandlerUnavailable, match="module tests.function_handlers has no callable nothing"):
        import_handler("tests.function_handlers:nothing", {})
    with pytest.raises(HandlerUnavailable, match="has no callable IMPORTED_WITH"):  # not callable
        import_handler("tests.function_handlers:IMPORTED_WITH", {})
    with pytest.raises(HandlerUnavailable, match="ModuleNotFoundError: No module named 'nowhere'"):
        import_handler("nowhere.at_all:handler", {})


def test_each_function_sees_its_own_variables_over_the_process_environment() -> None:
    os.environ["BUSBAR_TEST_SHARED"] = "process"
    seen: dict[str, tuple[str | None, str | None]] = {}

    def read(name: str) -> None:
        time.sleep(0.05)  # both threads inside their blocks at once
        seen[name] = (os.environ.get("ONLY"), os.getenv("BUSBAR_TEST_SHARED"))

    def run(name: str, variables: dict[str, str]) -> None:
        with function_variables(variables):
            read(name)

    threads = [threading.Thread(target=run, args=("a", {"ONLY": "a"})),
               threading.Thread(target=run, args=("b", {"ONLY": "b", "BUSBAR_TEST_SHARED": "mine"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": ("a", "process"), "b": ("b", "mine")}
    assert "ONLY" not in os.environ and os.environ["BUSBAR_TEST_SHARED"] == "process"
    with function_variables({"ONLY": "x"}):
        os.environ["WRITTEN"] = "inside"  # a write inside a function stays in its invocation
        assert dict(os.environ.copy())["ONLY"] == "x"
    assert "WRITTEN" not in os.environ
    del os.environ["BUSBAR_TEST_SHARED"]


def context(timeout_s: float = 1.0) -> LambdaContext:
    return LambdaContext(function_name="f", invoked_function_arn="arn:aws:lambda:us-east-1:0:function:f",
                         memory_limit_in_mb=128, timeout_s=timeout_s)


def test_invocations_succeed_fail_and_time_out() -> None:
    def ok(event: dict, ctx: LambdaContext) -> dict:
        return {"got": event, "env": os.environ.get("V"), "thread": threading.current_thread().name}

    async def fails(event: dict, ctx: LambdaContext) -> None:
        raise KeyError("missing")

    def sleeps(event: dict, ctx: LambdaContext) -> None:
        time.sleep(2)

    async def run() -> list:
        return [await invoke(ok, {"a": 1}, context(), 1.0, {"V": "v"}),
                await invoke(fails, {}, context(), 1.0, {}),
                await invoke(sleeps, {}, context(0.2), 0.2, {})]

    started = time.monotonic()
    done, failed, timed_out = asyncio.run(run())
    assert time.monotonic() - started < 1.5  # the sleeping handler was not waited for
    assert done.ok and done.value["got"] == {"a": 1} and done.value["env"] == "v"
    assert done.value["thread"] == "busbar-function-f"
    assert (failed.ok, failed.error_type, failed.error_message) == (False, "KeyError", "'missing'")
    assert failed.error_payload("r")["stackTrace"]
    assert timed_out.timed_out and timed_out.reason == "Sandbox.Timedout: Task timed out after 0.20 seconds"


def test_an_async_handler_that_ignores_its_cancellation_times_out_all_the_same() -> None:
    async def stubborn(event: dict, ctx: LambdaContext) -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await asyncio.sleep(5)  # goes on after being cancelled
        return "late"

    async def run() -> tuple:
        started = time.monotonic()
        result = await invoke(stubborn, {}, context(0.2), 0.2, {})
        return result, time.monotonic() - started

    result, seconds = asyncio.run(run())
    assert result.timed_out and seconds < 1.0


def test_destination_events_have_lambdas_shape() -> None:
    record = invocation_record(function_arn="arn:aws:lambda:us-east-1:000000000000:function:f", request_id="r",
                               condition="RetriesExhausted", attempts=3, request={"id": "e"},
                               response={"errorType": "ValueError"}, failed=True)
    event_id, data = destination_event(record, bus_arn="arn:aws:events:us-east-1:000000000000:event-bus/b",
                                       function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
                                       account="000000000000", region="us-east-1")
    event = orjson.loads(data)
    assert (event["id"], event["source"], event["detail-type"]) == (event_id, "lambda", FAILURE)
    assert event["detail"]["requestContext"] == {"requestId": "r", "condition": "RetriesExhausted",
                                                 "approximateInvokeCount": 3,
                                                 "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"}
    assert event["detail"]["responseContext"]["functionError"] == "Unhandled"
    success = invocation_record(function_arn="arn", request_id="r", condition="Success", attempts=1, request=1,
                                response={1: object}, failed=False)
    assert "functionError" not in success["responseContext"]
    assert success["responsePayload"] == {"1": str(object)}  # anything a handler returns is sent as JSON
    assert SUCCESS.endswith("- Success")
