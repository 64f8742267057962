"""Moves OAuth connections out of AUTHORIZING, as EventBridge does after creating or updating
one: a token is fetched with the connection's client credentials, and the connection becomes
AUTHORIZED, or DEAUTHORIZED with the endpoint's reason when the credentials are refused. An
endpoint that cannot be reached is tried again later; the connection stays AUTHORIZING.
Every worker may do this for the same connection; the last write wins and says the same.
"""

from __future__ import annotations

import asyncio
import logging
import time

from streams.config_service import ConfigService
from streams.delivery.oauth import TokenError
from streams.delivery.sender import Sender
from streams.model import Change, connection_key
from streams.secret_box import SecretUnavailable

log = logging.getLogger(__name__)

RETRY_S = 10.0


class Authorizer:
    def __init__(self, config: ConfigService, sender: Sender, write_timeout_s: float) -> None:
        self._config = config
        self._sender = sender
        self._write_timeout_s = write_timeout_s
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    def on_change(self, change: Change) -> None:
        """Called on the config reader thread: only hands the name over."""
        if change.kind == "connection" and change.new and change.new.get("ConnectionState") == "AUTHORIZING":
            self._loop.call_soon_threadsafe(self._queue.put_nowait, change.new["Name"])

    async def run(self) -> None:
        while True:
            name = await self._queue.get()
            try:
                await self._authorize(name)
            except Exception:
                log.exception("connection %s: authorization failed unexpectedly", name)

    async def _authorize(self, name: str) -> None:
        record = self._config.store.model.connection(name)
        if record is None or record.get("ConnectionState") != "AUTHORIZING" or "Secret" not in record:
            return
        tokens = self._sender.tokens
        assert tokens is not None
        update: dict[str, object]
        try:
            auth = self._sender.secrets.open(record["Secret"])
            await tokens.token(record["Secret"], auth["OAuthParameters"])
            update = {"ConnectionState": "AUTHORIZED", "LastAuthorizedTime": round(time.time(), 3)}
        except TokenError as exc:
            if exc.retriable:
                log.warning("connection %s: %s; trying again in %.0f s", name, exc, RETRY_S)
                self._loop.call_later(RETRY_S, self._queue.put_nowait, name)
                return
            update = {"ConnectionState": "DEAUTHORIZED", "StateReason": str(exc)[:512]}
        except SecretUnavailable as exc:
            update = {"ConnectionState": "DEAUTHORIZED", "StateReason": str(exc)[:512]}
        await self._update(name, record["Secret"], update)

    async def deauthorize(self, name: str, secret: str, reason: str) -> None:
        """The endpoint refused the connection's credentials (EventBridge deauthorizes then too)."""
        await self._update(name, secret, {"ConnectionState": "DEAUTHORIZED", "StateReason": reason[:512]})

    async def _update(self, name: str, secret: str, update: dict[str, object]) -> None:
        current = self._config.store.model.connection(name)
        if current is None or current.get("Secret") != secret:
            return  # changed meanwhile (new credentials): this outcome is not about them
        if all(current.get(key) == value for key, value in update.items()):
            return
        await self._config.store.awrite(connection_key(name), {**current, **update}, self._write_timeout_s)
