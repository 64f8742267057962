"""Two workers share a function's invocations; one is killed with invocations in flight.

A function's topic is consumed by both workers' agents in one consumer group, so each invokes
the events of the partitions it holds. An invocation's offset is committed only once it is
settled, so what the killed worker had in flight is invoked again by the survivor: at least
once, as on Lambda.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import WorkerProcess, unique
from tests.test_functions import Setup

pytestmark = pytest.mark.kafka

EVENTS = 10  # one PutEvents call


def test_a_killed_workers_invocations_in_flight_run_again_on_the_other(kafka_bootstrap: str,
                                                                       worker_logs: Path, tmp_path: Path) -> None:
    prefix = unique("fscale")
    workers = [WorkerProcess(kafka_bootstrap, prefix=prefix) for _ in range(2)]
    try:
        for worker in workers:
            worker.start(worker_logs)
        gate = tmp_path / "open"
        setup = Setup(workers[0], "gated", Timeout=120, environment={"GATE_FILE": str(gate)})
        setup.target()
        ids = setup.put(*({"order": n} for n in range(EVENTS)))
        # Every event is held in its handler until the gate opens: both workers have some.
        started = setup.reports(EVENTS, timeout=90)
        assert sorted(report["event"]["id"] for report in started) == sorted(ids)
        by_pid = {report["pid"] for report in started}
        assert by_pid == {worker.process.pid for worker in workers}  # type: ignore[union-attr]
        workers[0].kill()
        killed = [report["event"]["id"] for report in started if report["pid"] == workers[0].process.pid]
        gate.touch()
        again = setup.reports(EVENTS + len(killed), timeout=120)[EVENTS:]
        assert sorted(report["event"]["id"] for report in again) == sorted(killed)
        assert {report["pid"] for report in again} == {workers[1].process.pid}
    finally:
        for worker in workers:
            worker.stop()
