"""`busbar apply FILE`: make buses, rules and targets match a declaration, through the API.

The file is YAML or JSON:

    buses:
      - name: orders
        description: Orders from the shop
        tags: {team: checkout}
    rules:
      - name: big-orders
        bus: orders                       # default: the default bus
        pattern: {source: [shop], detail: {total: [{numeric: [">", 100]}]}}
        state: ENABLED                    # or schedule: rate(5 minutes) (default bus only)
        targets:
          - id: to-kafka
            arn: arn:aws:kafka:us-east-1:000000000000:topic/local/orders.big
            input_path: $.detail          # any Target member: input, input_transformer, retry_policy, ...
    correlations:                         # correlation rules, as `busbar correlations put` takes them
      - name: brute-force-login
        bus: orders
        type: event_count
        pattern: {detail-type: [Login Failed]}
        group-by: [detail.sourceIPAddress]
        timespan: 5m
        condition: {gte: 5}

Keys are the API's member names in snake_case, with three short forms (`bus`, `pattern`,
`schedule`); the API's own spelling (`EventBusName`, `InputPath`, ...) works as well, so a
PutRule/PutTargets request body can be pasted in. Inside a target, the members of its
structures (input_transformer, retry_policy, ...) are converted one level deep, never the
names a user chose (the variables of input_paths_map).

Applying twice changes nothing the second time. Only declared resources are touched: a bus or
rule missing from the file is left alone, but a declared rule's targets are exactly the declared
ones (undeclared targets are removed), since a rule's targets are part of what it does.
Going through the API (not the config topic) means the server's validation applies unchanged.

Connectors are declared as Kafka Connect's REST API takes them, and applied through it
(PUT /connectors/{name}/config, which creates or updates):

    connectors:
      - name: github
        config:
          connector.class: GitHubWebhook
          bus: default
          webhook.secret: ${GITHUB_WEBHOOK_SECRET}   # ${VAR}: read from the environment

Secrets are never shown back by the API, so they cannot be compared: a declared connector
whose other keys match is re-sent as it is (the server changes nothing if the secret is the
same) and reported unchanged.

Correlation rules are busbar's own resource (busbar_client), applied after buses and rules.

Functions (Python handlers run as rule targets, busbar's own resource too) are applied after
buses and before rules, whose targets may name them:

    functions:
      - name: enrich
        handler: shop.handlers:enrich     # package.module:callable (or Lambda's module.callable)
        timeout: 10                       # seconds (default 3)
        max_concurrency: 4                # invocations at once, per worker (default 10)
        environment: {TABLE: orders}      # seen by this function's handler only
        on_success: orders                # a bus (name or ARN) for Lambda's destination events
        on_failure: arn:aws:events:us-east-1:000000000000:event-bus/alerts

Each handler is imported here, in the applying process (its working directory and PYTHONPATH),
and a handler that cannot be imported is reported beside the function's line; it is applied
all the same, as the workers import handlers from their own working directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from streams.busbar_client import BusbarClient
from streams.connect_client import ConnectClient, ConnectError
from streams.correlation_rules import InvalidCorrelation, parse_rule
from streams.function_definition import InvalidFunction, declared, parse_function
from streams.handler_import import HandlerUnavailable, import_handler
from streams.model import RULE_FIELDS

BUS_KEYS = {"Name", "Description", "Tags"}
RULE_KEYS = {"Name", "EventBusName", *RULE_FIELDS, "Tags", "Targets"}
SHORT_KEYS = {"bus": "EventBusName", "pattern": "EventPattern", "schedule": "ScheduleExpression"}


def api_key(key: str) -> str:
    """input_path -> InputPath; keys already in the API's spelling pass unchanged."""
    return SHORT_KEYS.get(key) or "".join(part[:1].upper() + part[1:] for part in key.split("_"))


class InvalidDeclaration(ValueError):
    """The file cannot be applied as written (exit code 2: fix the file)."""


class Refused(RuntimeError):
    """The server refused part of an otherwise valid declaration (exit code 1)."""


@dataclass
class PlannedChange:
    """What apply did (or, with --dry-run, would do) to one resource."""

    resource: str  # "bus orders", "rule orders/big-orders"
    action: str  # "created" | "updated" | "unchanged"
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        suffix = f" ({'; '.join(self.details)})" if self.details else ""
        return f"{self.resource}: {self.action}{suffix}"


