"""The examples' Lambda handlers and the inventory service, alone: no broker, no busbar.

The handlers are called as AWS Lambda calls them, `handler(event, context)`, with a context
carrying the attribute they read, to show that they need nothing from busbar.
"""

from __future__ import annotations

import ast
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from examples.file_workflow import handlers
from examples.order_processing import analytics
from examples.order_processing.inventory import API_KEY_HEADER, SCARCE, Inventory, InventoryService
from examples.order_processing.producer import CATALOGUE, orders
from examples.order_processing.run import expected_figures
from tests.support import ROOT

CONTEXT = SimpleNamespace(aws_request_id="c0ffee00-0000-4000-8000-000000000001", function_name="test")


def order_event(detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": "e1", "detail-type": "OrderCreated", "source": "shop.orders",
            "account": "000000000000", "time": "2026-12-01T09:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


@pytest.mark.parametrize("module", ["examples/order_processing/analytics.py", "examples/file_workflow/handlers.py"])
def test_the_handlers_are_plain_lambda_handlers_importing_nothing_of_busbar(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported and not imported & {"streams", "connectors", "examples", "tests"}


# --- order analytics ----------------------------------------------------------------------------
def test_analytics_figures_after_every_order_match_a_computation_from_scratch() -> None:
    placed = orders(40, "store-unit-a", seed=3)
    for count, detail in enumerate(placed, start=1):
        result = analytics.handler(order_event(detail), CONTEXT)
        expected = expected_figures(placed[:count])
        assert result["orders"] == count
        assert result["revenueCents"] == expected["revenueCents"]
        assert result["averageOrderCents"] == pytest.approx(expected["averageOrderCents"], abs=0.01)
        assert result["averageUnitsPerOrder"] == pytest.approx(expected["averageUnitsPerOrder"], abs=0.001)
        assert [product["sku"] for product in result["topProducts"]] == expected["topSkus"]
    top = result["topProducts"][0]
    assert top["name"] == CATALOGUE[top["sku"]][0]


def test_analytics_counts_a_redelivered_order_once_and_keeps_stores_apart() -> None:
    first, second = orders(2, "store-unit-b", seed=4)
    analytics.handler(order_event(first), CONTEXT)
    again = analytics.handler(order_event(first), CONTEXT)
    assert again["duplicate"] is True and again["orders"] == 1
    other = analytics.handler(order_event({**second, "storeId": "store-unit-c"}), CONTEXT)
    assert other["orders"] == 1 and other["storeId"] == "store-unit-c"


# --- inventory ----------------------------------------------------------------------------------
def test_inventory_reserves_whole_orders_once_and_refuses_what_is_short() -> None:
    inventory = Inventory(list(CATALOGUE))
    scarce, stock = next(iter(SCARCE.items()))
    small = {"orderId": "o-1", "items": [{"sku": scarce, "quantity": stock - 1}, {"sku": "SKU-1001", "quantity": 2}]}
    assert inventory.reserve(small) is None
    assert inventory.reserve(small) is None  # delivered twice: reserved once
    assert inventory.stock[scarce] == 1 and inventory.stock["SKU-1001"] == 998
    big = {"orderId": "o-2", "items": [{"sku": "SKU-1001", "quantity": 1}, {"sku": scarce, "quantity": 2}]}
    assert inventory.reserve(big) == f"{scarce}: 2 wanted, 1 in stock"
    assert inventory.stock["SKU-1001"] == 998  # nothing of a refused order is taken
    assert set(inventory.reservations) == {"o-1"} and set(inventory.refused) == {"o-2"}


@pytest.fixture
def inventory_service() -> Iterator[InventoryService]:
    service = InventoryService(Inventory(list(CATALOGUE)), "unit-key")
    service.start_serving()
    yield service
    service.stop()


def post(url: str, body: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({API_KEY_HEADER: key} if key else {})}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_inventory_service_answers_as_an_http_target_expects(inventory_service: InventoryService) -> None:
    url = f"{inventory_service.url}/reservations"
    order = {"orderId": "o-9", "items": [{"sku": "SKU-1002", "quantity": 3}]}
    assert post(url, order, None)[0] == 401
    assert post(url, order, "wrong")[0] == 401
    assert post(url, order, "unit-key") == (200, {"orderId": "o-9", "reserved": [{"sku": "SKU-1002", "quantity": 3}]})
    short = {"orderId": "o-10", "items": [{"sku": "SKU-1003", "quantity": 999}]}
    status, body = post(url, short, "unit-key")
    assert status == 409 and "SKU-1003: 999 wanted" in body["error"]
    with urllib.request.urlopen(f"{inventory_service.url}/stock", timeout=5) as response:
        assert json.loads(response.read())["SKU-1002"] == 997


# --- file workflow ------------------------------------------------------------------------------
@pytest.fixture
def bucket_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BUCKET_ROOT", str(tmp_path))
    return tmp_path


def s3_event(key: str, body: bytes) -> dict[str, Any]:
    """S3's "Object Created" event as EventBridge delivers it, for an object just stored."""
    return {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2026-12-01T09:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::uploads"],
            "detail": {"version": "0", "bucket": {"name": "uploads"},
                       "object": {"key": key, "size": len(body), "etag": "b1946ac92492d2347c6235b4d2611184",
                                  "sequencer": "00617F08299329D189"},
                       "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                       "source-ip-address": "1.2.3.4", "reason": "PutObject"}}


def store(root: Path, key: str, body: bytes) -> dict[str, Any]:
    path = root / "uploads" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return s3_event(key, body)


GOOD = (b"date,region,sku,quantity,amount\n2026-11-02,EMEA,SKU-1,3,10.50\n2026-11-02,AMER,SKU-2,1,4.25\n"
        b"2026-11-03,EMEA,SKU-1,2,7.00\n")


def test_file_workflow_valid_upload_runs_validate_process_notify(bucket_root: Path) -> None:
    validated = handlers.validate(store(bucket_root, "incoming/w1/sales.csv", GOOD), CONTEXT)
    assert validated["rows"] == 3 and validated["key"] == "incoming/w1/sales.csv"
    processed = handlers.process(validated, CONTEXT)
    assert processed["regions"] == {"AMER": {"units": 1, "amount": "4.25"}, "EMEA": {"units": 5, "amount": "17.50"}}
    assert Decimal(processed["revenue"]) == Decimal("21.75")
    written = json.loads((bucket_root / "uploads" / "processed/w1/sales.json").read_text())
    assert written["regions"] == processed["regions"]
    message = handlers.notify(processed, CONTEXT)
    assert message["subject"] == "Processed incoming/w1/sales.csv"
    assert "revenue 21.75" in message["message"] and "s3://uploads/processed/w1/sales.json" in message["message"]


@pytest.mark.parametrize(("key", "body", "reason"), [
    ("incoming/a.xlsx", b"PK\x03\x04", "only .csv files are accepted"),
    ("incoming/b.csv", b"date,region,quantity,amount\n2026-11-02,EMEA,3,10.50\n", "missing column(s) sku"),
    ("incoming/c.csv", GOOD + b"2026-11-04,APAC,SKU-3,2,n/a\n", "line 5: not a sale"),
    ("incoming/d.csv", GOOD + b"2026-13-01,APAC,SKU-3,2,1.00\n", "line 5: not a sale"),
    ("incoming/e.csv", GOOD + b"2026-11-04,APAC,SKU-3,0,1.00\n", "line 5: not a sale"),
    ("incoming/f.csv", b"date,region,sku,quantity,amount\n", "no sales lines"),
    ("incoming/g.csv", b"\xff\xfe\x00d", "not UTF-8 text"),
])
def test_file_workflow_validation_names_what_is_wrong(bucket_root: Path, key: str, body: bytes, reason: str) -> None:
    with pytest.raises(handlers.InvalidUpload, match=re.escape(reason)):
        handlers.validate(store(bucket_root, key, body), CONTEXT)


def test_file_workflow_validation_refuses_an_upload_over_the_configured_size(
        bucket_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "50")
    with pytest.raises(handlers.InvalidUpload, match=f"{len(GOOD)} bytes; an upload holds 1 to 50 bytes"):
        handlers.validate(store(bucket_root, "incoming/big.csv", GOOD), CONTEXT)


def test_file_workflow_validation_refuses_an_announced_object_that_is_not_there(bucket_root: Path) -> None:
    with pytest.raises(handlers.InvalidUpload, match="s3://uploads/incoming/gone.csv: no such object"):
        handlers.validate(s3_event("incoming/gone.csv", GOOD), CONTEXT)
