"""Tasks spread over the workers of a group, and a worker that dies hands its tasks to the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.assignment import TASK_PARTITIONS, task_partition
from tests.connect_support import call, wait_for
from tests.support import WorkerProcess, running, unique

pytestmark = pytest.mark.kafka


def names_on_both_halves() -> list[str]:
    """Connector names whose task 0 falls in the low and in the high half of the task partitions,
    which a range assignment gives to different workers of two."""
    low, high = [], []
    while len(low) < 2 or len(high) < 2:
        name = unique("spread")
        (low if task_partition(name, 0) < TASK_PARTITIONS // 2 else high).append(name)
    return low[:2] + high[:2]


def owners(url: str, names: list[str]) -> dict[str, str] | None:
    found = {}
    for name in names:
        status, body = call(url, "GET", f"/connectors/{name}/status")
        task = body["tasks"][0] if status == 200 else {}
        if task.get("state") != "RUNNING":
            return None
        found[name] = task["worker_id"]
    return found


def test_tasks_spread_and_move_off_a_killed_worker(kafka_bootstrap: str, worker_logs: Path) -> None:
    prefix = unique("fo")
    first = WorkerProcess(kafka_bootstrap, prefix=prefix)
    second = WorkerProcess(kafka_bootstrap, prefix=prefix)
    with running(first, worker_logs), running(second, worker_logs):
        names = names_on_both_halves()
        for name in names:
            config = {"connector.class": "GitHubWebhook", "bus": "default", "webhook.secret": "x"}
            assert call(first.url, "POST", "/connectors", {"name": name, "config": config})[0] == 201
        ids = {f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"}
        spread = wait_for(lambda: (o := owners(second.url, names)) and set(o.values()) == ids and o,
                          timeout=60, what="tasks on both workers")
        assert set(spread.values()) == ids

        second.kill()
        survivor = f"127.0.0.1:{first.port}"
        moved = wait_for(lambda: (o := owners(first.url, names)) and set(o.values()) == {survivor} and o,
                         timeout=60, what="every task on the surviving worker")
        assert set(moved.values()) == {survivor}
