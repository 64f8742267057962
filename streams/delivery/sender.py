"""One delivery attempt: the request made from a delivery, sent, and its outcome classified.

Nothing of the request's secrets (credentials, parameter values, the URL with its query
string) goes into an outcome's error text: that text ends up in logs and dead-letter headers.
Redirects are not followed (a 3xx is a failure that is not retried): following one would send
the event, and its credentials, wherever the endpoint points, checked or not.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import aiohttp

from streams.addresses import RefusedAddress, check_url
from streams.delivery.guard import GuardedResolver, RefusedConnection
from streams.delivery.oauth import TokenCache, TokenError
from streams.delivery.requests import HttpRequest, RequestError, build, static_credentials
from streams.delivery.retries import Outcome, parse_retry_after, retriable_status
from streams.secret_box import SecretBox, SecretUnavailable

BODY_EXCERPT = 200
REFUSED_CREDENTIALS = (401, 407)  # EventBridge deauthorizes an API key or basic connection on these


class Sender:
    def __init__(self, secrets: SecretBox, allow_private: bool, timeout_s: float) -> None:
        self.secrets = secrets
        self._allow_private = allow_private
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self.tokens: TokenCache | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._allow_private), use_dns_cache=False,
                                         limit=0)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        self.tokens = TokenCache(self._session, self._allow_private, self._timeout_s)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def attempt(self, payload: bytes, target: dict[str, Any], destination: dict[str, Any],
                      connection: dict[str, Any] | None) -> Outcome:
        if connection is None:
            return Outcome(False, error="its connection does not exist")
        kind = connection.get("AuthorizationType", "")
        if connection.get("ConnectionState") == "DEAUTHORIZED" or "Secret" not in connection:
            return Outcome(False, error=f"connection {connection.get('Name')} is DEAUTHORIZED")
        try:
            auth = self.secrets.open(connection["Secret"])
            request = build(payload, target, destination, auth)
            check_url(request.url, self._allow_private)
        except (SecretUnavailable, RequestError, RefusedAddress) as exc:
            return Outcome(False, error=str(exc))
        request.headers.update(static_credentials(kind, auth))
        if kind != "OAUTH_CLIENT_CREDENTIALS":
            outcome = await self._send(request)
            return replace(outcome, deauthorizes=True) if outcome.status in REFUSED_CREDENTIALS else outcome
        assert self.tokens is not None
        key = connection["Secret"]
        for _ in range(2):  # a 401 with a cached token: fetch a fresh one and try once more
            try:
                token = await self.tokens.token(key, auth["OAuthParameters"])
            except TokenError as exc:  # refused for good: the connection is deauthorized, as on EventBridge
                return Outcome(False, error=f"OAuth token: {exc}", retriable=exc.retriable,
                               deauthorizes=not exc.retriable)
            request.headers["Authorization"] = f"Bearer {token}"
            outcome = await self._send(request)
            if outcome.status != 401:
                break
            self.tokens.forget(key, token)
        return outcome

    async def _send(self, request: HttpRequest) -> Outcome:
        assert self._session is not None
        started = time.monotonic()
        try:
            async with self._session.request(request.method, request.url, params=request.query,
                                             headers=request.headers, data=request.body,
                                             timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                                             allow_redirects=False) as response:
                text = (await response.content.read(BODY_EXCERPT * 4)).decode("utf-8", "replace")
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            return Outcome(False, error=f"timed out after {self._timeout_s:g} s", retriable=True,
                           seconds=time.monotonic() - started)
        except aiohttp.ClientConnectorError as exc:
            refused = isinstance(exc.os_error, RefusedConnection)
            reason = str(exc.os_error) if refused else f"cannot connect ({type(exc.os_error).__name__})"
            return Outcome(False, error=reason, retriable=not refused, seconds=time.monotonic() - started)
        except (aiohttp.ClientError, OSError) as exc:
            return Outcome(False, error=f"connection failed ({type(exc).__name__})", retriable=True,
                           seconds=time.monotonic() - started)
        seconds = time.monotonic() - started
        if 200 <= status < 300:
            return Outcome(True, status=status, seconds=seconds)
        excerpt = " ".join(text.split())[:BODY_EXCERPT]
        error = f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        return Outcome(False, status=status, error=error, retriable=retriable_status(status),
                       retry_after_s=retry_after, seconds=seconds)
