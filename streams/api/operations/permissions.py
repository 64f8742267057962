"""PutPermission and RemovePermission: an event bus's resource policy, and what PutEvents makes of it.

The policy is stored on the bus's config record as the JSON text DescribeEventBus returns in
`Policy`. PutPermission either replaces it whole (`Policy`) or adds one statement granting
`events:PutEvents` to an account (`Principal`) or to everyone (`*`), as AWS writes it;
RemovePermission drops one statement by its id, or all of them.

PutEvents obeys it when the API checks signatures: a caller whose access key belongs to
another account than the bus owner's (credentials.py) may put events on a bus only where an
Allow statement names its account (or `*`) for `events:PutEvents` on that bus, and no Deny
statement names it. A Deny applies to the owner's keys too; they need no Allow. Statements
with a Condition never apply (busbar knows no AWS organizations), and policies using
NotPrincipal, NotAction or NotResource are refused rather than evaluated differently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from streams.api.caller import CALLER_ACCOUNT
from streams.api.errors import ResourceNotFoundException, ValidationException
from streams.api.operations.common import Context, Params, Response, bus_name, require_bus
from streams.model import Record, bus_key

PUT_EVENTS = "events:PutEvents"
POLICY_VERSION = "2012-10-17"
_UNSUPPORTED = ("NotPrincipal", "NotAction", "NotResource")
_STATEMENT_PARAMS = ("Action", "Principal", "StatementId", "Condition")


async def put_permission(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    async with ctx.write_lock:
        record = dict(require_bus(ctx, bus))
        if params.get("Policy") is not None:
            given = [name for name in _STATEMENT_PARAMS if params.get(name) is not None]
            if given:
                raise ValidationException(f"Policy cannot be combined with {', '.join(given)}.")
            policy = parse_policy(params["Policy"])
        else:
            policy = _with_statement(record, _statement(ctx, bus, params))
        record["Policy"] = orjson.dumps(policy).decode()
        await ctx.store.awrite(bus_key(bus), record)
    return {}


async def remove_permission(ctx: Context, params: Params) -> Response:
    bus = bus_name(ctx, params.get("EventBusName"))
    statement_id = params.get("StatementId")
    remove_all = bool(params.get("RemoveAllPermissions"))
    if not remove_all and not statement_id:
        raise ValidationException("Either StatementId or RemoveAllPermissions must be given.")
    async with ctx.write_lock:
        record = dict(require_bus(ctx, bus))
        if remove_all:
            record.pop("Policy", None)
        else:
            statements = _statements(parse_policy(record["Policy"])) if "Policy" in record else []
            kept = [s for s in statements if s.get("Sid") != statement_id]
            if len(kept) == len(statements):
                raise ResourceNotFoundException("Statement with the provided id does not exist.")
            if kept:
                record["Policy"] = orjson.dumps({"Version": POLICY_VERSION, "Statement": kept}).decode()
            else:
                del record["Policy"]
        await ctx.store.awrite(bus_key(bus), record)
    return {}


def _statement(ctx: Context, bus: str, params: Params) -> dict[str, Any]:
    """The statement AWS writes for PutPermission's Action/Principal/StatementId/Condition."""
    missing = [name for name in ("Action", "Principal", "StatementId") if not params.get(name)]
    if missing:
        raise ValidationException(f"Either Policy or {', '.join(missing)} must be given.")
    if params["Action"] != PUT_EVENTS:
        raise ValidationException(f"Provided value in parameter 'action' is not supported: only {PUT_EVENTS}.")
    principal = params["Principal"]
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
        "Action": PUT_EVENTS,
        "Resource": ctx.bus_arn(bus),
    }
    condition = params.get("Condition")
    if condition is not None:
        if condition["Type"] != "StringEquals" or condition["Key"] != "aws:PrincipalOrgID":
            raise ValidationException("Condition must be of Type StringEquals on the Key aws:PrincipalOrgID.")
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": condition["Value"]}}
    return statement


def _with_statement(record: Record, statement: dict[str, Any]) -> dict[str, Any]:
    """The bus's policy with `statement` added, replacing one with the same id."""
    existing = _statements(parse_policy(record["Policy"])) if "Policy" in record else []
    kept = [s for s in existing if s.get("Sid") != statement["Sid"]]
    return {"Version": POLICY_VERSION, "Statement": [*kept, statement]}


def parse_policy(text: str) -> dict[str, Any]:
    """A policy document, checked for what evaluation needs; ValidationException naming the fault."""
    try:
        policy = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValidationException(f"Policy is not valid JSON: {exc}") from None
    if not isinstance(policy, dict) or "Statement" not in policy:
        raise ValidationException("Policy must be a JSON object with a Statement.")
    for i, statement in enumerate(_statements(policy)):
        where = f"Policy Statement {i}"
        if not isinstance(statement, dict):
            raise ValidationException(f"{where} must be an object.")
        unsupported = [key for key in _UNSUPPORTED if key in statement]
        if unsupported:
            raise ValidationException(f"{where} uses {', '.join(unsupported)}, which busbar does not evaluate.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ValidationException(f"{where} needs Effect Allow or Deny.")
        for key in ("Principal", "Action", "Resource"):
            if key not in statement:
                raise ValidationException(f"{where} needs {key}.")
    return policy  # type: ignore[no-any-return]


def _statements(policy: dict[str, Any]) -> list[Any]:
    statements = policy["Statement"]
    return statements if isinstance(statements, list) else [statements]


def put_events_denial(ctx: Context, bus: str, record: Record) -> str | None:
    """Why the calling account may not put events on `bus`, or None when it may."""
    account = CALLER_ACCOUNT.get() or ctx.settings.account
    policy = record.get("Policy")
    allowed = account == ctx.settings.account
    if policy is not None:
        allows, denies = _decisions(policy, account, ctx.bus_arn(bus))
        if denies:
            return f"the policy of event bus {bus} denies events:PutEvents to account {account}."
        allowed = allowed or allows
    if allowed:
        return None
    return (f"Account {account} is not authorized to perform events:PutEvents on event bus {bus}: "
            "no statement of the event bus policy allows it.")


@lru_cache(maxsize=256)
def _decisions(policy: str, account: str, resource: str) -> tuple[bool, bool]:
    """(some Allow applies, some Deny applies) for PutEvents by `account` on `resource`."""
    allows = denies = False
    for statement in _statements(orjson.loads(policy)):
        if ("Condition" in statement or not _names_principal(statement["Principal"], account)
                or not _matches(statement["Action"], PUT_EVENTS, case=False)
                or not _matches(statement["Resource"], resource, case=True)):
            continue
        if statement["Effect"] == "Deny":
            denies = True
        else:
            allows = True
    return allows, denies


def _names_principal(principal: Any, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    names = principal.get("AWS", [])
    names = names if isinstance(names, list) else [names]
    return any(name in ("*", account, f"arn:aws:iam::{account}:root") for name in names)


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    """IAM matching of Action and Resource: `*` any run of characters, `?` one character."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(p, str) and _glob(p, case).fullmatch(value) for p in patterns)


@lru_cache(maxsize=256)
def _glob(pattern: str, case: bool) -> re.Pattern[str]:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(regex, 0 if case else re.IGNORECASE)
