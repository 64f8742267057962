"""Errors in the shape AWS JSON 1.1 services send, so boto3 raises the exception users already catch.

botocore reads the error code from the body's ``__type`` and the text from ``message``; codes that
the EventBridge service model declares (``ResourceNotFoundException`` ...) become
``client.exceptions.<Code>``, every other code a plain ``ClientError`` whose ``Error.Code`` is the
code. The class name of each subclass *is* its wire code, so the two cannot drift apart.

HTTP statuses follow what EventBridge and its JSON 1.1 siblings (DynamoDB, Kinesis, CloudWatch
Logs) really answer, not the Query-protocol "common errors" table: every client error, including
the authentication ones, is 400; only internal faults are 5xx. The status matters to clients
because botocore retries 5xx (and throttling) but never other 4xx.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import ClassVar

from streams.config_store import ConfigNotStored, ConfigStoreError

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"


class ApiError(Exception):
    """A failure to report to the caller; raise a subclass, whose name is the AWS error code.

    The bare class stands for an unclassified server fault, hence its 500 defaults. ``code`` and
    ``status`` can still be overridden per instance for codes no subclass models.
    """

    code: str = "InternalException"
    status: int = 500
    default_message: ClassVar[str] = ""

    def __init_subclass__(cls, *, status: int = 400, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__
        cls.status = status

    def __init__(self, message: str | None = None, *, code: str | None = None, status: int | None = None):
        self.message = self.default_message if message is None else message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"

    def to_response(self, request_id: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the error reply.

        ``request_id`` lets the server reuse the id it already logged for this request, so a user
        quoting botocore's ``ResponseMetadata.RequestId`` can be matched to the server log.
        """
        body = json.dumps({"__type": self.code, "message": self.message}).encode()
        headers = {
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": request_id or str(uuid.uuid4()),
            "x-amzn-ErrorType": self.code,
        }
        return self.status, headers, body


# --- Errors the EventBridge service model declares: boto3 raises client.exceptions.<Name>. ---


class ResourceNotFoundException(ApiError):
    """The named bus, rule, archive, ... does not exist."""


class ResourceAlreadyExistsException(ApiError):
    """A create call named something that already exists."""


class InvalidEventPatternException(ApiError):
    """The event pattern does not parse or uses an unsupported matcher."""


class LimitExceededException(ApiError):
    """A quota (rules per bus, targets per rule, ...) would be exceeded."""


class ConcurrentModificationException(ApiError):
    """Two writers raced on the same rule, target, archive or replay."""


class ManagedRuleException(ApiError):
    """The rule is managed by another service and may only be changed with Force."""


class IllegalStatusException(ApiError):
    """A replay was cancelled outside the Running/Starting states."""


class InvalidStateException(ApiError):
    """The requested state is not valid for the resource."""


class OperationDisabledException(ApiError):
    """The operation exists in the API but this deployment does not offer it."""


class PolicyLengthExceededException(ApiError):
    """The event bus resource policy is too long."""


class ThrottlingException(ApiError):
    """Rate limited; botocore retries this code with backoff despite the 400."""


class AccessDeniedException(ApiError):
    """Authenticated, but these credentials may not call this operation on this resource."""


class InternalException(ApiError, status=500):
    """An unexpected server fault; the 500 makes botocore retry it."""


def config_write_failed(exc: ConfigStoreError) -> InternalException:
    """The answer to a config write Kafka did not confirm. Unconfirmed is not "failed": the
    record may be stored, so the answer says so. The 500 makes SDKs retry, which is safe: every
    config write puts a whole record, so writing it twice leaves what writing it once does."""
    if isinstance(exc, ConfigNotStored):
        return InternalException(f"The change was not stored: {exc}.")
    return InternalException(f"The change may or may not have been stored: the configuration topic did not "
                             f"confirm it in time ({exc}). Read it back (Describe or List) to see which, or retry it.")


# --- Errors outside the service model: boto3 raises ClientError with Error.Code = the name. ---


class ValidationException(ApiError):
    """A parameter is missing, malformed or out of range.

    EventBridge sends this although its model does not declare it, so boto3 users see a
    ClientError with code ValidationException; that is exactly what AWS gives them too.
    """


class SerializationException(ApiError):
    """The body is not JSON, or a member has the wrong JSON type."""


class UnknownOperationException(ApiError):
    """X-Amz-Target names no operation of this service."""


class RequestEntityTooLargeException(ApiError, status=413):
    """The body exceeds what the API accepts; refused before parsing it."""


class MissingAuthenticationTokenException(ApiError):
    """No Authorization header, on a server that requires signed requests."""

    default_message = "Request is missing Authentication Token"


class IncompleteSignatureException(ApiError):
    """The Authorization header or the date it relies on is malformed or incomplete."""


class UnrecognizedClientException(ApiError):
    """The access key id is not one the server knows."""

    default_message = "The security token included in the request is invalid."


class InvalidSignatureException(ApiError):
    """The signature, its scope or its timestamp does not check out."""

    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


def refusal(exc: Exception, operation: str, request_id: str) -> ApiError:
    """What to answer a request that failed with `exc`, logged: an ApiError as it is, anything
    else (with its traceback) as an InternalException naming the request id."""
    if isinstance(exc, ApiError):
        log.info("%s refused (request %s): %s", operation, request_id, exc)
        return exc
    log.error("%s failed (request %s)", operation, request_id, exc_info=exc)
    return InternalException(f"An internal error occurred; see the worker log for request {request_id}.")
