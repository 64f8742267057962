"""Handlers the functions tests declare, written as AWS Lambda handlers (no busbar import).

Each reports what it saw (event, context, environment, how many invocations ran at once) to
the Kafka topic its function's environment names in OUT_TOPIC, so a test reads what really
happened inside the worker. The bootstrap servers come from the worker's own environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

from confluent_kafka import Producer

_running = 0
_lock = threading.Lock()
# Read at import time, as Lambda handlers often do: the function's environment is in force then.
IMPORTED_WITH = os.environ.get("GREETING")


def _report(event: Any, context: Any, **extra: Any) -> None:
    producer = Producer({"bootstrap.servers": os.environ["BUSBAR_KAFKA_BOOTSTRAP"]})
    producer.produce(os.environ["OUT_TOPIC"], json.dumps({
        "event": event,
        "context": {
            "function_name": context.function_name, "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb, "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": {name: os.environ.get(name) for name in ("GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION")},
        "imported_with": IMPORTED_WITH,
        "thread": threading.current_thread().name,
        "at": time.time(),
        "pid": os.getpid(),
        **extra,
    }).encode())
    producer.flush(10)


def echo(event: Any, context: Any) -> dict[str, Any]:
    _report(event, context)
    return {"echoed": event}


async def async_echo(event: Any, context: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    _report(event, context)
    return {"echoed": event}


def fail(event: Any, context: Any) -> None:
    _report(event, context)
    raise ValueError(f"cannot process {event.get('id') if isinstance(event, dict) else event}")


def slow(event: Any, context: Any) -> None:
    """Reports, then sleeps past any short timeout: its end is never reported."""
    _report(event, context)
    time.sleep(float(os.environ.get("SLEEP_S", "5")))


async def async_slow(event: Any, context: Any) -> None:
    _report(event, context)
    await asyncio.sleep(float(os.environ.get("SLEEP_S", "5")))


def busy(event: Any, context: Any) -> None:
    """Holds its slot a while and reports how many invocations of this module were running."""
    global _running
    with _lock:
        _running += 1
        running = _running
    try:
        time.sleep(0.3)
        _report(event, context, running=running)
    finally:
        with _lock:
            _running -= 1


def gated(event: Any, context: Any) -> None:
    """Waits until the file GATE_FILE exists: a test holds invocations in flight with it."""
    _report(event, context)
    gate = os.environ["GATE_FILE"]
    while not os.path.exists(gate):
        time.sleep(0.05)
