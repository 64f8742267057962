"""What the operation modules share: the request context, name resolution, lookups, paging.

Every operation reads the worker's in-memory copy of the config topic (ConfigStore.model) and
writes through ConfigStore, whose read-your-writes lets a handler answer only once its change
is visible to the next request, on this worker and, within one poll, on every other.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar

import orjson

from streams.api.errors import InvalidEventPatternException, ResourceNotFoundException, ValidationException
from streams.arns import bus_arn, parse_bus_or_rule_arn, rule_arn
from streams.config_store import ConfigStore
from streams.model import DEFAULT_BUS, RULE_FIELDS, Model, Record
from streams.patterns import EventPattern, InvalidEventPattern, compile_pattern
from streams.secret_box import SecretBox
from streams.settings import Settings
from streams.topics import TopicNames

T = TypeVar("T")
Params = dict[str, Any]
Response = dict[str, Any]

PAGE_SIZE = 100  # the model's LimitMax100: what a page holds when the caller gives no Limit


class EventSink(Protocol):
    """Where PutEvents writes; resolves once Kafka has acknowledged the record (acks=all), and
    fails within timeout_s seconds otherwise."""

    timeout_s: float

    async def send(self, topic: str, key: bytes, value: bytes) -> None: ...

    async def send_all(self, records: list[tuple[str, bytes, bytes]]) -> list[BaseException | None]:
        """(topic, key, value) records; per record None once acknowledged, else what went wrong."""
        ...


@dataclass
class Context:
    """One per worker, shared by all requests."""

    settings: Settings
    topics: TopicNames
    store: ConfigStore
    events: EventSink
    # Serialises read-modify-write of config records within this worker, so two concurrent
    # PutTargets on one rule cannot drop each other's targets. Across workers the config
    # topic's order decides (last write wins), as it would for two AWS API calls racing.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @cached_property
    def secrets(self) -> SecretBox:
        """Seals connection secrets; the worker checked the key when it started."""
        return SecretBox(self.settings.secret_key)

    @property
    def model(self) -> Model:
        return self.store.model

    async def write(self, key: str, record: Record | None) -> None:
        """Writes a config record (None deletes it), waiting for Kafka as long as PutEvents does, so
        a slow broker gets the same time to confirm either kind of write."""
        await self.store.awrite(key, record, self.settings.write_timeout_s)

    def bus_arn(self, bus: str) -> str:
        return bus_arn(self.settings.region, self.settings.account, bus)

    def rule_arn(self, bus: str, rule: str) -> str:
        return rule_arn(self.settings.region, self.settings.account, bus, rule)


def now() -> float:
    """Epoch seconds: the JSON protocol's timestamp form, which botocore turns into datetimes."""
    return round(time.time(), 3)


def bus_name(ctx: Context, name_or_arn: str | None) -> str:
    """EventBusName parameters take a name or this account's bus ARN; absent means default."""
    if not name_or_arn:
        return DEFAULT_BUS
    if not name_or_arn.startswith("arn:"):
        return name_or_arn
    try:
        kind, bus, _ = parse_bus_or_rule_arn(name_or_arn)
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    if kind != "event-bus":
        raise ValidationException(f"'{name_or_arn}' is not the ARN of an event bus")
    if name_or_arn != ctx.bus_arn(bus):
        # Another account's or region's bus: this server holds only its own.
        raise ResourceNotFoundException(f"Event bus {name_or_arn} does not exist.")
    return bus


def require_bus(ctx: Context, bus: str) -> Record:
    record = ctx.model.bus(bus)
    if record is None:
        raise ResourceNotFoundException(f"Event bus {bus} does not exist.")
    return record


def require_rule(ctx: Context, bus: str, rule: str) -> Record:
    require_bus(ctx, bus)
    record = ctx.model.rule(bus, rule)
    if record is None:
        raise ResourceNotFoundException(f"Rule {rule} does not exist on EventBus {bus}.")
    return record


def rule_view(ctx: Context, record: Record) -> Response:
    """A stored rule as DescribeRule and ListRules show it."""
    view = {"Name": record["Name"], "Arn": ctx.rule_arn(record["EventBusName"], record["Name"]),
            "EventBusName": record["EventBusName"]}
    view.update({name: record[name] for name in RULE_FIELDS if name in record})
    return view


def merge_tags(existing: Sequence[dict[str, str]], new: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """TagResource semantics: a new value for an existing key replaces it; order is by key."""
    tags = {tag["Key"]: tag["Value"] for tag in existing}
    tags.update({tag["Key"]: tag["Value"] for tag in new})
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


# --- paging -------------------------------------------------------------------------------------
def paginate(items: Sequence[T], key: Callable[[T], str], params: Params) -> tuple[list[T], Response]:
    """One page of `items` (sorted by `key`) and the NextToken member, if more remain.

    The token holds the last key returned rather than an offset, so resources created or
    deleted between two calls neither repeat nor skip the others.
    """
    limit = params.get("Limit") or PAGE_SIZE
    token = params.get("NextToken")
    if token is not None:
        after = _decode_token(token)
        items = [item for item in items if key(item) > after]
    page = list(items[:limit])
    more = {"NextToken": _encode_token(key(page[-1]))} if len(items) > limit else {}
    return page, more


def _encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": after})).decode()


def _decode_token(token: str) -> str:
    try:
        after = orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, TypeError, KeyError):
        after = None
    if not isinstance(after, str):
        raise ValidationException("The NextToken provided is invalid: pass the NextToken of a previous response.")
    return after


# --- event patterns -----------------------------------------------------------------------------
def compile_event_pattern(text: str) -> EventPattern:
    """PutRule's and TestEventPattern's check: AWS's message prefix, then the engine's reason
    (which names the path of the offending part)."""
    try:
        return compile_pattern(text)
    except InvalidEventPattern as exc:
        raise InvalidEventPatternException(f"Event pattern is not valid. Reason: {exc}") from None
