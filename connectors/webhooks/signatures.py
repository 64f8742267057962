"""HMAC signature checks as webhook senders compute them. Pure functions, no HTTP.

Every comparison is constant-time (hmac.compare_digest) so a sender's signature cannot be
guessed byte by byte from response times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")


class SignatureRejected(Exception):
    """A request whose signature does not hold; `reason` is the metric label and log word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def digest(secret: str, algorithm: str, message: bytes, encoding: str) -> str:
    raw = hmac.new(secret.encode(), message, ALGORITHMS[algorithm]).digest()
    return raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()


def same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def github(secret: str, header: str | None, body: bytes) -> None:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`."""
    if not header:
        raise SignatureRejected("missing_signature", "missing X-Hub-Signature-256 header")
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not same(digest(secret, "sha256", body, "hex"), given.strip().lower()):
        raise SignatureRejected("signature", "X-Hub-Signature-256 does not match the body")


def stripe(secret: str, header: str | None, body: bytes, now: float, tolerance_s: int) -> None:
    """`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">[,v1=...]`: any v1 may
    match (Stripe sends several while a secret is rolled); t must be within the tolerance."""
    if not header:
        raise SignatureRejected("missing_signature", "missing Stripe-Signature header")
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value.strip() for key, value in pairs if key.strip() == "t"]
    given = [value.strip() for key, value in pairs if key.strip() == "v1"]
    if not stamps or not stamps[0].isdigit() or not given:
        raise SignatureRejected("missing_signature", "Stripe-Signature has no t= timestamp or no v1= signature")
    expected = digest(secret, "sha256", stamps[0].encode() + b"." + body, "hex")
    if not any(same(expected, candidate) for candidate in given):
        raise SignatureRejected("signature", "no v1 signature in Stripe-Signature matches the body")
    check_age(float(stamps[0]), now, tolerance_s)


def check_age(stamp: float, now: float, tolerance_s: int) -> None:
    if tolerance_s > 0 and abs(now - stamp) > tolerance_s:
        raise SignatureRejected("stale", f"timestamp is {abs(now - stamp):.0f} s away from now "
                                         f"(tolerance {tolerance_s} s)")


def parse_timestamp(value: str) -> float:
    """Unix seconds (or milliseconds) or ISO 8601, the forms senders put in timestamp headers."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise SignatureRejected("missing_signature", f"timestamp {text[:40]!r} is neither unix time "
                                                         "nor ISO 8601") from None
    return number / 1000 if number > 1e11 else number
