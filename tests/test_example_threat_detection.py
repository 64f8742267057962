"""examples/threat_detection end to end: its run.py against a real worker, as its README runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, WorkerProcess

pytestmark = pytest.mark.kafka



def test_each_attack_is_found_with_its_key_and_benign_traffic_raises_nothing(own_worker: WorkerProcess,
                                                                             tmp_path: Path) -> None:
    worker = own_worker
    summary_path = tmp_path / "summary.json"
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "threat_detection" / "run.py"),
                          "--endpoint", worker.url, "--kafka", worker.bootstrap, "--summary-json", str(summary_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr + worker.log_tail()
    summary = json.loads(summary_path.read_text())
    groups = {detection["rule"]: detection["group"] for detection in summary["detections"]}
    assert groups == {
        "brute-force-login": {"detail.sourceIp": "198.51.100.23"},
        "port-scan": {"detail.instanceId": "i-0a1b2c3d4e5f60718", "detail.srcIp": "10.0.3.17"},
        "compromised-credentials": {"detail.user": "carol"},
    }
    assert summary["unexpected"] == [] and summary["missed"] == []
    assert summary["disabled_users"] == ["carol"]
    assert summary["isolated_instances"] == ["i-0a1b2c3d4e5f60718"]
    assert summary["blocked_addresses"] == ["198.51.100.23"]
    assert summary["normalized_events"] > 1500
    assert "DETECTED compromised-credentials" in run.stdout
