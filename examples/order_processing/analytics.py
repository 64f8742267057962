"""Order analytics: an AWS Lambda handler for EventBridge OrderCreated events, unchanged.

It imports nothing from busbar: the same file deployed to AWS Lambda behind an EventBridge rule
behaves the same. Per store it keeps running figures in the warm process (order count, revenue,
average order value, average units per order, the best-selling products) and returns the
store's figures after each order; the function's OnSuccess destination publishes them.

The figures live as long as the process, as in a warm Lambda container: a real deployment
would keep them in a table. EventBridge delivers at least once, so an order seen twice (same
orderId) is counted once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)
TOP = 3


@dataclass
class StoreFigures:
    orders: int = 0
    revenue_cents: int = 0
    mean_order_cents: float = 0.0
    mean_units: float = 0.0
    units_by_sku: Counter[str] = field(default_factory=Counter)
    revenue_by_sku: Counter[str] = field(default_factory=Counter)
    names: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def add(self, order: dict[str, Any]) -> None:
        units = sum(item["quantity"] for item in order["items"])
        self.orders += 1
        self.revenue_cents += order["totalCents"]
        # Running means, updated in place: nothing per order is kept but its id.
        self.mean_order_cents += (order["totalCents"] - self.mean_order_cents) / self.orders
        self.mean_units += (units - self.mean_units) / self.orders
        for item in order["items"]:
            self.units_by_sku[item["sku"]] += item["quantity"]
            self.revenue_by_sku[item["sku"]] += item["quantity"] * item["unitPriceCents"]
            self.names[item["sku"]] = item["name"]
        self.seen.add(order["orderId"])

    def snapshot(self, store: str) -> dict[str, Any]:
        ranked = sorted(self.units_by_sku.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP]
        return {
            "storeId": store,
            "orders": self.orders,
            "revenueCents": self.revenue_cents,
            "averageOrderCents": round(self.mean_order_cents, 2),
            "averageUnitsPerOrder": round(self.mean_units, 3),
            "topProducts": [{"sku": sku, "name": self.names[sku], "units": units,
                             "revenueCents": self.revenue_by_sku[sku]} for sku, units in ranked],
        }


_stores: dict[str, StoreFigures] = {}
_lock = threading.Lock()  # invocations may run side by side in one process


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = event["detail"]
    store = order["storeId"]
    with _lock:
        figures = _stores.setdefault(store, StoreFigures())
        duplicate = order["orderId"] in figures.seen
        if not duplicate:
            figures.add(order)
        snapshot = figures.snapshot(store)
    logger.info("%s order %s (%s): %d orders, average %.2f cents, request %s", store, order["orderId"],
                "duplicate, not counted" if duplicate else "counted", snapshot["orders"],
                snapshot["averageOrderCents"], context.aws_request_id)
    return {**snapshot, "orderId": order["orderId"], "duplicate": duplicate}
