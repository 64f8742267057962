"""The resolver API destinations connect through: every address a host name resolves to is
checked (streams/addresses.py) when the connection is made, so a name that resolved to a
public address when the destination was created cannot later lead to a private one."""

from __future__ import annotations

import socket

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from streams.addresses import RefusedAddress, check_address


class RefusedConnection(OSError):
    """aiohttp reports resolver errors as connection errors; this one must not be retried."""


class GuardedResolver(ThreadedResolver):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            try:
                check_address(result["host"], self.allow_private)
            except RefusedAddress as exc:
                raise RefusedConnection(f"{host} resolves to a refused address: {exc}") from None
        return results
