"""The shop's side: OrderCreated events, put on the `orders` bus with boto3 as on AWS.

    .venv/bin/python examples/order_processing/producer.py --count 50 --endpoint http://127.0.0.1:4010

Orders are generated from a small catalogue (one to four lines each, prices in EUR cents); the
same seed gives the same lines, so a run's outcome can be computed independently of busbar.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

BUS = "orders"
SOURCE = "shop.orders"
DETAIL_TYPE = "OrderCreated"
# sku -> (name, unit price in cents)
CATALOGUE: dict[str, tuple[str, int]] = {
    "SKU-1001": ("Espresso beans 1 kg", 2490),
    "SKU-1002": ("Ceramic pour-over dripper", 3200),
    "SKU-1003": ("Paper filters, 100", 590),
    "SKU-1004": ("Burr grinder", 11900),
    "SKU-1005": ("Gooseneck kettle", 6450),
    "SKU-1006": ("Glass carafe 600 ml", 2750),
    "SKU-1007": ("Decaf beans 500 g", 1390),
    "SKU-1008": ("Milk frother", 4990),
    "SKU-1009": ("Travel mug", 1990),
    "SKU-1010": ("Descaler, 2 doses", 890),
}
# A few products sell far more than the rest, as in any shop.
POPULARITY = [30, 6, 14, 2, 3, 5, 12, 2, 8, 4]


def order(rng: random.Random, store: str) -> dict[str, Any]:
    """One OrderCreated detail: lines of catalogue products, and the total they add up to."""
    skus = list(dict.fromkeys(rng.choices(list(CATALOGUE), POPULARITY, k=rng.randint(1, 4))))
    items = [{"sku": sku, "name": CATALOGUE[sku][0], "quantity": rng.choices([1, 2, 3], [70, 22, 8])[0],
              "unitPriceCents": CATALOGUE[sku][1]} for sku in skus]
    return {
        "orderId": str(uuid.uuid4()),  # unique across runs; the rest repeats with the seed
        "storeId": store,
        "customerId": f"C-{rng.randint(10000, 99999)}",
        "currency": "EUR",
        "items": items,
        "totalCents": sum(item["quantity"] * item["unitPriceCents"] for item in items),
        "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }


def orders(count: int, store: str, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [order(rng, store) for _ in range(count)]


def put_orders(events: Any, details: list[dict[str, Any]]) -> None:
    """PutEvents, ten entries a call (EventBridge's limit); a refused entry stops the run."""
    entries = [{"EventBusName": BUS, "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail),
                "Resources": [f"arn:aws:shop:::order/{detail['orderId']}"]} for detail in details]
    for at in range(0, len(entries), 10):
        result = events.put_events(Entries=entries[at:at + 10])
        if result["FailedEntryCount"]:
            raise SystemExit(f"PutEvents refused entries: {result['Entries']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:4010", help="busbar's API")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--store", default="store-berlin")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    events = boto3.client("events", endpoint_url=args.endpoint, region_name=args.region,
                          aws_access_key_id="example", aws_secret_access_key="example")
    put_orders(events, orders(args.count, args.store, args.seed))
    print(f"put {args.count} OrderCreated events on the {BUS} bus")


if __name__ == "__main__":
    main()
