"""Commands that run busbar itself: `up`, `worker`, `api`, `fetch-kafka`."""

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
@click.option("--api-processes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also run this many API processes (`busbar api`) sharing --api-port: PutEvents ingest "
                   "then scales with cores.")
@click.option("--api-port", type=int, default=None, help="Port of the API processes [default: --port + 1].")
def up(api_processes: int, api_port: int | None, **values: Any) -> None:
    """Run busbar in the foreground: the embedded Kafka broker (unless --kafka), topics, one worker."""
    from streams.up import ApiProcesses, UpError, run_up

    settings = apply_flags(values)
    api = ApiProcesses(api_processes, api_port or settings.port + 1) if api_processes else None
    try:
        sys.exit(run_up(settings, api))
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


@click.command()
@server_options
@click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
              help="API processes to run, all on --port (SO_REUSEPORT: the kernel spreads connections).")
def api(processes: int, **values: Any) -> None:
    """Run the EventBridge API alone (no routing), beside workers: ingest scales with processes."""
    settings = apply_flags(values)
    if settings.embedded:
        raise click.ClickException("busbar api needs --kafka or BUSBAR_KAFKA_BOOTSTRAP (`busbar up` starts a broker)")
    import logging

    from streams.api_process import run
    from streams.topics import ensure_internal_topics

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_internal_topics(settings)
    sys.exit(run(settings, processes))


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


COMMANDS = [up, worker, api, fetch_kafka]
