"""The inventory service: reserves stock for each order, over HTTP (aiohttp).

busbar reaches it through an API destination whose connection sends an API key
(`x-api-key`). `POST /reservations` takes an order (the event's `detail`) and answers 200 when
its stock is reserved (again 200 for an order already reserved: deliveries come at least once),
409 when a product is short (busbar does not retry a 4xx: the order goes to the target's dead
letter queue, where someone can look at it), 401 without the right key. `GET /stock` and
`GET /reservations` show the state.

    .venv/bin/python examples/order_processing/inventory.py --port 8081 --api-key my-inventory-key
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from typing import Any

from aiohttp import web

from examples.order_processing.producer import CATALOGUE

API_KEY_HEADER = "x-api-key"
DEFAULT_STOCK = 1000
# Paper filters sell well and few are left: some orders cannot be served.
SCARCE = {"SKU-1003": 24}


class Inventory:
    """Stock per sku and the reservations made; one order is reserved whole or not at all."""

    def __init__(self, skus: list[str]) -> None:
        self.stock = {sku: SCARCE.get(sku, DEFAULT_STOCK) for sku in skus}
        self.reservations: dict[str, list[dict[str, Any]]] = {}
        self.refused: dict[str, str] = {}

    def reserve(self, order: dict[str, Any]) -> str | None:
        """None when reserved (or already was); else why not."""
        if order["orderId"] in self.reservations:
            return None
        for item in order["items"]:
            if self.stock.get(item["sku"], 0) < item["quantity"]:
                reason = f"{item['sku']}: {item['quantity']} wanted, {self.stock.get(item['sku'], 0)} in stock"
                self.refused[order["orderId"]] = reason
                return reason
        for item in order["items"]:
            self.stock[item["sku"]] -= item["quantity"]
        self.reservations[order["orderId"]] = [{"sku": i["sku"], "quantity": i["quantity"]} for i in order["items"]]
        return None


def make_app(inventory: Inventory, api_key: str) -> web.Application:
    async def reserve(request: web.Request) -> web.Response:
        if request.headers.get(API_KEY_HEADER) != api_key:
            return web.json_response({"error": "missing or wrong API key"}, status=401)
        order = await request.json()
        refusal = inventory.reserve(order)
        if refusal is not None:
            return web.json_response({"orderId": order["orderId"], "error": f"insufficient stock: {refusal}"},
                                     status=409)
        return web.json_response({"orderId": order["orderId"], "reserved": inventory.reservations[order["orderId"]]})

    async def stock(_: web.Request) -> web.Response:
        return web.json_response(inventory.stock)

    async def reservations(_: web.Request) -> web.Response:
        return web.json_response({"reserved": inventory.reservations, "refused": inventory.refused})

    app = web.Application()
    app.add_routes([web.post("/reservations", reserve), web.get("/stock", stock),
                    web.get("/reservations", reservations)])
    return app


class InventoryService(threading.Thread):
    """The service on 127.0.0.1 in a thread of its own, for run.py; `url` once started."""

    def __init__(self, inventory: Inventory, api_key: str, port: int = 0) -> None:
        super().__init__(name="inventory", daemon=True)
        self.inventory = inventory
        self._app = make_app(inventory, api_key)
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped = asyncio.Event()
        self.url = ""

    def run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await self._stopped.wait()
        await runner.cleanup()

    def start_serving(self) -> str:
        self.start()
        if not self._ready.wait(10):
            raise RuntimeError("the inventory service did not start")
        return self.url

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set)
        self.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    web.run_app(make_app(Inventory(list(CATALOGUE)), args.api_key), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
