"""CreateConnection, DescribeConnection, UpdateConnection, DeleteConnection, ListConnections,
DeauthorizeConnection.

A connection is how requests to API destinations are authorised: an API key, basic auth or
OAuth client credentials, plus parameters added to every request. Its record keeps the
authorization parameters twice: the parts AWS shows (names, endpoints, non-secret parameter
values) in the clear, and all of them sealed with the operator's key (streams/secret_box.py)
in `Secret`. No call ever answers a secret, as on AWS.

States as AWS moves them: API key and basic connections are AUTHORIZED at once; an OAuth one
is AUTHORIZING until the delivery service has fetched a token (then AUTHORIZED, or
DEAUTHORIZED with the reason); DeauthorizeConnection drops the secret and leaves it
DEAUTHORIZED until an update gives the credentials again.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from streams.addresses import RefusedAddress, check_url
from streams.api.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, now, paginate
from streams.arns import connection_arn
from streams.model import Record, connection_key
from streams.secret_box import SecretUnavailable

# AuthorizationType -> the AuthParameters member it takes, and that member's secret field.
AUTH_MEMBERS = {
    "API_KEY": ("ApiKeyAuthParameters", ("ApiKeyName", "ApiKeyValue")),
    "BASIC": ("BasicAuthParameters", ("Username", "Password")),
    "OAUTH_CLIENT_CREDENTIALS": ("OAuthParameters",
                                 ("ClientParameters", "AuthorizationEndpoint", "HttpMethod")),
}
SECRET_FIELDS = ("ApiKeyValue", "Password")
PARAMETER_LISTS = ("HeaderParameters", "QueryStringParameters", "BodyParameters")
ECHOED = ("Description", "KmsKeyIdentifier")


def arn_of(ctx: Context, record: Record) -> str:
    return connection_arn(ctx.settings.region, ctx.settings.account, record["Name"], record["Uuid"])


def require_connection(ctx: Context, name: str) -> Record:
    record = ctx.model.connection(name)
    if record is None:
        raise ResourceNotFoundException(
            f"Failed to describe the connection(s). Connection '{name}' does not exist.")
    return record


def _public_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """A parameter list with the values marked secret left out, as DescribeConnection shows it."""
    shown = {}
    for name in PARAMETER_LISTS:
        if name in parameters:
            shown[name] = [{k: v for k, v in item.items() if not (k == "Value" and item.get("IsValueSecret"))}
                           for item in parameters[name]]
    return shown


def public_view(auth: dict[str, Any]) -> dict[str, Any]:
    """AuthParameters without any secret: what Describe answers and the record keeps in the clear."""
    view: dict[str, Any] = {}
    for member, value in auth.items():
        if member in ("ApiKeyAuthParameters", "BasicAuthParameters"):
            view[member] = {k: v for k, v in value.items() if k not in SECRET_FIELDS}
        elif member == "OAuthParameters":
            shown = {k: v for k, v in value.items() if k not in ("ClientParameters", "OAuthHttpParameters")}
            if "ClientParameters" in value:
                shown["ClientParameters"] = {"ClientID": value["ClientParameters"].get("ClientID")}
            if "OAuthHttpParameters" in value:
                shown["OAuthHttpParameters"] = _public_parameters(value["OAuthHttpParameters"])
            view[member] = shown
        elif member == "InvocationHttpParameters":
            view[member] = _public_parameters(value)
    return view


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """UpdateConnection's AuthParameters over the stored ones: objects merge member by member,
    anything else (a parameter list, a string) replaces what was there."""
    merged = copy.deepcopy(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _check_auth(kind: str, auth: dict[str, Any]) -> None:
    """The AuthParameters member the AuthorizationType needs, complete, and no other kind's."""
    member, required = AUTH_MEMBERS[kind]
    others = [m for other, (m, _) in AUTH_MEMBERS.items() if other != kind and m in auth]
    if others:
        raise ValidationException(f"AuthParameters.{others[0]} does not go with AuthorizationType {kind}; "
                                  f"give AuthParameters.{member}.")
    given = auth.get(member)
    missing = [name for name in required if not (given or {}).get(name)]
    if kind == "OAUTH_CLIENT_CREDENTIALS" and given and not missing:
        missing = [f"ClientParameters.{name}" for name in ("ClientID", "ClientSecret")
                   if not given["ClientParameters"].get(name)]
    if kind == "API_KEY" and given and not given.get("ApiKeyValue"):
        missing = ["ApiKeyValue"]
    if kind == "BASIC" and given and not given.get("Password"):
        missing = ["Password"]
    if missing:
        raise ValidationException(f"AuthorizationType {kind} needs AuthParameters.{member} with "
                                  f"{', '.join(missing)}.")
    if kind == "OAUTH_CLIENT_CREDENTIALS":
        try:
            check_url(given["AuthorizationEndpoint"], True)  # a URL at all; its address is checked per fetch
        except RefusedAddress as exc:
            member = "AuthParameters.OAuthParameters.AuthorizationEndpoint"
            raise ValidationException(f"{member}: {exc}") from None


def _state_for(kind: str) -> str:
    return "AUTHORIZING" if kind == "OAUTH_CLIENT_CREDENTIALS" else "AUTHORIZED"


def _seal(ctx: Context, auth: dict[str, Any]) -> str:
    try:
        return ctx.secrets.seal(auth)
    except SecretUnavailable as exc:
        raise ValidationException(f"Cannot store the connection's credentials: {exc}.") from None


