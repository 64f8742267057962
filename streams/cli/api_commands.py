"""Commands that talk to a running busbar: put-events, buses, rules, targets, apply, and the
two that need no server: test-pattern (local pattern engine) and tail (reads Kafka directly).

They use boto3 against the EventBridge API, exactly as users' own code does, so the CLI
exercises the same path. Output is JSON (the API's response) for scripts and jq. Exit codes:
0 success, 1 the server refused or failed (one line on stderr), 2 invalid usage or input.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from streams.busbar_client import BusbarClient
from streams.settings import SETTINGS, Settings

DEFAULT_ENDPOINT = "http://127.0.0.1:4010"
DUMMY_CREDENTIAL = "busbar"  # what local mode accepts when the user has no AWS credentials

# --- shared plumbing ----------------------------------------------------------------------------


def endpoint_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--region", envvar=SETTINGS["region"].env, default=SETTINGS["region"].default,
                        show_default=True, help=f"Region to sign requests for [env {SETTINGS['region'].env}].")(func)
    return click.option("--endpoint-url", envvar="BUSBAR_ENDPOINT_URL", default=DEFAULT_ENDPOINT, show_default=True,
                        help="URL of the busbar API [env BUSBAR_ENDPOINT_URL].")(func)


def api_call(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turns the errors a call can meet into one-line messages: exit 1 when the server refused or
    could not be reached, 2 when boto3 itself found the input invalid."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            ParamValidationError,
        )

        try:
            return func(*args, **kwargs)
        except ParamValidationError as exc:  # boto3 refused the input before sending it
            click.echo(f"Error: {' '.join(str(exc).split())}", err=True)
            raise SystemExit(2) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise click.ClickException(f"{error.get('Code', 'Error')}: {error.get('Message', '')}") from None
        except EndpointConnectionError as exc:
            raise click.ClickException(f"cannot reach busbar at {exc.kwargs.get('endpoint_url')}: is it running? "
                                       "(`busbar up` starts one)") from None
        except BotoCoreError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def make_session(region: str) -> Any:
    """A boto3 session; dummy credentials when none are configured (local mode)."""
    import boto3

    # busbar is never on EC2's metadata service; probing it costs seconds where it is absent.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        session = boto3.Session(region_name=region, aws_access_key_id=DUMMY_CREDENTIAL,
                                aws_secret_access_key=DUMMY_CREDENTIAL)
    return session


def make_client(endpoint_url: str, region: str) -> Any:
    """A boto3 events client."""
    return make_session(region).client("events", endpoint_url=endpoint_url)


def make_busbar_client(endpoint_url: str, region: str) -> BusbarClient:
    """The client of busbar's own operations, with the credentials the events client would use."""
    return BusbarClient(endpoint_url, region, make_session(region).get_credentials())


def emit(response: dict[str, Any]) -> None:
    response.pop("ResponseMetadata", None)
    click.echo(json.dumps(response, indent=2, default=str))


def json_arg(value: str, what: str) -> Any:
    """A JSON argument given inline or as a path to a file holding it."""
    text = value
    if not value.lstrip().startswith(("{", "[")) and Path(value).is_file():
        text = Path(value).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON (nor a file holding JSON): {exc}", param_hint=what) from None


def pattern_text(value: str | None) -> str | None:
    return None if value is None else json.dumps(json_arg(value, "--pattern"))


# --- put-events ---------------------------------------------------------------------------------


@click.command("put-events")
@endpoint_options
@click.option("--bus", default=None, help="Event bus name or ARN (default: the default bus).")
@click.option("--source", help="The event's source, e.g. com.example.orders.")
@click.option("--detail-type", help="The event's detail-type, e.g. 'Order Placed'.")
@click.option("--detail", help="The event's detail: a JSON object, inline or a file path.")
@click.option("--resource", "resources", multiple=True, help="A resource ARN (repeatable).")
@click.option("--file", "entries_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of PutEvents entries (a list, or {\"Entries\": [...]}) instead of the options.")
@api_call
def put_events(endpoint_url: str, region: str, bus: str | None, source: str | None, detail_type: str | None,
               detail: str | None, resources: tuple[str, ...], entries_file: Path | None) -> None:
    """Put events on a bus; prints the event ids. Exit 1 if any entry failed."""
    if entries_file is not None:
        entries = json_arg(str(entries_file), "--file")
        entries = entries.get("Entries") if isinstance(entries, dict) else entries
        if not isinstance(entries, list) or not entries:
            raise click.BadParameter("expected a non-empty list of entries", param_hint="--file")
    else:
        if not (source and detail_type):
            raise click.UsageError("give --source and --detail-type (and --detail), or --file")
        entry: dict[str, Any] = {"Source": source, "DetailType": detail_type,
                                 "Detail": json.dumps(json_arg(detail or "{}", "--detail"))}
        if bus:
            entry["EventBusName"] = bus
        if resources:
            entry["Resources"] = list(resources)
        entries = [entry]
    response = make_client(endpoint_url, region).put_events(Entries=entries)
    emit(response)
    if response["FailedEntryCount"]:
        raise click.ClickException(f"{response['FailedEntryCount']} of {len(entries)} event(s) failed")