# --- reading the file ---------------------------------------------------------------------------
def load(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Parse and check the declaration; InvalidDeclaration names what is wrong and where."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidDeclaration(f"{path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)  # JSON is YAML, so one parser reads both
    except yaml.YAMLError as exc:
        raise InvalidDeclaration(f"{path}: not valid YAML or JSON: {exc}") from None
    if data is None:
        data = {}
    sections = {"buses", "functions", "rules", "connectors", "correlations"}
    if not isinstance(data, dict) or not set(data) <= sections:
        raise InvalidDeclaration(f"{path}: expected a mapping with 'buses', 'functions', 'rules', 'connectors' "
                                 "and/or 'correlations'")
    return {
        "buses": [_item(path, "buses", index, item, BUS_KEYS) for index, item in enumerate(data.get("buses") or [])],
        "functions": [_function(path, index, item) for index, item in enumerate(data.get("functions") or [])],
        "rules": [_rule(path, index, item) for index, item in enumerate(data.get("rules") or [])],
        "connectors": [_connector(path, index, item) for index, item in enumerate(data.get("connectors") or [])],
        "correlations": [_correlation(path, index, item)
                         for index, item in enumerate(data.get("correlations") or [])],
    }


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _connector(path: Path, index: int, item: Any) -> dict[str, Any]:
    where = f"{path}: connectors[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("config"), dict):
        raise InvalidDeclaration(f"{where}: each entry is a mapping with a name and a config mapping")
    unknown = sorted(set(item) - {"name", "config"})
    if unknown:
        raise InvalidDeclaration(f"{where} ({item['name']}): unknown key(s) {', '.join(unknown)}; allowed: config, name")

    def text(key: str, value: Any) -> str:
        if isinstance(value, dict | list):
            return json.dumps(value)  # an inline event pattern
        if isinstance(value, bool):
            return "true" if value else "false"

        def expand(match: re.Match[str]) -> str:
            if match.group(1) not in os.environ:
                raise InvalidDeclaration(f"{where} ({item['name']}): {key} names ${{{match.group(1)}}}, "
                                         "which is not set in the environment")
            return os.environ[match.group(1)]
        return _ENV_REFERENCE.sub(expand, str(value))

    return {"name": item["name"], "config": {str(key): text(str(key), value) for key, value in item["config"].items()}}


def _item(path: Path, section: str, index: int, item: Any, allowed: set[str]) -> dict[str, Any]:
    where = f"{path}: {section}[{index}]"
    if not isinstance(item, dict):
        raise InvalidDeclaration(f"{where}: each entry is a mapping with a name")
    item = {api_key(str(key)): value for key, value in item.items()}
    if not isinstance(item.get("Name"), str):
        raise InvalidDeclaration(f"{where}: each entry is a mapping with a name")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise InvalidDeclaration(f"{where} ({item['Name']}): unknown key(s) {', '.join(unknown)}; "
                                 f"allowed: {', '.join(sorted(allowed))}")
    item["Tags"] = _tags(where, item.get("Tags"))
    return item


def _rule(path: Path, index: int, item: Any) -> dict[str, Any]:
    rule = _item(path, "rules", index, item, RULE_KEYS)
    if isinstance(rule.get("EventPattern"), dict):
        rule["EventPattern"] = json.dumps(rule["EventPattern"])
    targets = rule.get("Targets") or []
    if not isinstance(targets, list) or not all(isinstance(target, dict) for target in targets):
        raise InvalidDeclaration(f"{path}: rules[{index}] ({rule['Name']}): targets is a list of mappings")
    rule["Targets"] = [_target(f"{path}: rules[{index}] ({rule['Name']})", target) for target in targets]
    return rule


def _correlation(path: Path, index: int, item: Any) -> dict[str, Any]:
    """Checked here as the server checks it, so a mistake is reported with its place in the file."""
    try:
        return parse_rule(item).record
    except InvalidCorrelation as exc:
        name = item.get("name") if isinstance(item, dict) else None
        raise InvalidDeclaration(f"{path}: correlations[{index}]{f' ({name})' if name else ''}: {exc}") from None


def _function(path: Path, index: int, item: Any) -> dict[str, Any]:
    try:
        return parse_function(item).record()
    except InvalidFunction as exc:
        raise InvalidDeclaration(f"{path}: functions[{index}]: {exc}") from None


def _target(where: str, target: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in target.items():
        name = api_key(str(key))
        if name == "Input" and isinstance(value, dict | list):
            value = json.dumps(value)  # Input is JSON text in the API; YAML spells the same JSON readably
        elif isinstance(value, dict):
            value = {api_key(str(member)): item for member, item in value.items()}
        converted[name] = value
    if not isinstance(converted.get("Id"), str) or not isinstance(converted.get("Arn"), str):
        raise InvalidDeclaration(f"{where}: each target needs an id and an arn")
    return converted


def _tags(where: str, tags: Any) -> list[dict[str, str]]:
    """Tags as a mapping (the friendly form) or the API's list of {key, value}."""
    if tags is None:
        return []
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": str(value)} for key, value in tags.items()]
    if isinstance(tags, list) and all(isinstance(tag, dict) for tag in tags):
        converted = [{api_key(str(key)): value for key, value in tag.items()} for tag in tags]
        if all(set(tag) == {"Key", "Value"} for tag in converted):
            return [{"Key": str(tag["Key"]), "Value": str(tag["Value"])} for tag in converted]
    raise InvalidDeclaration(f"{where}: tags is a mapping or a list of {{key, value}}")


# --- applying -----------------------------------------------------------------------------------
def apply(client: BaseClient, declaration: dict[str, list[dict[str, Any]]], *,
          dry_run: bool, connect: ConnectClient | None = None,
          busbar: BusbarClient | None = None) -> Iterator[PlannedChange]:
    """Bring the server in line with the declaration, one resource at a time, buses first, then
    functions (rules' targets name them), connectors and correlation rules last (they name buses).
    `connect` is needed when connectors are declared, `busbar` when functions or correlation rules are.

    A generator, so that when the server refuses something (ClientError, Refused propagate)
    the caller has already reported what was changed before it.
    """
    for bus in declaration["buses"]:
        yield _apply_bus(client, bus, dry_run)
    if declaration.get("functions") and busbar is None:
        raise InvalidDeclaration("functions need busbar's own API: pass a BusbarClient")
    for function in declaration.get("functions", []):
        yield _apply_function(busbar, function, dry_run)  # type: ignore[arg-type]  # checked above
    for rule in declaration["rules"]:
        yield _apply_rule(client, rule, dry_run)
    for connector in declaration.get("connectors", []):
        if connect is None:
            raise Refused("connectors are declared but no connectors API client was given")
        yield _apply_connector(connect, connector, dry_run)
    if declaration.get("correlations") and busbar is None:
        raise InvalidDeclaration("correlations need busbar's own API: pass a BusbarClient")
    for correlation in declaration.get("correlations", []):
        yield _apply_correlation(busbar, correlation, dry_run)  # type: ignore[arg-type]  # checked above


HIDDEN = "[hidden]"  # what the connectors API shows instead of a secret


def _apply_connector(connect: ConnectClient, connector: dict[str, Any], dry_run: bool) -> PlannedChange:
    name, wanted = connector["name"], {**connector["config"], "name": connector["name"]}
    resource = f"connector {name}"
    path = f"/connectors/{quote(name, safe='')}/config"
    try:
        current = connect.get_config(name)
        if current is None:
            if not dry_run:
                connect.call("PUT", path, wanted)
            return PlannedChange(resource, "created")
        changed = sorted(key for key in wanted.keys() | current.keys()
                         if current.get(key) != HIDDEN and current.get(key) != wanted.get(key))
        if not dry_run and (changed or HIDDEN in current.values()):
            connect.call("PUT", path, wanted)
    except ConnectError as exc:
        raise Refused(f"{resource}: {exc.message}") from None
    return PlannedChange(resource, "updated" if changed else "unchanged",
                         [f"{', '.join(changed)} changed"] if changed else [])


def _missing(call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _apply_bus(client: BaseClient, bus: dict[str, Any], dry_run: bool) -> PlannedChange:
    name = bus["Name"]
    current = _missing(lambda: client.describe_event_bus(Name=name))
    if current is None:
        if not dry_run:
            client.create_event_bus(**{key: value for key, value in bus.items() if value})
        return PlannedChange(f"bus {name}", "created")
    if bus.get("Description", current.get("Description")) != current.get("Description"):
        raise InvalidDeclaration(f"bus {name}: its Description cannot be changed in place (EventBridge has no "
                                 "update for it); delete and re-create the bus, or keep the current Description")
    details = _apply_tags(client, current["Arn"], bus["Tags"], dry_run)
    return PlannedChange(f"bus {name}", "updated" if details else "unchanged", details)


def _apply_rule(client: BaseClient, rule: dict[str, Any], dry_run: bool) -> PlannedChange:
    bus = rule.get("EventBusName") or "default"
    name = rule["Name"]
    resource = f"rule {bus}/{name}"
    current = _missing(lambda: client.describe_rule(Name=name, EventBusName=bus))
    wanted = {key: rule[key] for key in RULE_FIELDS if rule.get(key)}
    wanted.setdefault("State", "ENABLED")
    if current is None:
        if not dry_run:
            client.put_rule(Name=name, EventBusName=bus, Tags=rule["Tags"], **wanted)
        targets = _apply_targets(client, bus, name, [], rule["Targets"], dry_run)
        return PlannedChange(resource, "created", [targets] if targets else [])
    details = [f"{key} changed" for key in RULE_FIELDS if not _same(key, wanted.get(key), current.get(key))]
    if details and not dry_run:
        client.put_rule(Name=name, EventBusName=bus, **wanted)
    details += _apply_tags(client, current["Arn"], rule["Tags"], dry_run)
    listed = client.get_paginator("list_targets_by_rule").paginate(Rule=name, EventBusName=bus)
    existing = [target for page in listed for target in page["Targets"]]
    targets = _apply_targets(client, bus, name, existing, rule["Targets"], dry_run)
    if targets:
        details.append(targets)
    return PlannedChange(resource, "updated" if details else "unchanged", details)


def _apply_correlation(busbar: BusbarClient, definition: dict[str, Any], dry_run: bool) -> PlannedChange:
    resource = f"correlation {definition['bus']}/{definition['name']}"
    current = _missing(lambda: busbar.describe_correlation(definition["name"], definition["bus"]))
    if current is not None and current["Correlation"] == definition:
        return PlannedChange(resource, "unchanged")
    if not dry_run:
        busbar.put_correlation(definition)
    return PlannedChange(resource, "created" if current is None else "updated")


def _apply_function(busbar: BusbarClient, record: dict[str, Any], dry_run: bool) -> PlannedChange:
    resource = f"function {record['FunctionName']}"
    try:
        import_handler(record["Handler"], record["Environment"]["Variables"])
        details = []
    except HandlerUnavailable as exc:
        details = [f"warning: {exc}; the workers import it from their own working directory and PYTHONPATH"]
    current = _missing(lambda: busbar.get_function(record["FunctionName"]))
    if current is not None and declared(current) == record:
        return PlannedChange(resource, "unchanged", details)
    if not dry_run:
        busbar.put_function(record)
    return PlannedChange(resource, "created" if current is None else "updated", details)


def _same(key: str, wanted: Any, current: Any) -> bool:
    """Patterns compare as JSON, so formatting differences are not changes."""
    if key == "EventPattern" and wanted and current:
        return json.loads(wanted) == json.loads(current)
    return wanted == current


def _apply_targets(client: BaseClient, bus: str, rule: str, existing: list[dict[str, Any]],
                   wanted: list[dict[str, Any]], dry_run: bool) -> str:
    """'targets: +a ~b -c' for what changed, '' when nothing did."""
    current = {target["Id"]: target for target in existing}
    put = [target for target in wanted if current.get(target["Id"]) != target]
    remove = sorted(set(current) - {target["Id"] for target in wanted})
    if not dry_run and remove:  # first, so replacing targets never trips the per-rule limit
        client.remove_targets(Rule=rule, EventBusName=bus, Ids=remove)
    if not dry_run and put:
        result = client.put_targets(Rule=rule, EventBusName=bus, Targets=put)
        if result["FailedEntryCount"]:
            failures = "; ".join(f"{entry['TargetId']}: {entry['ErrorMessage']}" for entry in result["FailedEntries"])
            raise Refused(f"rule {bus}/{rule}: target(s) refused: {failures}")
    marks = [("+" if target["Id"] not in current else "~") + target["Id"] for target in put]
    marks += ["-" + target_id for target_id in remove]
    return f"targets: {' '.join(marks)}" if marks else ""


def _apply_tags(client: BaseClient, arn: str, wanted: list[dict[str, str]], dry_run: bool) -> list[str]:
    """Declared tags are set; tags not declared are left, as other tools may own them."""
    current = {tag["Key"]: tag["Value"] for tag in client.list_tags_for_resource(ResourceARN=arn)["Tags"]}
    changed = [tag for tag in wanted if current.get(tag["Key"]) != tag["Value"]]
    if changed and not dry_run:
        client.tag_resource(ResourceARN=arn, Tags=changed)
    return [f"tags: {', '.join(tag['Key'] for tag in changed)}"] if changed else []
