"""A thread subsystem that follows the configuration: the router's and the scheduler's loops.

Each hears the configuration through a queue (a config listener must be quick) filled from the
moment the subsystem starts, first with the configuration as it stands.
"""

from __future__ import annotations

import queue
from typing import Any

from streams.config_service import ConfigService
from streams.model import Change
from streams.subsystem import ThreadSubsystem


class LoopThreadSubsystem(ThreadSubsystem):
    def __init__(self, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self._config = config
        self._changes: queue.SimpleQueue[Change] = queue.SimpleQueue()

    async def on_start(self) -> None:
        self._config.subscribe(self._changes.put)
        await super().on_start()