# --- buses --------------------------------------------------------------------------------------


@click.group()
def buses() -> None:
    """List, create, describe and delete event buses."""


@buses.command("list")
@endpoint_options
@click.option("--prefix", default=None, help="Only buses whose name starts with this.")
@api_call
def buses_list(endpoint_url: str, region: str, prefix: str | None) -> None:
    """List event buses (all pages)."""
    client = make_client(endpoint_url, region)
    args = {"NamePrefix": prefix} if prefix else {}
    emit({"EventBuses": _all_pages(lambda **kw: client.list_event_buses(**args, **kw), "EventBuses")})


@buses.command("create")
@endpoint_options
@click.argument("name")
@click.option("--description", default=None, help="What the bus is for.")
@api_call
def buses_create(endpoint_url: str, region: str, name: str, description: str | None) -> None:
    """Create an event bus (and its Kafka topics)."""
    args = {"Description": description} if description else {}
    emit(make_client(endpoint_url, region).create_event_bus(Name=name, **args))


@buses.command("describe")
@endpoint_options
@click.argument("name", default="default")
@api_call
def buses_describe(endpoint_url: str, region: str, name: str) -> None:
    """Show one event bus."""
    emit(make_client(endpoint_url, region).describe_event_bus(Name=name))


@buses.command("delete")
@endpoint_options
@click.argument("name")
@api_call
def buses_delete(endpoint_url: str, region: str, name: str) -> None:
    """Delete an event bus (its rules must be deleted first; its topics are kept)."""
    make_client(endpoint_url, region).delete_event_bus(Name=name)
    click.echo(f"deleted bus {name}")


def _all_pages(call: Callable[..., dict[str, Any]], key: str) -> list[Any]:
    """Follow NextToken to the end, so listings are never silently cut at one page."""
    items: list[Any] = []
    token: str | None = None
    while True:
        response = call(**({"NextToken": token} if token else {}))
        items += response[key]
        token = response.get("NextToken")
        if not token:
            return items


# --- rules --------------------------------------------------------------------------------------

bus_option = click.option("--bus", default="default", show_default=True, help="Event bus name or ARN.")


@click.group()
def rules() -> None:
    """List, put, describe, delete, enable and disable rules."""


@rules.command("list")
@endpoint_options
@bus_option
@click.option("--prefix", default=None, help="Only rules whose name starts with this.")
@api_call
def rules_list(endpoint_url: str, region: str, bus: str, prefix: str | None) -> None:
    """List the rules of a bus (all pages)."""
    client = make_client(endpoint_url, region)
    args = {"EventBusName": bus, **({"NamePrefix": prefix} if prefix else {})}
    emit({"Rules": _all_pages(lambda **kw: client.list_rules(**args, **kw), "Rules")})


@rules.command("put")
@endpoint_options
@bus_option
@click.argument("name")
@click.option("--pattern", default=None, help="Event pattern: JSON inline or a file path.")
@click.option("--schedule", default=None, help="rate(...) or cron(...) (default bus only).")
@click.option("--description", default=None)
@click.option("--disabled", is_flag=True, help="Create the rule disabled.")
@api_call
def rules_put(endpoint_url: str, region: str, bus: str, name: str, pattern: str | None, schedule: str | None,
              description: str | None, disabled: bool) -> None:
    """Create or replace a rule (its targets are kept)."""
    if pattern is None and schedule is None:
        raise click.UsageError("give --pattern or --schedule (or both)")
    args = {key: value for key, value in (("EventPattern", pattern_text(pattern)), ("ScheduleExpression", schedule),
                                          ("Description", description)) if value is not None}
    emit(make_client(endpoint_url, region).put_rule(Name=name, EventBusName=bus,
                                                    State="DISABLED" if disabled else "ENABLED", **args))


def _rule_command(name: str, method: str, doc: str, done: str | None) -> click.Command:
    """describe/delete/enable/disable differ only in the API method and what they print."""

    @endpoint_options
    @bus_option
    @click.argument("rule")
    @api_call
    def command(endpoint_url: str, region: str, bus: str, rule: str) -> None:
        response = getattr(make_client(endpoint_url, region), method)(Name=rule, EventBusName=bus)
        if done is None:
            emit(response)
        else:
            click.echo(f"{done} rule {bus}/{rule}")

    command.__doc__ = doc
    return rules.command(name)(command)


