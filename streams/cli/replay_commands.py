"""`busbar archives ...` and `busbar replays ...`: the archive and replay API from the shell,
through boto3 like the other API commands; `replays describe` follows a running replay with a
progress bar drawn from busbar's EventsReplayed/EventsTotal (members boto3 does not model, so
they are read from the raw response)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import click

from streams.cli.api_commands import _all_pages, api_call, emit, endpoint_options, make_client, pattern_text

RUNNING = ("STARTING", "RUNNING", "CANCELLING")
FOLLOW_POLL_S = 0.5
PROGRESS_MEMBERS = ("EventsReplayed", "EventsTotal", "Worker")


def when(value: str) -> datetime:
    """An ISO 8601 time (UTC when it names no zone), or `now`."""
    if value == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time like 2026-11-30T22:00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- archives -----------------------------------------------------------------------------------


@click.group()
def archives() -> None:
    """Create, list, describe, update and delete archives of a bus's events."""


@archives.command("create")
@endpoint_options
@click.argument("name")
@click.option("--bus", default="default", show_default=True, help="The bus whose events are archived.")
@click.option("--pattern", default=None, help="Keep only the events this pattern matches (JSON or a file).")
@click.option("--retention-days", type=click.IntRange(min=0), default=0, show_default=True,
              help="Days events are kept; 0 keeps them forever.")
@click.option("--description", default=None)
@api_call
def archives_create(endpoint_url: str, region: str, name: str, bus: str, pattern: str | None, retention_days: int,
                    description: str | None) -> None:
    """Create an archive (and its Kafka topic)."""
    client = make_client(endpoint_url, region)
    bus_arn = client.describe_event_bus(Name=bus)["Arn"]
    args = {key: value for key, value in (("EventPattern", pattern_text(pattern)), ("Description", description))
            if value is not None}
    emit(client.create_archive(ArchiveName=name, EventSourceArn=bus_arn, RetentionDays=retention_days, **args))


@archives.command("list")
@endpoint_options
@click.option("--prefix", default=None, help="Only archives whose name starts with this.")
@api_call
def archives_list(endpoint_url: str, region: str, prefix: str | None) -> None:
    """List archives (all pages), with their event counts and sizes."""
    client = make_client(endpoint_url, region)
    args = {"NamePrefix": prefix} if prefix else {}
    emit({"Archives": _all_pages(lambda **kw: client.list_archives(**args, **kw), "Archives")})


@archives.command("describe")
@endpoint_options
@click.argument("name")
@api_call
def archives_describe(endpoint_url: str, region: str, name: str) -> None:
    """Show one archive: its pattern, retention, EventCount and SizeBytes."""
    emit(make_client(endpoint_url, region).describe_archive(ArchiveName=name))


@archives.command("update")
@endpoint_options
@click.argument("name")
@click.option("--pattern", default=None, help="A new event pattern (JSON or a file).")
@click.option("--retention-days", type=click.IntRange(min=0), default=None, help="New retention; 0: forever.")
@click.option("--description", default=None)
@api_call
def archives_update(endpoint_url: str, region: str, name: str, pattern: str | None, retention_days: int | None,
                    description: str | None) -> None:
    """Change an archive's pattern, retention or description (what is not given stays)."""
    args = {key: value for key, value in (("EventPattern", pattern_text(pattern)), ("RetentionDays", retention_days),
                                          ("Description", description)) if value is not None}
    emit(make_client(endpoint_url, region).update_archive(ArchiveName=name, **args))


@archives.command("delete")
@endpoint_options
@click.argument("name")
@api_call
def archives_delete(endpoint_url: str, region: str, name: str) -> None:
    """Delete an archive and the events it holds."""
    make_client(endpoint_url, region).delete_archive(ArchiveName=name)
    click.echo(f"deleted archive {name}")


# --- replays ------------------------------------------------------------------------------------


@click.group()
def replays() -> None:
    """Start, follow, list and cancel replays of archived events."""


