"""A worker subsystem: a mode Service that starts only once the subsystems it depends on are ready.

A worker is several subsystems (the configuration, the router, the API, correlation, and the
schedulers and connectors to come). Each names what it needs in `requires`; starting it
first starts those and waits until they are ready, so no subsystem relies on the order in
which the app happens to register services. "Ready" means able to do its job (the config
loaded, the router assigned its partitions with the rules in force), which is also what the
worker's /health reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import mode

READY_TIMEOUT_S = 120.0


class Subsystem(mode.Service):
    # Subclasses that become ready later than their start (the router, once assigned) set this
    # False and call `set_ready()` themselves.
    ready_when_started = True

    def __init__(self, *, requires: Iterable[Subsystem] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requires = tuple(requires)
        self._ready = asyncio.Event()

    async def on_first_start(self) -> None:
        for dependency in self.requires:
            await dependency.maybe_start()
            await dependency.wait_ready()

    async def on_started(self) -> None:
        if self.ready_when_started:
            self.set_ready()

    async def on_stop(self) -> None:
        self._ready.clear()

    def set_ready(self) -> None:
        self._ready.set()

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """TimeoutError if not ready in time."""
        await asyncio.wait_for(self._ready.wait(), timeout)

