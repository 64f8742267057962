"""The `context` a handler is called with: the attributes and method of Lambda's Python runtime.

Lambda handlers read these to log, to name their outputs and to stop before their time runs
out, so each one is here under Lambda's name, with what it means on busbar: the function's
version is always `$LATEST` (a function has one handler, the one the workers import), the
log group and stream are the names Lambda would use, for handlers that put them in their output,
and `memory_limit_in_mb` is text, as Lambda's runtime reads it from its environment (busbar
sets no memory limit: it is the declared MemorySize, passed on).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

VERSION = "$LATEST"


class LambdaContext:
    def __init__(self, *, function_name: str, invoked_function_arn: str, memory_limit_in_mb: int,
                 timeout_s: float, aws_request_id: str | None = None) -> None:
        self.function_name = function_name
        self.function_version = VERSION
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        today = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_stream_name = f"{today}/[{VERSION}]{uuid.uuid4().hex}"
        self.identity: Any = None  # set by Lambda for mobile SDK callers only
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r}, "
                f"remaining_ms={self.get_remaining_time_in_millis()})")
