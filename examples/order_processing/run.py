"""Real-time order processing on busbar, end to end, against a running busbar (`make up` with
BUSBAR_SECRET_KEY set and BUSBAR_ALLOW_PRIVATE_DESTINATIONS=1, see the README).

    .venv/bin/python -m examples.order_processing.run --endpoint http://127.0.0.1:4010 --kafka 127.0.0.1:19092

Declares the pipeline (pipeline.yaml, through `busbar apply`), starts the inventory service on
127.0.0.1 and points an API destination at it, puts OrderCreated events on the `orders` bus
with boto3, then checks what arrived: the analytics function's figures (against figures
computed here from the same orders), every order on the Kinesis-named stream, and every order
either reserved by the inventory service or dead-lettered with the service's refusal.
Exit 0 when all of that holds, 1 otherwise.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from examples.example_run import apply, arguments, report
from examples.order_processing.inventory import API_KEY_HEADER, Inventory, InventoryService
from examples.order_processing.producer import BUS, CATALOGUE, DETAIL_TYPE, SOURCE, orders, put_orders
from examples.topic_tail import TopicTail

HERE = Path(__file__).resolve().parent
ANALYTICS_TOPIC = "orders.analytics"
STREAM_TOPIC = "kinesis.order-stream"
INVENTORY_DLQ = "inventory-dlq"
CONNECTION = "inventory-api"
DESTINATION = "inventory-reservations"
RULE = "reserve-stock"


def main() -> int:
    args = arguments(__doc__, [("--orders", int, 60, "how many orders to put"),
                               ("--seed", int, 11, "seed of the generated orders")])
    events = apply(HERE / "pipeline.yaml", args)
    tail = TopicTail(args.kafka, [ANALYTICS_TOPIC, STREAM_TOPIC, f"sqs.{INVENTORY_DLQ}"], "order-processing-run")
    inventory = Inventory(list(CATALOGUE))
    service = InventoryService(inventory, api_key := secrets.token_urlsafe(24))
    service.start_serving()
    try:
        route_to_inventory(events, f"{service.url}/reservations", api_key)
        store = f"store-{uuid.uuid4().hex[:8]}"  # this run's figures, apart from any earlier run's
        placed = orders(args.orders, store, args.seed)
        started = time.monotonic()
        put_orders(events, placed)
        print(f"put {len(placed)} OrderCreated events for {store} in {time.monotonic() - started:.1f} s", flush=True)
        seen = collect(tail, store, {order["orderId"] for order in placed}, inventory, args.timeout)
    finally:
        service.stop()
        tail.close()
    return report(summarize(placed, seen, inventory), args)


def route_to_inventory(events: Any, endpoint: str, api_key: str) -> None:
    """Connection (the API key), API destination (this run's address) and the rule that uses them;
    created the first time, brought up to date after."""
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": API_KEY_HEADER, "ApiKeyValue": api_key}}
    try:
        connection = events.create_connection(Name=CONNECTION, AuthorizationType="API_KEY", AuthParameters=auth)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise SystemExit(f"CreateConnection failed: {exc} (is BUSBAR_SECRET_KEY set for the worker?)") from None
        connection = events.update_connection(Name=CONNECTION, AuthorizationType="API_KEY", AuthParameters=auth)
    destination = {"Name": DESTINATION, "ConnectionArn": connection["ConnectionArn"], "HttpMethod": "POST",
                   "InvocationEndpoint": endpoint, "InvocationRateLimitPerSecond": 100}
    try:
        arn = events.create_api_destination(**destination)["ApiDestinationArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
        arn = events.update_api_destination(**destination)["ApiDestinationArn"]
    events.put_rule(Name=RULE, EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE],
                                                                          "detail-type": [DETAIL_TYPE]}))
    result = events.put_targets(Rule=RULE, EventBusName=BUS, Targets=[{
        "Id": "inventory", "Arn": arn, "InputPath": "$.detail",
        "RetryPolicy": {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 600},
        "DeadLetterConfig": {"Arn": f"arn:aws:sqs:us-east-1:000000000000:{INVENTORY_DLQ}"}}])
    if result["FailedEntryCount"]:
        raise SystemExit(f"PutTargets refused the inventory target: {result['FailedEntries']}")


def collect(tail: TopicTail, store: str, order_ids: set[str], inventory: Inventory,
            timeout: float) -> dict[str, Any]:
    """Reads the run's topics until every order is accounted for everywhere, or the time is up."""
    seen: dict[str, Any] = {"figures": None, "streamed": set(), "dead_letters": {}}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in tail.poll(0.5):
            if record.topic == ANALYTICS_TOPIC and record.value.get("storeId") == store:
                if seen["figures"] is None or record.value["orders"] > seen["figures"]["orders"]:
                    seen["figures"] = record.value
            elif record.topic == STREAM_TOPIC and record.value.get("storeId") == store:
                seen["streamed"].add(record.value["orderId"])
            elif record.topic == f"sqs.{INVENTORY_DLQ}" and record.value.get("orderId") in order_ids:
                seen["dead_letters"][record.value["orderId"]] = record.headers.get("busbar-error", "")
                print(f"DEAD-LETTERED order {record.value['orderId']}: {record.headers.get('busbar-error')}",
                      flush=True)
        settled = order_ids <= set(inventory.reservations) | set(seen["dead_letters"])
        if seen["figures"] and seen["figures"]["orders"] == len(order_ids) and seen["streamed"] == order_ids \
                and settled:
            break
    return seen


def expected_figures(placed: list[dict[str, Any]]) -> dict[str, Any]:
    """The analytics figures, computed here in one go from the orders put."""
    units: Counter[str] = Counter()
    for order in placed:
        for item in order["items"]:
            units[item["sku"]] += item["quantity"]
    revenue = sum(order["totalCents"] for order in placed)
    return {"orders": len(placed), "revenueCents": revenue,
            "averageOrderCents": round(revenue / len(placed), 2),
            "averageUnitsPerOrder": round(sum(units.values()) / len(placed), 3),
            "topSkus": [sku for sku, _ in sorted(units.items(), key=lambda pair: (-pair[1], pair[0]))[:3]]}


def summarize(placed: list[dict[str, Any]], seen: dict[str, Any], inventory: Inventory) -> dict[str, Any]:
    order_ids = {order["orderId"] for order in placed}
    figures = seen["figures"] or {}
    got = {key: figures.get(key) for key in ("orders", "revenueCents", "averageOrderCents", "averageUnitsPerOrder")}
    got["topSkus"] = [product["sku"] for product in figures.get("topProducts", [])]
    expected = expected_figures(placed)
    reserved = order_ids & set(inventory.reservations)
    dead = set(seen["dead_letters"])
    checks = {
        "analytics": got == expected,
        "stream": seen["streamed"] == order_ids,
        "inventory": reserved | dead == order_ids and not reserved & dead
                     and set(inventory.refused) & order_ids == dead and min(inventory.stock.values()) >= 0,
    }
    return {
        "analytics": {"got": got, "expected": expected},
        "streamed_orders": len(seen["streamed"]),
        "reserved_orders": len(reserved),
        "dead_lettered_orders": {order_id: reason for order_id, reason in sorted(seen["dead_letters"].items())},
        "stock_left": inventory.stock,
        "checks": checks,
        "ok": all(checks.values()),
    }


if __name__ == "__main__":
    sys.exit(main())
