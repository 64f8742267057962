"""SigV4 verification against signatures made by botocore itself, and the credentials it checks them with."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from streams.api import errors
from streams.api.credentials import CredentialMap, load_credentials
from streams.api.errors import ApiError
from streams.api.sigv4 import verify
from tests.test_api_errors import events_client, serve

KEY = "AKIDBUSBAREXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDS = {KEY: SECRET}
REGION = "us-east-1"
SIGNED_AT = datetime(2024, 5, 17, 12, 30, 0, tzinfo=UTC)
ENDPOINT = "http://127.0.0.1:4010"
BODY = json.dumps(
    {"Entries": [{"Source": "app.orders", "DetailType": "OrderPlaced", "Detail": '{"id": 1}'}]}
).encode()


def signed(
    url: str = ENDPOINT + "/",
    body: bytes = BODY,
    *,
    key: str = KEY,
    secret: str = SECRET,
    token: str | None = None,
    region: str = REGION,
    service: str = "events",
    extra: Sequence[tuple[str, str]] = (),
) -> CIMultiDict[str]:
    """Headers as a client sends them after botocore's SigV4Auth signed a PutEvents-like POST.

    Host is added the way the HTTP client adds it on the wire; botocore signs it from the URL.
    ``extra`` headers may repeat a name: botocore's header map keeps every occurrence.
    """
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSEvents.PutEvents",
        },
    )
    for name, value in extra:
        request.headers[name] = value  # appends, like email.message.Message
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT.replace(tzinfo=None)):
        SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    return CIMultiDict([("Host", urlsplit(url).netloc), *request.headers.items()])


def check(
    headers: Mapping[str, str],
    body: bytes = BODY,
    *,
    url: str = ENDPOINT + "/",
    now: datetime = SIGNED_AT,
    method: str = "POST",
) -> str:
    parts = urlsplit(url)
    return verify(method, parts.path or "/", parts.query, headers, body, CREDS, region=REGION, now=now)


def refused(error: type[ApiError], headers: Mapping[str, str], body: bytes = BODY, **kwargs) -> ApiError:
    with pytest.raises(error) as raised:
        check(headers, body, **kwargs)
    return raised.value


# --- acceptance -------------------------------------------------------------------------------


def test_accepts_botocore_signature() -> None:
    assert check(signed()) == KEY


def test_accepts_any_case_header_names() -> None:
    headers = {name.upper(): value for name, value in signed().items()}
    assert check(headers) == KEY


def test_unsigned_headers_may_change() -> None:
    headers = signed()
    headers["User-Agent"] = "something else"
    headers["X-Forwarded-For"] = "10.0.0.1"
    assert check(headers) == KEY


def test_accepts_within_skew_either_way() -> None:
    headers = signed()
    assert check(headers, now=SIGNED_AT + timedelta(minutes=14, seconds=59)) == KEY
    assert check(headers, now=SIGNED_AT - timedelta(minutes=14, seconds=59)) == KEY


def test_naive_now_is_utc() -> None:
    assert check(signed(), now=SIGNED_AT.replace(tzinfo=None)) == KEY


def test_query_string_and_encoded_path() -> None:
    url = ENDPOINT + "/some/a%20b/path?b=2&a=hello%20world&a=x&flag="
    assert check(signed(url), url=url) == KEY
    # Reordered parameters are the same canonical query; a changed value is not.
    assert check(signed(url), url=ENDPOINT + "/some/a%20b/path?a=x&flag=&b=2&a=hello%20world") == KEY
    refused(errors.InvalidSignatureException, signed(url), url=ENDPOINT + "/some/a%20b/path?b=3&a=x&flag=")
    refused(
        errors.InvalidSignatureException, signed(url), url=ENDPOINT + "/other?b=2&a=hello%20world&a=x&flag="
    )


@settings(max_examples=200, deadline=None)
@given(
    segments=st.lists(st.text(min_size=0, max_size=8), max_size=4),
    params=st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=4),
)
def test_any_path_and_query_botocore_can_send(segments: list[str], params: list[tuple[str, str]]) -> None:
    """Whatever path and query botocore encodes and signs, the same raw strings verify."""
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    query = "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in params)
    url = ENDPOINT + path + ("?" + query if query else "")
    assert check(signed(url), url=url) == KEY


def test_session_token_is_signed_over() -> None:
    headers = signed(token="session-token-value")
    assert headers["X-Amz-Security-Token"] == "session-token-value"
    assert "x-amz-security-token" in headers["Authorization"]
    assert check(headers) == KEY
    headers["X-Amz-Security-Token"] = "another-token"
    refused(errors.InvalidSignatureException, headers)


def test_repeated_headers_from_a_multidict() -> None:
    headers = signed(extra=[("X-Custom", " a "), ("X-Custom", "b  c")])
    assert headers.getall("X-Custom") == [" a ", "b  c"]
    assert check(headers) == KEY
    headers.add("X-Custom", "d")
    refused(errors.InvalidSignatureException, headers)


def test_matching_content_sha256_header_is_accepted() -> None:
    headers = signed(extra=[("X-Amz-Content-SHA256", hashlib.sha256(BODY).hexdigest())])
    assert check(headers) == KEY


# --- refusals ---------------------------------------------------------------------------------


def test_tampered_body() -> None:
    error = refused(errors.InvalidSignatureException, signed(), BODY.replace(b"OrderPlaced", b"OrderPaid__"))
    assert error.message == errors.InvalidSignatureException.default_message


def test_tampered_body_under_a_claimed_payload_hash() -> None:
    headers = signed(extra=[("X-Amz-Content-SHA256", hashlib.sha256(BODY).hexdigest())])
    error = refused(errors.InvalidSignatureException, headers, b"{}")
    assert "x-amz-content-sha256" in error.message


def test_unsigned_payload_is_refused() -> None:
    headers = signed(extra=[("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")])
    refused(errors.InvalidSignatureException, headers)


def test_tampered_signed_header() -> None:
    headers = signed()
    headers["X-Amz-Target"] = "AWSEvents.DeleteRule"
    refused(errors.InvalidSignatureException, headers)


def test_missing_signed_header() -> None:
    headers = signed()
    del headers["X-Amz-Target"]
    refused(errors.InvalidSignatureException, headers)


def test_other_host() -> None:
    headers = signed()
    headers["Host"] = "busbar.example.com"
    refused(errors.InvalidSignatureException, headers)


def test_other_method() -> None:
    refused(errors.InvalidSignatureException, signed(), method="PUT")


def test_wrong_secret_does_not_leak_secret_or_expected_signature() -> None:
    good_signature = signed()["Authorization"].rsplit("Signature=", 1)[1]
    error = refused(errors.InvalidSignatureException, signed(secret="not-the-secret"))
    status, _, body = error.to_response()
    assert status == 400
    for text in (str(error), repr(error), body.decode()):
        assert SECRET not in text
        assert good_signature not in text


def test_unknown_access_key_id() -> None:
    error = refused(errors.UnrecognizedClientException, signed(key="AKIDSTRANGER"))
    assert error.message == "The security token included in the request is invalid."


def test_missing_authorization() -> None:
    headers = signed()
    del headers["Authorization"]
    error = refused(errors.MissingAuthenticationTokenException, headers)
    assert error.message == "Request is missing Authentication Token"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/events/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/events/aws4_request, "
        "SignedHeaders=host;x-amz-date",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=/20240517/us-east-1/events/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/events/aws4_request, "
        "SignedHeaders=x-amz-date;x-amz-target, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/events/aws4_request, "
        "SignedHeaders=x-amz-date;host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIDBUSBAREXAMPLE/20240517/us-east-1/events/aws4_request, "
        "SignedHeaders=Host;X-Amz-Date, Signature=abc",
    ],
    ids=[
        "empty",
        "basic",
        "algorithm-only",
        "no-equals",
        "no-signature",
        "no-signature-2",
        "four-part-credential",
        "empty-key-id",
        "host-not-signed",
        "unsorted",
        "upper-case",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    headers = signed()
    headers["Authorization"] = authorization
    refused(errors.IncompleteSignatureException, headers)


def test_wrong_terminator() -> None:
    headers = signed()
    headers["Authorization"] = headers["Authorization"].replace("/aws4_request", "/aws5_request")
    error = refused(errors.InvalidSignatureException, headers)
    assert "terminator" in error.message


def test_missing_or_malformed_date() -> None:
    headers = signed()
    del headers["X-Amz-Date"]
    assert "X-Amz-Date" in refused(errors.IncompleteSignatureException, headers).message
    for bad in ("2024-05-17T12:30:00Z", "20241317T123000Z", "yesterday"):
        headers["X-Amz-Date"] = bad
        assert "ISO-8601" in refused(errors.IncompleteSignatureException, headers).message


def test_expired() -> None:
    error = refused(errors.InvalidSignatureException, signed(), now=SIGNED_AT + timedelta(minutes=16))
    assert error.message == (
        "Signature expired: 20240517T123000Z is now earlier than 20240517T123100Z (20240517T124600Z - 15 min.)"
    )


def test_not_yet_current() -> None:
    error = refused(errors.InvalidSignatureException, signed(), now=SIGNED_AT - timedelta(minutes=16))
    assert error.message.startswith("Signature not yet current: 20240517T123000Z is still later than")


def test_custom_skew() -> None:
    headers = signed()
    later = SIGNED_AT + timedelta(minutes=2)
    with pytest.raises(errors.InvalidSignatureException, match="- 1 min"):
        verify("POST", "/", "", headers, BODY, CREDS, region=REGION, now=later, max_skew=timedelta(minutes=1))


def test_date_header_not_matching_scope_date() -> None:
    headers = signed()
    headers["X-Amz-Date"] = "20240518T003000Z"
    error = refused(errors.InvalidSignatureException, headers, now=datetime(2024, 5, 18, 0, 30, tzinfo=UTC))
    assert error.message.startswith("Date in Credential scope does not match")


def test_wrong_region_in_scope() -> None:
    error = refused(errors.InvalidSignatureException, signed(region="eu-west-1"))
    assert error.message == "Credential should be scoped to a valid region, not 'eu-west-1'."


def test_wrong_service_in_scope() -> None:
    error = refused(errors.InvalidSignatureException, signed(service="sqs"))
    assert error.message == "Credential should be scoped to correct service: 'events'."


# --- through a real boto3 client --------------------------------------------------------------


@pytest.fixture()
def verifying_server(monkeypatch: pytest.MonkeyPatch):
    """A local API that runs verify() on exactly what aiohttp received and echoes the caller's key."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    callers: list[str] = []

    def respond(request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            callers.append(
                verify(
                    request.method,
                    request.rel_url.raw_path,
                    request.rel_url.raw_query_string,
                    request.headers,
                    body,
                    CREDS,
                    region=REGION,
                )
            )
        except ApiError as error:
            return error.to_response()
        reply = {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]} if b"Entries" in body else {}
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(reply).encode()

    with serve(respond) as endpoint:
        yield endpoint, callers


