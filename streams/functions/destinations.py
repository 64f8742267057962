"""The events a function's OnSuccess / OnFailure destination bus receives: Lambda's invocation records.

AWS Lambda sends an asynchronous invocation's result to an EventBridge destination as an event
with source `lambda`, detail-type `Lambda Function Invocation Result - Success` (or `- Failure`),
the destination bus's and the function's ARNs as resources, and the invocation record as detail:
requestContext (requestId, functionArn, condition, approximateInvokeCount), requestPayload (the
event the handler got), responseContext (statusCode, executedVersion, functionError on failure)
and responsePayload (what the handler returned, or its error). Rules on the destination bus
match these exactly as they would on AWS, which is how functions chain into workflows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from streams.envelope import new_event_record
from streams.functions.context import VERSION

SOURCE = "lambda"
SUCCESS = "Lambda Function Invocation Result - Success"
FAILURE = "Lambda Function Invocation Result - Failure"


def invocation_record(*, function_arn: str, request_id: str, condition: str, attempts: int, request: Any,
                      response: Any, failed: bool) -> dict[str, Any]:
    """`condition` is Success, RetriesExhausted or EventAgeExceeded, as Lambda names them."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": VERSION}
    if failed:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {"requestId": request_id, "functionArn": f"{function_arn}:{VERSION}",
                           "condition": condition, "approximateInvokeCount": attempts},
        "requestPayload": _json_safe(request),
        "responseContext": response_context,
        "responsePayload": _json_safe(response),
    }


def destination_event(record: dict[str, Any], *, bus_arn: str, function_arn: str, account: str,
                      region: str) -> tuple[str, bytes]:
    """(event id, JSON) of the event; InvalidEnvelope if it is larger than an event may be."""
    failed = "functionError" in record["responseContext"]
    event, data = new_event_record(source=SOURCE, detail_type=FAILURE if failed else SUCCESS, detail=record,
                                   resources=[bus_arn, f"{function_arn}:{VERSION}"], account=account, region=region)
    return str(event["id"]), data


def _json_safe(value: Any) -> Any:
    """A handler may return anything; Lambda serialises it as JSON, and so does this (str() for the rest)."""
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
