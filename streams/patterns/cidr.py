"""IP address ranges for the `cidr` operator, as integers so matching is a dict lookup."""

from __future__ import annotations

import ipaddress
import re
import socket

from .errors import InvalidEventPattern

# Python's ip_network also accepts netmasks ("/255.255.0.0") and scope ids; EventBridge
# documents only address/prefix-length, so anything else is refused up front.
_CIDR_SHAPE = re.compile(r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$")


def parse_cidr(text: str, path: str) -> tuple[int, int, int]:
    """(version, prefix length, network number) with host bits dropped."""
    if not _CIDR_SHAPE.match(text):
        raise InvalidEventPattern(path, f"{text!r} is not a CIDR block (address/prefix-length)")
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InvalidEventPattern(path, f"{text!r} is not a valid CIDR block: {exc}") from None
    bits = net.max_prefixlen
    return net.version, net.prefixlen, int(net.network_address) >> (bits - net.prefixlen)


def parse_ip(value: str) -> tuple[int, int] | None:
    """(version, address) for an event string that is an IP address, else None.

    inet_pton is the C parser (several times faster than ipaddress); it accepts exactly the
    dotted-quad and RFC 4291 text forms.
    """
    if ":" in value:
        family, version = socket.AF_INET6, 6
    elif "." in value:
        family, version = socket.AF_INET, 4
    else:
        return None
    try:
        packed = socket.inet_pton(family, value)
    except (OSError, ValueError):
        return None
    return version, int.from_bytes(packed, "big")


def in_block(ip: tuple[int, int], version: int, prefixlen: int, network: int) -> bool:
    """Whether a parsed address lies in a parsed block."""
    if ip[0] != version:
        return False
    bits = 32 if version == 4 else 128
    return ip[1] >> (bits - prefixlen) == network