def test_boto3_signature_passes(verifying_server) -> None:
    endpoint, callers = verifying_server
    client = events_client(endpoint, key=KEY, secret=SECRET)
    assert client.list_event_buses()["ResponseMetadata"]["HTTPStatusCode"] == 200
    entries = [{"Source": "app.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": "ü/%+ "})}]
    assert client.put_events(Entries=entries)["FailedEntryCount"] == 0
    assert callers == [KEY, KEY]


def test_boto3_session_token_passes(verifying_server) -> None:
    endpoint, callers = verifying_server
    client = boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        aws_session_token="sts-token",
    )
    client.list_event_buses()
    assert callers == [KEY]


@pytest.mark.parametrize(
    ("client_kwargs", "code"),
    [
        ({"key": KEY, "secret": "wrong-secret"}, "InvalidSignatureException"),
        ({"key": "AKIDSTRANGER", "secret": SECRET}, "UnrecognizedClientException"),
        ({"key": KEY, "secret": SECRET, "region": "eu-west-1"}, "InvalidSignatureException"),
    ],
    ids=["wrong-secret", "unknown-key", "wrong-region"],
)
def test_boto3_refusals(verifying_server, client_kwargs: dict[str, str], code: str) -> None:
    endpoint, callers = verifying_server
    with pytest.raises(ClientError) as raised:
        events_client(endpoint, **client_kwargs).list_event_buses()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert callers == []


