"""Commands that run busbar itself: `up`, `worker`, `fetch-kafka`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from streams.embedded_kafka import EmbeddedKafkaError, fetch_jars
from streams.settings import SETTINGS, Settings

# flag name -> settings key; a flag writes its BUSBAR_* variable so child workers inherit it
SERVER_FLAGS: list[tuple[str, str, type]] = [
    ("--kafka", "kafka_bootstrap", str),
    ("--port", "port", int),
    ("--host", "host", str),
    ("--broker-port", "broker_port", int),
    ("--data-dir", "data_dir", str),
    ("--topic-prefix", "topic_prefix", str),
    ("--region", "region", str),
    ("--account-id", "account", str),
]


def server_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for flag, key, kind in reversed(SERVER_FLAGS):
        spec = SETTINGS[key]
        func = click.option(flag, key, type=kind, default=None,
                            help=f"{spec.help} [env {spec.env}, default {spec.default or 'none'}]")(func)
    return func


def apply_flags(values: dict[str, Any]) -> Settings:
    for _, key, _ in SERVER_FLAGS:
        if values.get(key) is not None:
            os.environ[SETTINGS[key].env] = str(values[key])
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@server_options
def up(**values: Any) -> None:
    """Run busbar in the foreground: the embedded Kafka broker (unless --kafka), topics, one worker."""
    from streams.up import UpError, run_up

    settings = apply_flags(values)
    try:
        sys.exit(run_up(settings))
    except UpError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@server_options
def worker(**values: Any) -> None:
    """Run one worker against an existing cluster; start more with the same app id to scale out."""
    settings = apply_flags(values)
    if settings.embedded:
        raise click.ClickException("busbar worker needs --kafka or BUSBAR_KAFKA_BOOTSTRAP (`busbar up` starts a broker)")
    from faust.worker import Worker

    from streams.app import app
    from streams.topics import ensure_internal_topics

    ensure_internal_topics(settings)

    runner = Worker(app, loglevel=settings.log_level)
    if not sys.stdout.isatty():
        # Faust's startup spinner writes cursor control sequences and a closing " OK ^" also
        # into files and pipes (`busbar up > log`, make); outside a terminal it has nothing to show.
        runner.spinner = None
    runner.execute_from_commandline()


@click.command("fetch-kafka")
@click.option("--lib-dir", type=click.Path(path_type=Path), default=None, help="Where to put the jars.")
def fetch_kafka(lib_dir: Path | None) -> None:
    """Fetch the embedded Apache Kafka broker's jars with Maven (once)."""
    target = lib_dir or Settings.from_env().kafka_lib
    try:
        fetch_jars(target)
    except EmbeddedKafkaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Kafka jars ready in {target}")


COMMANDS = [up, worker, fetch_kafka]
