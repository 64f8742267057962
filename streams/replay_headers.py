"""The headers a replayed record carries, shared by the replay that writes them and the router
that reads them: which replay it comes from, and which of the bus's rules it may reach
(StartReplay's FilterArns, as rule names; absent: every rule of the bus)."""

from __future__ import annotations

from collections.abc import Iterable

REPLAY_NAME = "busbar-replay"
REPLAY_RULES = "busbar-replay-rules"


def encode_rules(names: Iterable[str]) -> bytes:
    """Rule names hold no comma ([.-_A-Za-z0-9]+), so a comma separates them."""
    return ",".join(names).encode()


def decode_rules(value: bytes) -> frozenset[str]:
    return frozenset(filter(None, value.decode().split(",")))