# --- credentials ------------------------------------------------------------------------------


def test_nothing_configured_means_local_mode() -> None:
    assert load_credentials({}) is None
    assert load_credentials({"BUSBAR_CREDENTIALS_FILE": "", "BUSBAR_ACCESS_KEY_ID": " "}) is None


def test_env_pair() -> None:
    creds = load_credentials({"BUSBAR_ACCESS_KEY_ID": KEY, "BUSBAR_SECRET_ACCESS_KEY": SECRET})
    assert creds == {KEY: SECRET}
    assert isinstance(creds, CredentialMap)


@pytest.mark.parametrize("present", ["BUSBAR_ACCESS_KEY_ID", "BUSBAR_SECRET_ACCESS_KEY"])
def test_env_pair_half_set(present: str) -> None:
    missing = {"BUSBAR_ACCESS_KEY_ID", "BUSBAR_SECRET_ACCESS_KEY"} - {present}
    with pytest.raises(ValueError, match=missing.pop()) as raised:
        load_credentials({present: SECRET})
    assert SECRET not in str(raised.value)


def test_env_key_id_with_slash() -> None:
    with pytest.raises(ValueError, match="BUSBAR_ACCESS_KEY_ID") as raised:
        load_credentials({"BUSBAR_ACCESS_KEY_ID": SECRET, "BUSBAR_SECRET_ACCESS_KEY": KEY})
    assert SECRET not in str(raised.value)


def test_ini_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "# busbar keys\n"
        "[default]\n"
        f"aws_access_key_id = {KEY}\n"
        f"aws_secret_access_key = {SECRET}\n"
        "\n[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=p%ss=word\n"
        "\n[assume]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n"
    )
    assert load_credentials({"BUSBAR_CREDENTIALS_FILE": str(path)}) == {KEY: SECRET, "AKIDCI": "p%ss=word"}


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({KEY: SECRET, "AKIDCI": "other"}), encoding="utf-8-sig")
    assert load_credentials({"BUSBAR_CREDENTIALS_FILE": str(path)}) == {KEY: SECRET, "AKIDCI": "other"}


