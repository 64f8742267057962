"""A worker subsystem whose work is a blocking loop in a thread of its own (the router, the correlation feed)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from streams.config_service import ConfigService
from streams.model import Change
from streams.subsystem import Subsystem

log = logging.getLogger(__name__)

THREAD_JOIN_S = 30.0


class ThreadedSubsystem(Subsystem):
    """A subsystem whose work is a blocking loop (librdkafka calls end to end) in a thread of its
    own, fed the configuration's changes through a queue. A crash of the loop crashes the
    service, and so the worker, rather than leaving it running without that part."""

    ready_when_started = False
    thread_name = "busbar"

    def __init__(self, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self._config = config
        self._changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_loop(self, on_ready: Callable[[], None]) -> None:
        """The loop: runs until self._stopping is set; calls on_ready (from its thread) once ready."""
        raise NotImplementedError

    async def on_start(self) -> None:
        self._config.subscribe(self._changes.put)
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run_guarded, args=(loop,), name=self.thread_name, daemon=True)
        self._thread.start()

    async def on_stop(self) -> None:
        await super().on_stop()
        self._stopping.set()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, THREAD_JOIN_S)

    def _run_guarded(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.run_loop(lambda: loop.call_soon_threadsafe(self.set_ready))
        except Exception as exc:
            log.exception("%s thread failed", self.thread_name)
            asyncio.run_coroutine_threadsafe(self.crash(exc), loop)