@replays.command("start")
@endpoint_options
@click.argument("name")
@click.option("--archive", required=True, help="The archive to replay from.")
@click.option("--from", "start", required=True, help="Replay events archived from this time on (ISO 8601).")
@click.option("--to", "end", default="now", show_default=True, help="... up to this time, not included.")
@click.option("--rule", "rules", multiple=True, help="Replay only to this rule of the bus (repeatable; "
              "default: every rule).")
@click.option("--follow", is_flag=True, help="Follow the replay with a progress bar until it ends.")
@api_call
def replays_start(endpoint_url: str, region: str, name: str, archive: str, start: str, end: str,
                  rules: tuple[str, ...], follow: bool) -> None:
    """Replay an archive's events of a time window to its bus."""
    client = make_client(endpoint_url, region)
    described = client.describe_archive(ArchiveName=archive)
    bus_arn = described["EventSourceArn"]
    bus = bus_arn.split("event-bus/", 1)[1]
    destination: dict[str, Any] = {"Arn": bus_arn}
    if rules:
        destination["FilterArns"] = [client.describe_rule(Name=rule, EventBusName=bus)["Arn"] for rule in rules]
    emit(client.start_replay(ReplayName=name, EventSourceArn=described["ArchiveArn"], EventStartTime=when(start),
                             EventEndTime=when(end), Destination=destination))
    if follow:
        emit(_follow(client, name))


@replays.command("describe")
@endpoint_options
@click.argument("name")
@click.option("--no-follow", is_flag=True, help="Show the replay as it is now, without following it.")
@api_call
def replays_describe(endpoint_url: str, region: str, name: str, no_follow: bool) -> None:
    """Show a replay; while it runs, a progress bar follows it to its end."""
    client = make_client(endpoint_url, region)
    emit(_describe(client, name) if no_follow else _follow(client, name))


@replays.command("list")
@endpoint_options
@click.option("--prefix", default=None, help="Only replays whose name starts with this.")
@api_call
def replays_list(endpoint_url: str, region: str, prefix: str | None) -> None:
    """List replays (all pages)."""
    client = make_client(endpoint_url, region)
    args = {"NamePrefix": prefix} if prefix else {}
    emit({"Replays": _all_pages(lambda **kw: client.list_replays(**args, **kw), "Replays")})


@replays.command("cancel")
@endpoint_options
@click.argument("name")
@api_call
def replays_cancel(endpoint_url: str, region: str, name: str) -> None:
    """Cancel a starting or running replay."""
    emit(make_client(endpoint_url, region).cancel_replay(ReplayName=name))


def _describe(client: Any, name: str) -> dict[str, Any]:
    """DescribeReplay with busbar's progress members, which botocore's parser drops."""
    raw: dict[str, Any] = {}

    def keep(http_response: Any, **_: Any) -> None:
        raw.update(json.loads(http_response.content or b"{}"))

    event = "after-call.eventbridge.DescribeReplay"
    client.meta.events.register(event, keep)
    try:
        response = client.describe_replay(ReplayName=name)
    finally:
        client.meta.events.unregister(event, keep)
    response.update({member: raw[member] for member in PROGRESS_MEMBERS if member in raw})
    return response


def _follow(client: Any, name: str) -> dict[str, Any]:
    """Poll the replay until it ends, drawing how many of its events are replayed."""
    replay = _describe(client, name)
    if replay["State"] not in RUNNING:
        click.echo(f"replay {name}: {replay['State']}, {_counts(replay)}", err=True)
        return replay
    with click.progressbar(length=max(1, replay.get("EventsTotal") or 1), label=f"replay {name}",
                           show_pos=True, file=click.get_text_stream("stderr")) as bar:
        done = 0
        while True:
            total, replayed = replay.get("EventsTotal"), replay.get("EventsReplayed", 0)
            if total:
                bar.length = max(1, total)
            bar.update(replayed - done)
            done = replayed
            if replay["State"] not in RUNNING:
                break
            time.sleep(FOLLOW_POLL_S)
            replay = _describe(client, name)
    click.echo(f"replay {name}: {replay['State']}, {_counts(replay)}", err=True)
    return replay


def _counts(replay: dict[str, Any]) -> str:
    return f"{replay.get('EventsReplayed', 0)} of {replay.get('EventsTotal', '?')} events replayed"


COMMANDS = [archives, replays]