def test_file_and_env_merge(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({KEY: SECRET}))
    env = {
        "BUSBAR_CREDENTIALS_FILE": str(path),
        "BUSBAR_ACCESS_KEY_ID": "AKIDENV",
        "BUSBAR_SECRET_ACCESS_KEY": "s",
    }
    assert load_credentials(env) == {KEY: SECRET, "AKIDENV": "s"}
    env["BUSBAR_ACCESS_KEY_ID"] = KEY
    with pytest.raises(ValueError, match="different secrets") as raised:
        load_credentials(env)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (f"aws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n", "no \\[section\\] header"),
        (f"[default]\naws_access_key_id = {KEY}\n{SECRET}\n", "cannot parse line 3"),
        (f"[default]\naws_secret_access_key = {SECRET}\n", "needs both"),
        (f"[a]\naws_access_key_id=K\naws_secret_access_key={SECRET}\n[a]\n", "appears twice"),
        (
            f"[a]\naws_access_key_id=K\naws_secret_access_key={SECRET}\naws_secret_access_key=x\n",
            "appears twice",
        ),
        (
            f"[a]\naws_access_key_id=K\naws_secret_access_key={SECRET}\n[b]\naws_access_key_id=K\naws_secret_access_key=x\n",
            "different secrets",
        ),
        (f"[a]\naws_access_key_id={SECRET}\naws_secret_access_key={KEY}\n", "not valid"),
        ("[a]\nregion = us-east-1\n", "contains no credentials"),
        ("", "contains no credentials"),
        (f'{{"{KEY}": "{SECRET}",}}', "invalid JSON"),
        (f'{{"{KEY}": "{SECRET}", "{KEY}": "x"}}', "appears twice"),
        (f'{{"{KEY}": 42}}', "non-empty string"),
        (f'{{"{SECRET}": "{KEY}"}}', "not valid"),
        (f'[{{"{KEY}": "{SECRET}"}}]', "contains no credentials"),
        ("{}", "contains no credentials"),
    ],
)
def test_malformed_file(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "creds"
    path.write_text(content)
    with pytest.raises(ValueError, match=complaint) as raised:
        load_credentials({"BUSBAR_CREDENTIALS_FILE": str(path)})
    message = str(raised.value)
    assert str(path) in message and "BUSBAR_CREDENTIALS_FILE" in message
    assert SECRET not in message
    # Parser exceptions quote the offending line; they must not ride along in a traceback.
    assert raised.value.__suppress_context__ or raised.value.__context__ is None


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(ValueError, match="cannot read credentials file") as raised:
        load_credentials({"BUSBAR_CREDENTIALS_FILE": str(path)})
    assert str(path) in str(raised.value)


def test_credentials_never_print_secrets(tmp_path: Path) -> None:
    creds = load_credentials({"BUSBAR_ACCESS_KEY_ID": KEY, "BUSBAR_SECRET_ACCESS_KEY": SECRET})
    assert creds is not None
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text
        assert KEY in text


def test_keys_may_name_their_account(tmp_path: Path) -> None:
    ini = tmp_path / "credentials"
    ini.write_text(f"[a]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\naws_account_id = 111122223333\n"
                   "[b]\naws_access_key_id = AKIDB\naws_secret_access_key = other\n")
    creds = load_credentials({"BUSBAR_CREDENTIALS_FILE": str(ini)})
    assert creds == {KEY: SECRET, "AKIDB": "other"}
    assert creds.accounts == {KEY: "111122223333"}  # type: ignore[union-attr]
    as_json = tmp_path / "credentials.json"
    as_json.write_text(json.dumps({KEY: {"secret": SECRET, "account": "444455556666"}, "AKIDB": "other"}))
    creds = load_credentials({"BUSBAR_CREDENTIALS_FILE": str(as_json)})
    assert creds == {KEY: SECRET, "AKIDB": "other"}
    assert creds.accounts == {KEY: "444455556666"}  # type: ignore[union-attr]


@pytest.mark.parametrize("content", [
    f"[a]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\naws_account_id = 12345\n",
    json.dumps({KEY: {"secret": SECRET, "account": 111122223333}}),
    json.dumps({KEY: {"secret": SECRET, "acount": "111122223333"}}),
])
def test_bad_accounts_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(content)
    with pytest.raises(ValueError, match="account") as caught:
        load_credentials({"BUSBAR_CREDENTIALS_FILE": str(path)})
    assert SECRET not in str(caught.value)