def _refuse_private_networking(params: Params) -> None:
    if params.get("InvocationConnectivityParameters") or (params.get("AuthParameters") or {}).get(
            "ConnectivityParameters"):
        raise ValidationException(
            "ConnectivityParameters (private APIs through VPC Lattice) are not supported by busbar; "
            "reach private endpoints with BUSBAR_ALLOW_PRIVATE_DESTINATIONS=1.")


def _answer(ctx: Context, record: Record, state: str | None = None) -> Response:
    answer = {"ConnectionArn": arn_of(ctx, record), "ConnectionState": state or record["ConnectionState"],
              "CreationTime": record["CreationTime"], "LastModifiedTime": record["LastModifiedTime"]}
    if "LastAuthorizedTime" in record:
        answer["LastAuthorizedTime"] = record["LastAuthorizedTime"]
    return answer


async def create_connection(ctx: Context, params: Params) -> Response:
    name, kind, auth = params["Name"], params["AuthorizationType"], params["AuthParameters"]
    _refuse_private_networking(params)
    _check_auth(kind, auth)
    secret = _seal(ctx, auth)
    async with ctx.write_lock:
        if ctx.model.connection(name) is not None:
            raise ResourceAlreadyExistsException(f"Connection {name} already exists.")
        created = now()
        record: Record = {"Name": name, "Uuid": str(uuid.uuid4()), "AuthorizationType": kind,
                          "AuthParameters": public_view(auth), "Secret": secret,
                          "ConnectionState": _state_for(kind), "CreationTime": created,
                          "LastModifiedTime": created}
        if kind != "OAUTH_CLIENT_CREDENTIALS":
            record["LastAuthorizedTime"] = created
        record.update({field: params[field] for field in ECHOED if field in params})
        await ctx.write(connection_key(name), record)
    return _answer(ctx, record)


def connection_view(ctx: Context, record: Record) -> Response:
    view = {"ConnectionArn": arn_of(ctx, record), "Name": record["Name"],
            "ConnectionState": record["ConnectionState"], "AuthorizationType": record["AuthorizationType"],
            "CreationTime": record["CreationTime"], "LastModifiedTime": record["LastModifiedTime"]}
    for field in ("StateReason", "LastAuthorizedTime"):
        if field in record:
            view[field] = record[field]
    return view


async def describe_connection(ctx: Context, params: Params) -> Response:
    record = require_connection(ctx, params["Name"])
    view = connection_view(ctx, record)
    view["AuthParameters"] = record["AuthParameters"]
    view.update({field: record[field] for field in ECHOED if field in record})
    return view


async def update_connection(ctx: Context, params: Params) -> Response:
    _refuse_private_networking(params)
    async with ctx.write_lock:
        record = dict(require_connection(ctx, params["Name"]))
        kind = params.get("AuthorizationType") or record["AuthorizationType"]
        if "AuthParameters" in params or kind != record["AuthorizationType"]:
            old: dict[str, Any] = record["AuthParameters"]
            if kind == record["AuthorizationType"] and "Secret" in record:
                try:
                    old = ctx.secrets.open(record["Secret"])
                except SecretUnavailable as exc:
                    raise ValidationException(f"Cannot update the connection's credentials: {exc}.") from None
            elif kind != record["AuthorizationType"]:
                old = {}
            auth = _merge(old, params.get("AuthParameters") or {})
            _check_auth(kind, auth)
            record.update({"AuthorizationType": kind, "AuthParameters": public_view(auth),
                           "Secret": _seal(ctx, auth), "ConnectionState": _state_for(kind)})
            record.pop("StateReason", None)
            if kind != "OAUTH_CLIENT_CREDENTIALS":
                record["LastAuthorizedTime"] = now()
        record.update({field: params[field] for field in ECHOED if field in params})
        record["LastModifiedTime"] = now()
        await ctx.write(connection_key(record["Name"]), record)
    return _answer(ctx, record)


async def deauthorize_connection(ctx: Context, params: Params) -> Response:
    """The credentials are dropped at once; AWS answers DEAUTHORIZING and then shows DEAUTHORIZED."""
    async with ctx.write_lock:
        record = dict(require_connection(ctx, params["Name"]))
        record.pop("Secret", None)
        record.update({"ConnectionState": "DEAUTHORIZED", "LastModifiedTime": now(),
                       "StateReason": "Connection deauthorized by DeauthorizeConnection"})
        await ctx.write(connection_key(record["Name"]), record)
    return _answer(ctx, record, "DEAUTHORIZING")


async def delete_connection(ctx: Context, params: Params) -> Response:
    """Refused while an API destination uses the connection: its deliveries would all fail. AWS's
    API reference names no error for this; ValidationException is what AWS answers for the like
    (a rule deleted while it has targets)."""
    async with ctx.write_lock:
        record = require_connection(ctx, params["Name"])
        arn = arn_of(ctx, record)
        users = sorted(d["Name"] for d in ctx.model.api_destinations() if d.get("ConnectionArn") == arn)
        if users:
            raise ValidationException(f"Connection {record['Name']} is used by API destination(s) "
                                      f"{', '.join(users)}; delete them or give them another connection first.")
        await ctx.write(connection_key(record["Name"]), None)
    return _answer(ctx, record, "DELETING")


async def list_connections(ctx: Context, params: Params) -> Response:
    prefix, state = params.get("NamePrefix") or "", params.get("ConnectionState")
    records = [r for r in ctx.model.connections()
               if r["Name"].startswith(prefix) and (state is None or r["ConnectionState"] == state)]
    page, more = paginate(records, lambda r: r["Name"], params)
    return {"Connections": [connection_view(ctx, r) for r in page], **more}
