"""The connectors of a worker: every configured connector instantiated here, and the tasks
this worker owns running.

It follows `connector/<name>` records in the config topic (an instance per connector on every
worker, so a webhook may be posted to any of them) and the task partitions the group gives
this worker (connectors/assignment.py), and after each change starts what should run here
and stops what should not. A record's `generation` grows on every config write and restart,
so a task whose connector changed is restarted. Task states go to the status topic.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.assignment import TaskAssignment, task_partition
from connectors.plugin import Connector, Environment, Task
from connectors.registry import resolve
from connectors.status import FAILED, PAUSED, RUNNING, StatusBoard
from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.model import Change
from streams.subsystem import Subsystem

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Instance:
    """One configured connector as this worker holds it: its class's instance, or why there is none."""

    name: str
    record: dict[str, Any]
    connector: Connector | None
    error: str | None

    @property
    def generation(self) -> int:
        return int(self.record.get("generation", 0))

    @property
    def paused(self) -> bool:
        return self.record.get("state") == PAUSED

    def task_count(self) -> int:
        return self.connector.task_count() if self.connector is not None else 1


def instantiate(record: dict[str, Any], env: Environment) -> Instance:
    """A config record as a running connector, or the reason it cannot be one (a record written
    by a newer busbar, or one whose cluster this worker does not know)."""
    name = record["name"]
    cls = resolve(str(record.get("config", {}).get("connector.class", "")))
    if cls is None:
        return Instance(name, record, None, f"unknown connector.class {record.get('config', {}).get('connector.class')!r}")
    values, errors = cls.validate(record.get("config", {}), env)
    if errors:
        return Instance(name, record, None, "; ".join(f"{key}: {' '.join(errs)}" for key, errs in errors.items()))
    try:
        return Instance(name, record, cls(name, values, env), None)
    except Exception as exc:
        return Instance(name, record, None, f"{type(exc).__name__}: {exc}")


class ConnectorRuntime(Subsystem):
    def __init__(self, config: ConfigService, env: Environment, status: StatusBoard,
                 stores: Sequence[ConfigStore] = (), requires: Sequence[Subsystem] = (), **kwargs: Any) -> None:
        super().__init__(requires=(config, *requires), **kwargs)
        self.config = config
        self.stores = (status.store, *stores)  # the status topic, de-duplication ids: read before starting
        self.env = env
        self.status = status
        self.instances: dict[str, Instance] = {}
        self._owned: frozenset[int] = frozenset()
        self._running: dict[tuple[str, int], tuple[int, Task]] = {}
        self._changes: asyncio.Queue[Change | None] = asyncio.Queue()
        self._assignment: TaskAssignment | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, assignment: TaskAssignment) -> None:
        self._assignment = assignment

    def on_assignment(self, owned: frozenset[int]) -> None:
        """From the assignment thread: note the partitions and wake the reconciler."""
        self._owned = owned
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._changes.put_nowait, None)

    def _on_change(self, change: Change) -> None:
        if change.kind == "connector" and self._loop is not None:
            self._loop.call_soon_threadsafe(self._changes.put_nowait, change)

    async def on_start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for store in self.stores:
            await self._loop.run_in_executor(None, store.start)
        self.config.subscribe(self._on_change)
        await asyncio.sleep(0)  # the connectors as they stand, queued by subscribe: known before ready
        while not self._changes.empty():
            self._apply(self._changes.get_nowait())
        self._changes.put_nowait(None)  # and reconciled once the assignment is known
        if self._assignment is not None:
            self._assignment.start()
        self.add_future(self._reconcile_forever())

    async def on_stop(self) -> None:
        await super().on_stop()
        if self._assignment is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._assignment.stop)
        for key in list(self._running):
            await self._stop_task(key)
        for store in self.stores:
            await asyncio.get_running_loop().run_in_executor(None, store.stop)

    def instance(self, name: str) -> Instance | None:
        return self.instances.get(name)

    async def _reconcile_forever(self) -> None:
        while not self.should_stop:
            change = await self._changes.get()
            self._apply(change)
            while not self._changes.empty():  # a burst of changes: one reconciliation
                self._apply(self._changes.get_nowait())
            try:
                await self._reconcile()
            except Exception:
                log.exception("connectors: reconciliation failed; retrying on the next change")

    def _apply(self, change: Change | None) -> None:
        if change is None:
            return
        name = change.key.split("/", 1)[1]
        if change.new is None:
            self.instances.pop(name, None)
        else:
            self.instances[name] = instantiate(change.new, self.env)
            if self.instances[name].error:
                log.error("connector %s cannot run: %s", name, self.instances[name].error)

    async def _reconcile(self) -> None:
        wanted: dict[tuple[str, int], Instance] = {}
        for name, inst in self.instances.items():
            for index in range(inst.task_count()):
                if task_partition(name, index) in self._owned:
                    wanted[(name, index)] = inst
        deleted = {name for name, _ in self._running if name not in self.instances}
        for key, (generation, _task) in list(self._running.items()):
            inst = wanted.get(key)
            if inst is None or inst.paused or inst.generation != generation:
                await self._stop_task(key)
        for name in deleted:
            await self.status.forget(name)
        for key, inst in wanted.items():
            if inst.connector is None:
                await self.status.put(inst.name, key[1], FAILED, self.env.worker_id, inst.error)
            elif inst.paused:
                await self.status.put(inst.name, key[1], PAUSED, self.env.worker_id)
            elif key not in self._running:
                await self._start_task(inst, key[1])

    async def _start_task(self, inst: Instance, index: int) -> None:
        assert inst.connector is not None
        task = inst.connector.task(index)
        try:
            await task.start()
        except Exception as exc:
            log.exception("connector %s task %d failed to start", inst.name, index)
            await self.status.put(inst.name, index, FAILED, self.env.worker_id,
                                  "".join(traceback.format_exception(exc)))
            return
        self._running[(inst.name, index)] = (inst.generation, task)
        await self.status.put(inst.name, index, RUNNING, self.env.worker_id)

    async def _stop_task(self, key: tuple[str, int]) -> None:
        _generation, task = self._running.pop(key)
        try:
            await asyncio.wait_for(task.stop(), STOP_TIMEOUT_S)
        except Exception:
            log.exception("connector %s task %d did not stop cleanly", *key)
