"""The configuration as a worker subsystem: ready once the config topic, as it stood at start,
is applied, so whatever requires it (the router, the API) starts from the whole picture."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.config_store import ConfigStore, Listener
from streams.subsystem import Subsystem


class ConfigService(Subsystem):
    def __init__(self, store: ConfigStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store

    async def on_start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.store.start)

    async def on_stop(self) -> None:
        await super().on_stop()
        await asyncio.get_running_loop().run_in_executor(None, self.store.stop)

    def subscribe(self, listener: Listener) -> None:
        """The configuration as it stands, then every change (see ConfigStore.subscribe)."""
        self.store.subscribe(listener)
