"""OAuth client-credentials tokens for connections: fetched from the authorization endpoint,
cached per connection, fetched anew shortly before they expire and when an endpoint answers
401 with the cached one.

The request is the client-credentials grant: the client id and secret as basic auth,
`grant_type=client_credentials` (unless the connection's body parameters set it) and the
connection's OAuthHttpParameters. The answer is read as RFC 6749 says: `access_token` and
`expires_in` (an hour when absent). A token is keyed by the connection's sealed secret, so
updating a connection's credentials never reuses a token of the old ones.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from streams.addresses import RefusedAddress, check_url
from streams.delivery.requests import basic_authorization, pairs

DEFAULT_EXPIRES_S = 3600
REFRESH_MARGIN_S = 60.0  # fetch anew when less than this (or a tenth of its lifetime) remains


class TokenError(Exception):
    def __init__(self, reason: str, retriable: bool) -> None:
        super().__init__(reason)
        self.retriable = retriable


@dataclass
class Token:
    value: str
    refresh_at: float  # monotonic


class TokenCache:
    def __init__(self, session: aiohttp.ClientSession, allow_private: bool, timeout_s: float) -> None:
        self._session = session
        self._allow_private = allow_private
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def token(self, cache_key: str, oauth: dict[str, Any]) -> str:
        """A token not about to expire, fetched if the cache has none."""
        lock = self._locks.setdefault(cache_key, asyncio.Lock())
        async with lock:  # one fetch per connection at a time; the others wait for its token
            cached = self._tokens.get(cache_key)
            if cached is not None and time.monotonic() < cached.refresh_at:
                return cached.value
            token = await self._fetch(oauth)
            self._tokens[cache_key] = token
            return token.value

    def forget(self, cache_key: str, value: str) -> None:
        """Drop `value` if it is still the cached token (another request may have replaced it)."""
        cached = self._tokens.get(cache_key)
        if cached is not None and cached.value == value:
            del self._tokens[cache_key]

    async def _fetch(self, oauth: dict[str, Any]) -> Token:
        endpoint = str(oauth["AuthorizationEndpoint"])
        try:
            check_url(endpoint, self._allow_private)
        except RefusedAddress as exc:
            raise TokenError(f"authorization endpoint refused: {exc}", retriable=False) from None
        client = oauth["ClientParameters"]
        extra = oauth.get("OAuthHttpParameters") or {}
        headers = dict(pairs(extra.get("HeaderParameters") or []))
        headers["Authorization"] = basic_authorization(client["ClientID"], client["ClientSecret"])
        form = {"grant_type": "client_credentials", **dict(pairs(extra.get("BodyParameters") or []))}
        method = str(oauth.get("HttpMethod", "POST"))
        query = pairs(extra.get("QueryStringParameters") or [])
        body = None
        if method == "GET":
            query = [*query, *form.items()]
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        self.fetches += 1
        try:
            async with self._session.request(method, endpoint, params=query, data=body, headers=headers,
                                             timeout=self._timeout, allow_redirects=False) as response:
                text = await response.text()
                if response.status >= 300:
                    raise TokenError(f"authorization endpoint answered {response.status}: {text[:200]}",
                                     retriable=response.status == 429 or response.status >= 500)
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"authorization endpoint unreachable: {type(exc).__name__}"
            raise TokenError(reason, retriable=True) from None
        except ValueError:
            raise TokenError("authorization endpoint answered no JSON", retriable=False) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise TokenError("authorization endpoint answered no access_token", retriable=False)
        lifetime = float(answer.get("expires_in") or DEFAULT_EXPIRES_S)
        margin = min(REFRESH_MARGIN_S, lifetime / 10)
        return Token(answer["access_token"], time.monotonic() + lifetime - margin)
