"""examples/order_processing end to end: its run module against a real worker, as its README runs it.

The worker may deliver to 127.0.0.1 (the inventory service) and holds a secret key for the
connection, as the README's `make up` line sets them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, WorkerProcess

pytestmark = pytest.mark.kafka


def test_orders_reach_analytics_stream_and_inventory(delivery_worker: WorkerProcess, tmp_path: Path) -> None:
    summary_path = tmp_path / "summary.json"
    run = subprocess.run([sys.executable, "-m", "examples.order_processing.run", "--endpoint", delivery_worker.url,
                          "--kafka", delivery_worker.bootstrap, "--orders", "60", "--summary-json", str(summary_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr + delivery_worker.log_tail()
    summary = json.loads(summary_path.read_text())
    assert summary["checks"] == {"analytics": True, "stream": True, "inventory": True}
    assert summary["analytics"]["got"]["orders"] == 60 and summary["streamed_orders"] == 60
    # The scarce product runs out: some orders are refused (409) and dead-lettered, the rest reserved.
    assert summary["reserved_orders"] + len(summary["dead_lettered_orders"]) == 60
    assert summary["dead_lettered_orders"] and all("409" in reason for reason in summary["dead_lettered_orders"].values())
    assert summary["stock_left"]["SKU-1003"] >= 0
