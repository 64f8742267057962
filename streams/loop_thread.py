"""A subsystem whose work is a blocking loop (librdkafka calls end to end) in a thread of its own.

The router and the scheduler are such loops. Each hears the configuration through a queue
(the config listener must be quick) and stops when `stopping` is set; a loop that raises
crashes the subsystem, and so the worker, rather than leaving it half alive.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from abc import abstractmethod
from typing import Any

from streams.config_service import ConfigService
from streams.model import Change
from streams.subsystem import Subsystem

log = logging.getLogger(__name__)
JOIN_TIMEOUT_S = 30.0


class LoopThreadSubsystem(Subsystem):
    thread_name = "busbar-loop"

    def __init__(self, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self._config = config
        self._changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run until `self._stopping` is set, taking config changes from `self._changes`."""

    async def on_start(self) -> None:
        self._config.subscribe(self._changes.put)
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run_guarded, args=(loop,), name=self.thread_name, daemon=True)
        self._thread.start()

    async def on_stop(self) -> None:
        await super().on_stop()
        self._stopping.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, JOIN_TIMEOUT_S)

    def _run_guarded(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.run_loop(loop)
        except Exception as exc:
            log.exception("%s thread failed", self.thread_name)
            asyncio.run_coroutine_threadsafe(self.crash(exc), loop)
