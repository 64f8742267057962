"""Connector and task states, kept in a compacted Kafka topic that every worker reads.

The worker that runs a task writes its state (RUNNING, PAUSED, FAILED with a trace) under
`status/<connector>/<task>`; any worker answers GET /connectors/{name}/status from its copy,
as Kafka Connect's workers do from their status topic. A task no worker has claimed yet is
UNASSIGNED.
"""

from __future__ import annotations

from typing import Any

from streams.config_store import ConfigStore

RUNNING, PAUSED, FAILED, UNASSIGNED = "RUNNING", "PAUSED", "FAILED", "UNASSIGNED"


def task_key(connector: str, task: int) -> str:
    return f"status/{connector}/{task}"


class StatusBoard:
    def __init__(self, store: ConfigStore) -> None:
        self.store = store

    def task(self, connector: str, task: int) -> dict[str, Any]:
        record = self.store.model.get(task_key(connector, task))
        return {"id": task, **(record or {"state": UNASSIGNED, "worker_id": ""})}

    def report(self, name: str, target_state: str, task_count: int, kind: str) -> dict[str, Any]:
        """GET /connectors/{name}/status. The connector itself lives where its task 0 runs."""
        tasks = [self.task(name, index) for index in range(task_count)]
        first = tasks[0] if tasks else {"state": UNASSIGNED, "worker_id": ""}
        connector: dict[str, Any] = {"state": first["state"], "worker_id": first["worker_id"]}
        if first["state"] == RUNNING and target_state == PAUSED:
            connector["state"] = PAUSED
        if "trace" in first:
            connector["trace"] = first["trace"]
        return {"name": name, "connector": connector, "tasks": tasks, "type": kind}

    async def put(self, connector: str, task: int, state: str, worker_id: str, trace: str | None = None) -> None:
        record: dict[str, Any] = {"state": state, "worker_id": worker_id}
        if trace is not None:
            record["trace"] = trace
        if self.store.model.get(task_key(connector, task)) != record:
            await self.store.awrite(task_key(connector, task), record)

    async def forget(self, connector: str) -> None:
        """Drop every task state of a deleted connector."""
        keys = [key for key, _ in self.store.model.items() if key.startswith(f"status/{connector}/")]
        if keys:
            await self.store.awrite_many(dict.fromkeys(keys))
