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
import logging
import threading
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

import mode

log = logging.getLogger(__name__)

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


class ThreadSubsystem(Subsystem):
    """A subsystem whose work is a blocking loop (librdkafka calls end to end) in a thread of
    its own: started with the service, asked to stop through `stopping`, joined on stop. A
    failure of the thread crashes the service, and so the worker, rather than leaving it
    healthy and idle."""

    thread_name = "busbar-thread"
    JOIN_S = 30.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    async def on_start(self) -> None:
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._guarded, args=(loop,), name=self.thread_name, daemon=True)
        self._thread.start()

    async def on_stop(self) -> None:
        await super().on_stop()
        self._stopping.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, self.JOIN_S)

    def _guarded(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.run_thread(loop)
        except Exception as exc:
            log.exception("%s failed", self.thread_name)
            asyncio.run_coroutine_threadsafe(self.crash(exc), loop)

    @abstractmethod
    def run_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop; returns once `self._stopping` is set. `loop` is the service's event loop."""
