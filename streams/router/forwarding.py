"""EventBridge's one-hop rule for bus targets, in one place.

An event a rule puts on another bus carries the header FORWARDED_FROM. The receiving bus
routes it to its rules' other targets but never on to a third bus (nor back), which is also
what keeps bus-to-bus loops from forming: such a send is refused with NOT_FORWARDED_AGAIN and
dead-lettered, so the refusal is on record.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.router.delivery import Headers

FORWARDED_FROM = "busbar-forwarded-from"
NOT_FORWARDED_AGAIN = ("event was forwarded from another bus; as in EventBridge, an event received "
                       "from one bus is not routed on to a third bus")


def forwarded_from(headers: Iterable[tuple[str, bytes]] | None) -> bytes | None:
    """The bus that forwarded a record with these headers, if one did."""
    for name, value in headers or ():
        if name == FORWARDED_FROM:
            return value
    return None


def forwarding_headers(headers: Headers, bus: str) -> Headers:
    """A bus target's headers: its own, plus the bus it forwards from."""
    return [*headers, (FORWARDED_FROM, bus.encode())]


def refused_headers(headers: Headers, origin: bytes) -> Headers:
    """A refused forward's dead-letter headers name the bus the event first came from."""
    return [*(h for h in headers if h[0] != FORWARDED_FROM), (FORWARDED_FROM, origin)]
