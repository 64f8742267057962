"""ApiError replies, checked against the real botocore client rather than our reading of the protocol."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import boto3
import botocore.session
import pytest
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError

from streams.api import errors
from streams.api.errors import ApiError

Reply = tuple[int, dict[str, str], bytes]

# The codes botocore turns into client.exceptions.<Code>; anything else is a bare ClientError.
MODELLED = {
    "AccessDeniedException",
    "ConcurrentModificationException",
    "IllegalStatusException",
    "InternalException",
    "InvalidEventPatternException",
    "InvalidStateException",
    "LimitExceededException",
    "ManagedRuleException",
    "OperationDisabledException",
    "PolicyLengthExceededException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "ThrottlingException",
}
ALL_ERRORS = sorted(ApiError.__subclasses__(), key=lambda cls: cls.__name__)


@contextmanager
def serve(respond: Callable[[web.Request, bytes], Reply]) -> Iterator[str]:
    """An aiohttp server on a free 127.0.0.1 port, in a thread, answering every request via ``respond``.

    aiohttp rather than http.server because the real API runs on it: what it hands the handler
    (raw path, multidict headers) is what the API code will see.
    """

    async def handle(request: web.Request) -> web.Response:
        status, headers, body = respond(request, await request.read())
        return web.Response(status=status, headers=headers, body=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def events_client(endpoint: str, *, key: str = "x", secret: str = "y", region: str = "us-east-1"):
    """A stock boto3 events client; one attempt only, so 5xx/throttling replies are not retried."""
    return boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_modelled_set_matches_botocore() -> None:
    """Guards MODELLED against botocore adding or dropping error shapes in an upgrade."""
    model = botocore.session.get_session().get_service_model("events")
    assert {shape.name for shape in model.error_shapes} == MODELLED


def test_every_modelled_code_has_a_class() -> None:
    assert MODELLED.issubset(cls.code for cls in ALL_ERRORS)


def test_class_name_is_the_wire_code() -> None:
    for cls in ALL_ERRORS:
        assert cls.code == cls.__name__
        assert cls("m").code == cls.__name__


def test_statuses() -> None:
    statuses = {cls.code: cls.status for cls in ALL_ERRORS}
    assert statuses.pop("InternalException") == 500
    assert statuses.pop("RequestEntityTooLargeException") == 413
    assert set(statuses.values()) == {400}


def test_response_shape() -> None:
    status, headers, body = errors.ResourceNotFoundException("Rule r does not exist.").to_response()
    assert status == 400
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    uuid.UUID(headers["x-amzn-RequestId"])
    assert json.loads(body) == {"__type": "ResourceNotFoundException", "message": "Rule r does not exist."}


def test_request_ids_are_fresh_unless_given() -> None:
    error = errors.ValidationException("bad")
    assert error.to_response()[1]["x-amzn-RequestId"] != error.to_response()[1]["x-amzn-RequestId"]
    assert error.to_response("req-1")[1]["x-amzn-RequestId"] == "req-1"


def test_default_messages() -> None:
    assert (
        errors.UnrecognizedClientException().message
        == "The security token included in the request is invalid."
    )
    assert errors.MissingAuthenticationTokenException().message == "Request is missing Authentication Token"
    assert errors.InvalidSignatureException().message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert errors.ValidationException().message == ""


def test_bare_api_error_is_an_internal_fault_with_overrides() -> None:
    assert (ApiError("boom").code, ApiError("boom").status) == ("InternalException", 500)
    custom = ApiError("slow down", code="TooManyRequestsException", status=429)
    assert custom.to_response()[0] == 429
    assert json.loads(custom.to_response()[2])["__type"] == "TooManyRequestsException"
    assert ApiError.code == "InternalException"  # the override stayed on the instance


def test_str_and_repr() -> None:
    error = errors.LimitExceededException("too many rules")
    assert str(error) == "LimitExceededException: too many rules"
    assert (
        repr(error)
        == "LimitExceededException(code='LimitExceededException', status=400, message='too many rules')"
    )


def test_message_is_json_escaped() -> None:
    message = 'quote " backslash \\ newline \n unicode é'
    assert json.loads(errors.ValidationException(message).to_response()[2])["message"] == message


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_boto3_raises_the_right_exception(cls: type[ApiError]) -> None:
    error = cls(f"{cls.__name__} happened")
    with serve(lambda request, body: error.to_response("rid-42")) as endpoint:
        client = events_client(endpoint)
        expected = getattr(client.exceptions, cls.code) if cls.code in MODELLED else ClientError
        with pytest.raises(expected) as raised:
            client.describe_rule(Name="r")
    response = raised.value.response
    assert response["Error"] == {"Code": cls.code, "Message": f"{cls.__name__} happened"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == cls.status
    assert response["ResponseMetadata"]["RequestId"] == "rid-42"


def test_boto3_reports_an_unmodelled_custom_code() -> None:
    error = ApiError("nope", code="SomethingNewException", status=400)
    with serve(lambda request, body: error.to_response()) as endpoint, pytest.raises(ClientError) as raised:
        events_client(endpoint).list_event_buses()
    assert raised.value.response["Error"] == {"Code": "SomethingNewException", "Message": "nope"}
