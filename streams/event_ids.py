"""Event ids as EventBridge makes them: random (version 4) UUIDs, without a system call per id.

`uuid.uuid4()` reads the OS random source once per id (a system call each) and builds a UUID
object, about a tenth of PutEvents' time per entry under load. Here random bytes come from the
same source (os.urandom, so ids stay unguessable) a few kilobytes at a time and are cut into
the canonical text form a pool at a time; an id is then the next item of the pool's iterator.

No lock: taking an item from a list iterator is atomic under the interpreter lock, so threads
sharing the pool never get the same id; two threads finding it empty at once each make a pool,
and one of the two is dropped unused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

_POOL_IDS = 256
# the variant digit: bits 10xx, keeping the random digit's two low bits
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_pool: Iterator[str] = iter(())


def new_id() -> str:
    """A random UUID (version 4, RFC 4122 variant) in its canonical 36-character form."""
    global _pool
    try:
        return next(_pool)
    except StopIteration:
        _pool = iter(_fresh_pool())
        return next(_pool)


def _fresh_pool() -> list[str]:
    h = os.urandom(16 * _POOL_IDS).hex()
    variant = _VARIANT
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{variant[h[i + 16]]}{h[i + 17:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * _POOL_IDS, 32)]
