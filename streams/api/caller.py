"""The account of the request being served, for decisions that depend on who calls.

The server sets it per request from the access key id that signed it (credentials.py maps
keys to accounts); each aiohttp request runs in its own task, so the value is the request's
own. None means the bus owner's account: local mode (no credentials), or a key naming none.
"""

from __future__ import annotations

from contextvars import ContextVar

CALLER_ACCOUNT: ContextVar[str | None] = ContextVar("busbar_caller_account", default=None)
