"""Server-side AWS Signature Version 4 checking, so stock boto3 clients authenticate unchanged.

The canonical request is rebuilt from what arrived on the wire exactly as botocore builds it
before sending (``botocore.auth.SigV4Auth``), which is what the SigV4 specification prescribes
for every service but S3. Refusals carry the codes and messages AWS JSON services use, so client
code and runbooks written against AWS keep working.

Deliberate departures from "whatever the client claims":

* The payload hash is always computed from the body. A client-supplied ``x-amz-content-sha256``
  must equal it (``UNSIGNED-PAYLOAD`` is therefore refused); otherwise a captured request could
  be replayed with a different body under the same signature.
* ``host`` must be among the signed headers, so a signature cannot be replayed at another server.
* ``x-amz-security-token`` is not checked: busbar issues no temporary credentials, so a token
  carries no authority; the long-term secret is what the signature proves.

Only header authentication is supported; boto3's events client never presigns URLs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from streams.api.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z")


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    *,
    region: str,
    service: str = "events",
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=15),
) -> str:
    """Check the request's SigV4 signature and return the access key id that signed it.

    ``path`` and ``query`` must be the raw, still percent-encoded strings from the request line
    (aiohttp: ``request.rel_url.raw_path`` and ``request.rel_url.raw_query_string``): decoding them
    first would change the canonical request the client signed. Repeated headers may be passed as
    a multidict (its ``items()`` yields each occurrence) and are joined as SigV4 requires.

    Raises ApiError subclasses: MissingAuthenticationTokenException (no Authorization header),
    IncompleteSignatureException (malformed header or date), InvalidSignatureException (wrong
    scope, expired, or not matching), UnrecognizedClientException (unknown access key id).
    """
    header_values = _collect_headers(headers)
    authorization = header_values.get("authorization")
    if authorization is None:
        raise MissingAuthenticationTokenException()
    key_id, scope_date, scope_region, scope_service, signed_headers, signature = _parse_authorization(
        authorization
    )

    amz_date = _request_time(header_values)
    stamp = amz_date.strftime(_AMZ_DATE_FORMAT)
    if scope_date != stamp[:8]:
        raise InvalidSignatureException(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{stamp[:8]}', from '{stamp}'."
        )
    if scope_region != region:
        raise InvalidSignatureException(
            f"Credential should be scoped to a valid region, not '{scope_region}'."
        )
    if scope_service != service:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'.")

    _check_skew(amz_date, now, max_skew)

    secret = credentials.get(key_id)
    if secret is None:
        raise UnrecognizedClientException()

    payload_hash = hashlib.sha256(body).hexdigest()
    claimed_hash = header_values.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash.strip() != payload_hash:
        raise InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )

    canonical_request = "\n".join(
        [
            method.upper(),
            _canonical_uri(path),
            _canonical_query(query),
            "".join(f"{name}:{header_values.get(name, '')}\n" for name in signed_headers),
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    scope = f"{scope_date}/{region}/{service}/{TERMINATOR}"
    string_to_sign = "\n".join(
        [ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    expected = hmac.new(
        _signing_key(secret, scope_date, region, service), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise InvalidSignatureException()
    return key_id


def _collect_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased name -> SigV4 value: each occurrence trimmed and space-collapsed, joined by ','."""
    collected: dict[str, list[str]] = {}
    for name, value in headers.items():
        collected.setdefault(name.lower(), []).append(" ".join(value.split()))
    return {name: ",".join(values) for name, values in collected.items()}


def _parse_authorization(authorization: str) -> tuple[str, str, str, str, list[str], str]:
    """(key id, scope date, region, service, signed header names, signature) from the header."""
    algorithm, _, params = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported Authorization algorithm; only {ALGORITHM} (Signature Version 4) is accepted."
        )
    fields: dict[str, str] = {}
    for part in params.split(","):
        name, eq, value = part.strip().partition("=")
        if not eq:
            raise IncompleteSignatureException(
                f"'{name[:64]}' not a valid key=value pair (missing equal-sign) in Authorization header."
            )
        fields[name] = value.strip()
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    if missing:
        raise IncompleteSignatureException(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        )

    credential = fields["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term."
        )
    key_id, scope_date, scope_region, scope_service, terminator = credential
    if terminator != TERMINATOR:
        raise InvalidSignatureException(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator[:64]}'."
        )

    signed_headers = fields["SignedHeaders"].split(";")
    if signed_headers != sorted(set(signed_headers)) or any(
        not name or name != name.lower() for name in signed_headers
    ):
        raise IncompleteSignatureException(
            "SignedHeaders must be lower-case header names, sorted and separated by ';'."
        )
    if "host" not in signed_headers:
        raise IncompleteSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    return key_id, scope_date, scope_region, scope_service, signed_headers, fields["Signature"]


def _request_time(header_values: Mapping[str, str]) -> datetime:
    """The signing time from X-Amz-Date, which every AWS SDK sends and signs over."""
    amz_date = header_values.get("x-amz-date")
    if amz_date is None:
        raise IncompleteSignatureException(
            "Authorization header requires existence of a 'X-Amz-Date' header."
        )
    bad_format = IncompleteSignatureException(
        "X-Amz-Date must be in ISO-8601 basic format, e.g. 20150830T123600Z."
    )
    if not _AMZ_DATE_RE.fullmatch(amz_date):
        raise bad_format
    try:  # the pattern admits impossible dates such as month 13
        return datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise bad_format from None


def _check_skew(signed_at: datetime, now: datetime | None, max_skew: timedelta) -> None:
    """Refuse stale or future-dated requests, bounding how long a captured request can be replayed."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    minutes = f"{max_skew.total_seconds() / 60:g} min."
    if signed_at < now - max_skew:
        raise InvalidSignatureException(
            f"Signature expired: {_stamp(signed_at)} is now earlier than {_stamp(now - max_skew)} "
            f"({_stamp(now)} - {minutes})"
        )
    if signed_at > now + max_skew:
        raise InvalidSignatureException(
            f"Signature not yet current: {_stamp(signed_at)} is still later than {_stamp(now + max_skew)} "
            f"({_stamp(now)} + {minutes})"
        )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)


def _canonical_uri(raw_path: str) -> str:
    """Dot segments and empty segments removed, then every byte but '/' and '~' encoded again.

    Encoding the already-encoded path (so '%' becomes '%25') is the non-S3 SigV4 rule.
    """
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalized = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(raw_query: str) -> str:
    """Parameters decoded, re-encoded with only unreserved characters left bare, sorted by name then value.

    Re-encoding makes equivalent spellings ('%7E' vs '~') canonical; '+' stays a literal plus,
    as SigV4 clients encode spaces as '%20'.
    """
    pairs = []
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
