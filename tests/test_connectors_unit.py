"""The connectors' pure parts: config checks, signature checks and the mirror's forwarding decision."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
import pytest

from connectors.definitions import COMMON, Field, masked, parse_config
from connectors.mirror import REGIONS_HEADER, SOURCE_REGION_HEADER, forwarding
from connectors.webhooks import signatures
from connectors.webhooks.signatures import SignatureRejected
from streams.patterns import compile_pattern
from tests.connect_support import github_signature, stripe_signature

BODY = b'{"action": "opened"}'
SECRET = "It's a Secret to Everybody"


def test_each_bad_key_gets_its_own_error() -> None:
    fields = (*COMMON, Field("secret", "PASSWORD", "s", required=True), Field("mode", "STRING", "m", choices=("a", "b")),
              Field("on", "BOOLEAN", "b"))
    values, errors = parse_config(fields, {"connector.class": "X", "tasks.max": "0", "mode": "c", "on": "yes",
                                           "extra.key": "kept"})
    assert errors == {
        "tasks.max": ["Invalid value 0 for configuration tasks.max: Value must be at least 1"],
        "secret": ['Missing required configuration "secret" which has no default value.'],
        "mode": ["Invalid value c for configuration mode: String must be one of: a, b"],
        "on": ["Invalid value yes for configuration on: Expected value to be either true or false"],
    }
    assert values["extra.key"] == "kept"
    _, errors = parse_config(fields, {"connector.class": "X", "secret": ["the-secret-itself"]})
    assert "the-secret-itself" not in str(errors) and "[hidden]" in errors["secret"][0]
    assert masked(fields, {"secret": "abc", "mode": "a"}) == {"secret": "[hidden]", "mode": "a"}


def test_github_signature() -> None:
    # GitHub's documented example: this secret and payload give this signature.
    documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    signatures.github(SECRET, documented, b"Hello, World!")
    signatures.github(SECRET, github_signature(SECRET, BODY), BODY)
    with pytest.raises(SignatureRejected) as bad:
        signatures.github(SECRET, github_signature("other", BODY), BODY)
    assert bad.value.reason == "signature"
    with pytest.raises(SignatureRejected) as missing:
        signatures.github(SECRET, None, BODY)
    assert missing.value.reason == "missing_signature"
    with pytest.raises(SignatureRejected):
        signatures.github(SECRET, "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(), BODY)


def test_stripe_signature_and_tolerance() -> None:
    now = 1_700_000_000
    signatures.stripe(SECRET, stripe_signature(SECRET, BODY, now), BODY, now + 299, 300)
    rolled = stripe_signature("old-secret", BODY, now) + ",v1=" + stripe_signature(SECRET, BODY, now).split("v1=")[1]
    signatures.stripe(SECRET, rolled, BODY, now, 300)  # any v1 may match
    for header, at, reason in [(stripe_signature(SECRET, BODY, now), now + 301, "stale"),
                               (stripe_signature("x", BODY, now), now, "signature"),
                               ("v1=abc", now, "missing_signature"), (None, now, "missing_signature")]:
        with pytest.raises(SignatureRejected) as refused:
            signatures.stripe(SECRET, header, BODY, at, 300)
        assert refused.value.reason == reason


def test_digests_and_timestamps() -> None:
    raw = hmac.new(b"k", b"m", hashlib.sha512).digest()
    assert signatures.digest("k", "sha512", b"m", "base64") == base64.b64encode(raw).decode()
    assert signatures.digest("k", "sha1", b"m", "hex") == hmac.new(b"k", b"m", hashlib.sha1).hexdigest()
    assert signatures.parse_timestamp("1700000000") == 1_700_000_000
    assert signatures.parse_timestamp("1700000000000") == 1_700_000_000
    assert signatures.parse_timestamp("2023-11-14T22:13:20Z") == 1_700_000_000


EVENT = orjson.dumps({"source": "shop", "detail-type": "order", "detail": {"total": 5}})


def test_mirror_forwards_local_events_with_their_regions() -> None:
    headers, skipped = forwarding([("trace", b"t1")], EVENT, "us-east-1", "eu-west-1", None)
    assert skipped is None
    assert headers == [("trace", b"t1"), (SOURCE_REGION_HEADER, b"us-east-1"),
                       (REGIONS_HEADER, b"us-east-1,eu-west-1")]


def test_mirror_never_sends_an_event_to_a_region_it_has_been_in() -> None:
    came_from_west = [(SOURCE_REGION_HEADER, b"eu-west-1"), (REGIONS_HEADER, b"eu-west-1,us-east-1")]
    assert forwarding(came_from_west, EVENT, "us-east-1", "eu-west-1", None) == (None, "loop")
    # Onwards to a third region it goes, its path growing: from there it cannot come back either.
    headers, _ = forwarding(came_from_west, EVENT, "us-east-1", "ap-south-1", None)
    assert dict(headers) == {SOURCE_REGION_HEADER: b"eu-west-1", REGIONS_HEADER: b"eu-west-1,us-east-1,ap-south-1"}
    assert forwarding(headers, EVENT, "ap-south-1", "us-east-1", None) == (None, "loop")


def test_mirror_pattern_filters() -> None:
    big = compile_pattern({"detail": {"total": [{"numeric": [">", 10]}]}})
    assert forwarding(None, EVENT, "us-east-1", "eu-west-1", big) == (None, "filtered")
    bigger = orjson.dumps({"detail": {"total": 50}})
    assert forwarding(None, bigger, "us-east-1", "eu-west-1", big)[1] is None
    assert forwarding(None, b"not json", "us-east-1", "eu-west-1", big) == (None, "invalid")
