"""Reading a request body without letting a sender make the worker hold more than a cap."""

from __future__ import annotations

from aiohttp import web

CHUNK_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds {limit} bytes")
        self.limit = limit


async def read_capped(request: web.Request, limit: int) -> bytes:
    """The whole body; BodyTooLarge as soon as it (or its declared length) passes `limit`."""
    if (request.content_length or 0) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
