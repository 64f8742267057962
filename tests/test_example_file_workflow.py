"""examples/file_workflow end to end: its run module against a real worker, as its README runs it.

The worker and the run share the example's stand-in for S3 (BUCKET_ROOT), here a directory of
the test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, WorkerProcess, running

pytestmark = pytest.mark.kafka


def test_valid_uploads_are_processed_and_notified_invalid_ones_alert_administrators(
        kafka_bootstrap: str, worker_logs: Path, tmp_path: Path) -> None:
    bucket_env = {"BUCKET_ROOT": str(tmp_path / "buckets")}
    with running(WorkerProcess(kafka_bootstrap, extra_env=bucket_env), worker_logs) as worker:
        summary_path = tmp_path / "summary.json"
        run = subprocess.run([sys.executable, "-m", "examples.file_workflow.run", "--endpoint", worker.url,
                              "--kafka", worker.bootstrap, "--summary-json", str(summary_path)],
                             capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, **bucket_env})
        assert run.returncode == 0, run.stdout + run.stderr + worker.log_tail()
    summary = json.loads(summary_path.read_text())
    outcomes = {Path(key).name: file for key, file in summary["files"].items()}
    assert {name for name, file in outcomes.items() if file["ended"] == "notified"} == {
        "sales-week-44.csv", "sales-week-45.csv", "sales-week-46.csv"}
    assert {name for name, file in outcomes.items() if file["ended"] == "alerted"} == {
        "sales-week-47.csv", "sales-week-48.csv", "sales-week-49.xlsx"}
    assert {file["payload"]["errorType"] for file in outcomes.values() if file["ended"] == "alerted"} == {"InvalidUpload"}
    assert all(file["ok"] for file in outcomes.values())
    processed = sorted(path.name for path in (tmp_path / "buckets" / "example-uploads" / "processed").rglob("*.json"))
    assert processed == ["sales-week-44.json", "sales-week-45.json", "sales-week-46.json"]