_rule_command("describe", "describe_rule", "Show one rule.", None)
_rule_command("delete", "delete_rule", "Delete a rule (remove its targets first).", "deleted")
_rule_command("enable", "enable_rule", "Enable a rule.", "enabled")
_rule_command("disable", "disable_rule", "Disable a rule: it stops matching until enabled.", "disabled")


# --- targets ------------------------------------------------------------------------------------


@click.group()
def targets() -> None:
    """List, put and remove the targets of a rule."""


@targets.command("list")
@endpoint_options
@bus_option
@click.argument("rule")
@api_call
def targets_list(endpoint_url: str, region: str, bus: str, rule: str) -> None:
    """List a rule's targets (all pages)."""
    client = make_client(endpoint_url, region)
    emit({"Targets": _all_pages(lambda **kw: client.list_targets_by_rule(Rule=rule, EventBusName=bus, **kw),
                                "Targets")})


@targets.command("put")
@endpoint_options
@bus_option
@click.argument("rule")
@click.option("--id", "target_id", default=None, help="Target id (with --arn).")
@click.option("--arn", default=None, help="Target ARN, e.g. arn:aws:kafka:<region>:<account>:topic/local/<topic>.")
@click.option("--input-path", default=None, help="JSONPath of the part of the event to send, e.g. $.detail.")
@click.option("--json", "targets_json", default=None,
              help="Full Target objects (a list, inline JSON or a file) instead of --id/--arn.")
@api_call
def targets_put(endpoint_url: str, region: str, bus: str, rule: str, target_id: str | None, arn: str | None,
                input_path: str | None, targets_json: str | None) -> None:
    """Add or replace targets of a rule. Exit 1 if any target was refused."""
    if targets_json is not None:
        wanted = json_arg(targets_json, "--json")
        wanted = wanted if isinstance(wanted, list) else [wanted]
    elif target_id and arn:
        wanted = [{"Id": target_id, "Arn": arn, **({"InputPath": input_path} if input_path else {})}]
    else:
        raise click.UsageError("give --id and --arn, or --json")
    response = make_client(endpoint_url, region).put_targets(Rule=rule, EventBusName=bus, Targets=wanted)
    emit(response)
    if response["FailedEntryCount"]:
        raise click.ClickException(f"{response['FailedEntryCount']} target(s) refused")


@targets.command("remove")
@endpoint_options
@bus_option
@click.argument("rule")
@click.argument("ids", nargs=-1, required=True)
@api_call
def targets_remove(endpoint_url: str, region: str, bus: str, rule: str, ids: tuple[str, ...]) -> None:
    """Remove targets from a rule by id."""
    emit(make_client(endpoint_url, region).remove_targets(Rule=rule, EventBusName=bus, Ids=list(ids)))


# --- test-pattern -------------------------------------------------------------------------------


@click.command("test-pattern")
@click.argument("pattern")
@click.argument("event")
def test_pattern(pattern: str, event: str) -> None:
    """Does EVENT match PATTERN? Each is JSON inline or a file path. Runs locally, no server.

    Prints true (exit 0) or false (exit 1); an invalid pattern or event prints why (exit 2).
    """
    from streams.patterns import InvalidEvent, InvalidEventPattern, compile_pattern

    try:
        compiled = compile_pattern(json_arg(pattern, "PATTERN"))
        matched = compiled.matches(json_arg(event, "EVENT"))
    except (InvalidEventPattern, InvalidEvent) as exc:
        click.echo(f"Error: invalid {'pattern' if isinstance(exc, InvalidEventPattern) else 'event'}: {exc}",
                   err=True)
        raise SystemExit(2) from None
    click.echo("true" if matched else "false")
    raise SystemExit(0 if matched else 1)


test_pattern.__test__ = False  # type: ignore[attr-defined]  # a command, not a pytest test


# --- tail ---------------------------------------------------------------------------------------


def partition_ranges(consumer: Any, bootstrap: str, topic: str, missing_hint: str) -> dict[int, tuple[int, int]]:
    """Each partition's oldest and next offset; ClickException when the topic is missing or unreadable."""
    from confluent_kafka import KafkaException, TopicPartition

    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise click.ClickException(f"topic {topic} does not exist: {missing_hint}")
        return {partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                for partition in sorted(meta.partitions)}
    except KafkaException as exc:
        raise click.ClickException(f"cannot read {topic} from Kafka at {bootstrap}: {exc}") from None


