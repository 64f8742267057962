"""Which endpoints and addresses API destinations may reach (pure, no network)."""

from __future__ import annotations

import pytest

from streams.addresses import RefusedAddress, check_address, check_url


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed(address: str) -> None:
    with pytest.raises(RefusedAddress, match="metadata"):
        check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "192.168.1.9", "169.254.3.4", "::1", "fe80::1",
                                     "fc00::5", "::ffff:127.0.0.1", "0.0.0.0"])
def test_non_global_addresses_need_the_operator_s_leave(address: str) -> None:
    with pytest.raises(RefusedAddress, match="BUSBAR_ALLOW_PRIVATE_DESTINATIONS"):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


def test_public_addresses_pass() -> None:
    check_address("93.184.216.34", allow_private=False)
    check_address("2606:2800:220:1:248:1893:25c8:1946", allow_private=False)


@pytest.mark.parametrize("url, reason", [
    ("http://example.com/", "plain http"),
    ("ftp://example.com/", "not an https"),
    ("https://localhost:8443/", "loopback"),
    ("https://metadata.google.internal/computeMetadata", "metadata host"),
    ("https://[fd00:ec2::254]/", "metadata"),
])
def test_urls_refused(url: str, reason: str) -> None:
    with pytest.raises(RefusedAddress, match=reason):
        check_url(url, allow_private=False)


def test_urls_allowed() -> None:
    check_url("https://api.example.com/orders/*", allow_private=False)
    check_url("http://127.0.0.1:8080/hook", allow_private=True)
    with pytest.raises(RefusedAddress, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=True)
