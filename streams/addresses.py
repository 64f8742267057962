"""Which network addresses an API destination may reach.

An API destination sends the events of whoever writes rules to whatever URL they name, from
inside the operator's network; left open, that is a way to reach internal services and the
cloud's instance metadata (credentials). So, as EventBridge (which requires public HTTPS
endpoints): loopback, private, link-local and other non-global addresses, and plain http://,
are refused unless the operator allows them (BUSBAR_ALLOW_PRIVATE_DESTINATIONS=1, e.g. for
tests or an on-premises deployment); cloud metadata addresses are refused always. The check
runs when a destination is created (for literal addresses) and again on every connection, on
the addresses the host name resolves to then, since DNS can change after the check.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# AWS's instance metadata service (IPv4 and its Nitro IPv6 form); GCP and Azure use the same
# IPv4 address, Alibaba Cloud 100.100.100.200.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254",
                                                                 "100.100.100.200"))
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
ALLOW_HINT = "set BUSBAR_ALLOW_PRIVATE_DESTINATIONS=1 on the workers to allow it"


class RefusedAddress(ValueError):
    """The destination's scheme, host or address is one busbar does not send to."""


def check_address(address: str, allow_private: bool) -> None:
    """RefusedAddress for an IP address busbar must not connect to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        raise RefusedAddress(f"{address} is a cloud metadata address; busbar never sends events there")
    if not ip.is_global and not allow_private:
        raise RefusedAddress(f"{address} is a loopback, private or link-local address; {ALLOW_HINT}")


def check_url(url: str, allow_private: bool) -> None:
    """What can be checked of an endpoint before resolving it: scheme, host name, literal address."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise RefusedAddress(f"'{url}' is not an https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise RefusedAddress(f"'{url}' is plain http://; EventBridge requires https://, {ALLOW_HINT}")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise RefusedAddress(f"'{url}' names no host")
    if host in METADATA_HOSTS:
        raise RefusedAddress(f"{host} is a cloud metadata host; busbar never sends events there")
    if host == "localhost" or host.endswith(".localhost"):
        check_address("127.0.0.1", allow_private)
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: its addresses are checked when connecting
    check_address(host, allow_private)