def follow_topic(bootstrap: str, topic: str, *, from_beginning: bool, on_ready: Callable[[], None],
                 missing_hint: str) -> Iterator[bytes]:
    """Record values of every partition of `topic`, from now (or the oldest) on, forever.

    Start offsets are read and assigned explicitly before `on_ready`, so an event put after
    "following" is printed can never be missed (OFFSET_END is resolved lazily, later).
    """
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"busbar-tail-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "log_level": 0})
    try:
        ranges = partition_ranges(consumer, bootstrap, topic, missing_hint)
        consumer.assign([TopicPartition(topic, partition, low if from_beginning else high)
                         for partition, (low, high) in ranges.items()])
        on_ready()
        while True:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    click.echo(f"warning: {msg.error()}", err=True)
                continue
            yield msg.value() or b""
    finally:
        consumer.close()


@click.command()
@click.argument("bus", required=False)
@click.option("--topic", default=None,
              help="Follow this Kafka topic (e.g. a rule's target topic) instead of a bus; any JSON is shown.")
@click.option("--kafka", envvar=SETTINGS["kafka_bootstrap"].env, default=None,
              help=f"Kafka bootstrap servers [env {SETTINGS['kafka_bootstrap'].env}; default: the broker "
                   f"`busbar up` embeds, 127.0.0.1:<{SETTINGS['broker_port'].env}>].")
@click.option("--topic-prefix", envvar=SETTINGS["topic_prefix"].env, default=SETTINGS["topic_prefix"].default,
              show_default=True, help=f"{SETTINGS['topic_prefix'].help} [env {SETTINGS['topic_prefix'].env}]")
@click.option("--pattern", default=None, help="Only events matching this event pattern (JSON inline or a file).")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest retained event instead of now.")
@click.option("--pretty", is_flag=True, help="Indent each event instead of one JSON line per event.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after this many events.")
def tail(bus: str | None, topic: str | None, kafka: str | None, topic_prefix: str, pattern: str | None,
         from_beginning: bool, pretty: bool, count: int | None) -> None:
    """Follow the events arriving on BUS (default: default), or on --topic TOPIC, straight from Kafka.

    No server needed. One JSON value per line (pipe to jq to reshape), or indented with
    --pretty; records that are not JSON are reported on stderr and skipped. A target topic
    holds what the target received, so with --topic any JSON is shown; --pattern then keeps
    the JSON objects it matches.
    """
    from streams.model import DEFAULT_BUS
    from streams.patterns import InvalidEvent, InvalidEventPattern, compile_pattern
    from streams.topics import TopicNames

    try:
        matcher = compile_pattern(json_arg(pattern, "--pattern")) if pattern else None
    except InvalidEventPattern as exc:
        raise click.BadParameter(str(exc), param_hint="--pattern") from None
    if topic is not None and bus is not None:
        raise click.UsageError("give BUS or --topic TOPIC, not both")
    hint = "is the topic name right?"
    if topic is None:
        topic = TopicNames(topic_prefix).bus(bus or DEFAULT_BUS)
        hint = "is the bus name and --topic-prefix right?"
    if kafka is None:
        try:
            kafka = f"127.0.0.1:{Settings.from_env().broker_port}"
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    shown = 0
    records = follow_topic(kafka, topic, from_beginning=from_beginning, missing_hint=hint,
                           on_ready=lambda: click.echo(f"following {topic} (Ctrl-C stops)", err=True))
    try:
        for value in records:
            try:
                event = json.loads(value)
                if matcher is not None and not matcher.matches(event):
                    continue
            except (json.JSONDecodeError, UnicodeDecodeError, InvalidEvent) as exc:
                click.echo(f"skipped a record that is not a JSON event: {exc}", err=True)
                continue
            click.echo(json.dumps(event, indent=2 if pretty else None))
            shown += 1
            if count is not None and shown >= count:
                return
    except KeyboardInterrupt:
        return
    finally:
        records.close()


# --- apply --------------------------------------------------------------------------------------


@click.command()
@endpoint_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@api_call
def apply(endpoint_url: str, region: str, file: Path, dry_run: bool) -> None:
    """Create or update the buses, rules and targets declared in FILE (YAML or JSON).

    Idempotent: prints created/updated/unchanged per resource. See streams/apply.py for the format.
    """
    from streams.apply import InvalidDeclaration, Refused, load
    from streams.apply import apply as run_apply
    from streams.connect_client import ConnectClient

    try:
        connect = ConnectClient(endpoint_url, region)
        for change in run_apply(make_client(endpoint_url, region), load(file), dry_run=dry_run, connect=connect,
                                busbar=make_busbar_client(endpoint_url, region)):
            click.echo(("[dry run] " if dry_run else "") + str(change))
    except InvalidDeclaration as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None
    except Refused as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS = [put_events, buses, rules, targets, test_pattern, tail, apply]
