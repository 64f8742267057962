"""`busbar dlq list` and `busbar dlq redrive`: dead letters read straight from Kafka, shown
readably, and sent back through their targets.

A dead letter says where it was going in its headers: an HTTP delivery carries its delivery
record (`busbar-delivery`), which goes back on the deliveries topic as a fresh delivery (its
retry budget and age start again); a letter of a Kafka or bus target carries the target's ARN,
and its value goes back to that topic. Letters with neither (an event that was not a valid
envelope) have no target to go back to and are skipped, and counted. Kafka topics are
append-only, so redriven letters stay in the queue: choose them again by rule and time range.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from streams.cli.api_commands import partition_ranges
from streams.settings import SETTINGS, Settings

Headers = list[tuple[str, bytes]]


@dataclass
class Letter:
    timestamp_ms: int
    headers: dict[str, bytes]
    value: bytes
    partition: int
    offset: int

    def header(self, name: str) -> str:
        return self.headers.get(name, b"").decode("utf-8", "replace")

    def view(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "dead_lettered_at": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(),
            "partition": self.partition, "offset": self.offset}
        shown.update({name: self.header(name) for name in sorted(self.headers) if name != "busbar-delivery"})
        try:
            shown["value"] = json.loads(self.value)
        except (json.JSONDecodeError, UnicodeDecodeError):
            shown["value"] = self.value.decode("utf-8", "replace")
        return shown


def read_letters(bootstrap: str, topic: str) -> Iterator[Letter]:
    """Every record on `topic` now, partition by partition; ClickException when it cannot be read."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "busbar-dlq-reader",
                         "enable.auto.commit": False, "log_level": 0})
    try:
        ranges = partition_ranges(consumer, bootstrap, topic, "is the bus or topic name right?")
        for partition, (low, high) in sorted(ranges.items()):
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, low)])
            position = low
            while position < high:
                for msg in consumer.consume(500, 5.0):
                    if msg.error() is not None:
                        continue
                    position = msg.offset() + 1
                    yield Letter(msg.timestamp()[1], {k: v or b"" for k, v in (msg.headers() or [])},
                                 msg.value() or b"", partition, msg.offset())
    finally:
        consumer.close()


def where_back(letter: Letter, prefix: str) -> tuple[str, bytes, Headers] | str:
    """(topic, value, headers) that send the letter back through its target, or why it cannot go."""
    from streams.arns import LOCAL_CLUSTER, parse_target_arn
    from streams.delivery.letters import delivery_from_letter
    from streams.topics import TopicNames

    topics = TopicNames(prefix)
    trace: Headers = [(name, letter.headers[name]) for name in ("busbar-rule", "busbar-bus")
                      if name in letter.headers]
    trace.append(("busbar-redriven", b"1"))
    delivery = delivery_from_letter(letter.headers, letter.value)
    if delivery is not None:
        return topics.deliveries, delivery, trace
    arn = letter.header("busbar-target")
    if not arn:
        return "it names no target (the event itself could not be routed)"
    try:
        ref = parse_target_arn(arn)
    except ValueError as exc:
        return str(exc)
    if ref.kind == "bus":
        return topics.bus(ref.name), letter.value, []
    if ref.kind == "topic" and ref.cluster == LOCAL_CLUSTER:
        return ref.name, letter.value, trace
    return f"its target {arn} is not on this cluster"


def _instant(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-12-01T06:00:00Z)",
                                 param_hint=option) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _queue_topic(bootstrap: str, prefix: str, name: str) -> str:
    """The topic of a dead-letter queue as a user names it: a bus (its queue, <prefix>.dlq.BUS),
    the queue's ARN as written in a DeadLetterConfig, the queue's name (`webhook-dlq` for
    arn:aws:sqs:...:webhook-dlq, whose topic is sqs.webhook-dlq), or the topic itself."""
    from confluent_kafka.admin import AdminClient

    from streams.arns import parse_target_arn
    from streams.topics import TopicNames

    if name.startswith("arn:"):
        try:
            ref = parse_target_arn(name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if ref.kind != "topic":
            raise click.ClickException(f"'{name}' names a {ref.kind}, not a dead-letter queue")
        return ref.name
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        existing = admin.list_topics(timeout=10).topics
    except Exception as exc:
        raise click.ClickException(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    for candidate in (TopicNames(prefix).dlq(name), name, f"sqs.{name}"):
        if candidate in existing:
            return candidate
    raise click.ClickException(f"no dead-letter queue named '{name}': neither a bus's queue "
                               f"({TopicNames(prefix).dlq(name)}) nor a topic {name} or sqs.{name} exists")


def _chosen(bootstrap: str, topic: str, rule: str | None, since: str | None,
            until: str | None) -> Iterator[Letter]:
    start, end = _instant(since, "--since"), _instant(until, "--until")
    for letter in read_letters(bootstrap, topic):
        if rule is not None and letter.header("busbar-rule") != rule:
            continue
        at = letter.timestamp_ms
        if (start is not None and at < start) or (end is not None and at >= end):
            continue
        yield letter


def kafka_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.argument("bus_or_topic", metavar="BUS|QUEUE"),
        click.option("--rule", default=None, help="Only dead letters of this rule."),
        click.option("--since", default=None,
                     help="Only those dead-lettered at or after this ISO 8601 time."),
        click.option("--until", default=None, help="Only those dead-lettered before this ISO 8601 time."),
        click.option("--kafka", envvar=SETTINGS["kafka_bootstrap"].env, default=None,
                     help=f"Kafka bootstrap servers [env {SETTINGS['kafka_bootstrap'].env}; "
                          f"default: the broker `busbar up` embeds]."),
        click.option("--topic-prefix", envvar=SETTINGS["topic_prefix"].env,
                     default=SETTINGS["topic_prefix"].default, show_default=True,
                     help=f"{SETTINGS['topic_prefix'].help} [env {SETTINGS['topic_prefix'].env}]"),
    ]):
        func = option(func)
    return func


def _bootstrap(kafka: str | None) -> str:
    if kafka is not None:
        return kafka
    try:
        return f"127.0.0.1:{Settings.from_env().broker_port}"
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def dlq() -> None:
    """Dead letters: what busbar gave up delivering, and why."""


@dlq.command("list")
@kafka_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter (headers and value).")
def dlq_list(bus_or_topic: str, rule: str | None, since: str | None, until: str | None, kafka: str | None,
             topic_prefix: str, as_json: bool) -> None:
    """Show the dead letters of BUS (its queue, <prefix>.dlq.BUS) or of QUEUE (a target's
    DeadLetterConfig queue: its ARN, its name or its topic)."""
    bootstrap = _bootstrap(kafka)
    topic = _queue_topic(bootstrap, topic_prefix, bus_or_topic)
    count = 0
    for letter in _chosen(bootstrap, topic, rule, since, until):
        count += 1
        if as_json:
            click.echo(json.dumps(letter.view()))
            continue
        when = datetime.fromtimestamp(letter.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        where = f"rule {letter.header('busbar-rule') or '-'} target {letter.header('busbar-target') or '-'}"
        attempts = letter.header("busbar-attempt") or "-"
        click.echo(f"{when}Z  {where}  attempts {attempts}  {letter.header('busbar-error')}")
    click.echo(f"{count} dead letter(s) in {topic}", err=True)


@dlq.command("redrive")
@kafka_options
@click.option("--rate", type=click.FloatRange(min=0.1), default=100.0, show_default=True,
              help="Dead letters sent back per second.")
def dlq_redrive(bus_or_topic: str, rule: str | None, since: str | None, until: str | None, kafka: str | None,
                topic_prefix: str, rate: float) -> None:
    """Send the chosen dead letters of BUS or QUEUE back through their targets (all, or --rule and
    --since/--until), at --rate per second, with progress on stderr."""
    from confluent_kafka import Producer

    bootstrap = _bootstrap(kafka)
    topic = _queue_topic(bootstrap, topic_prefix, bus_or_topic)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "log_level": 0})
    sent = skipped = 0
    started = last_report = time.monotonic()
    for letter in _chosen(bootstrap, topic, rule, since, until):
        back = where_back(letter, topic_prefix)
        if isinstance(back, str):
            skipped += 1
            click.echo(f"skipped {letter.partition}@{letter.offset}: {back}", err=True)
            continue
        pause = started + sent / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        target_topic, value, headers = back
        producer.produce(target_topic, value, headers=headers)
        producer.poll(0)
        sent += 1
        if time.monotonic() - last_report >= 1.0:
            last_report = time.monotonic()
            click.echo(f"redriven {sent} (skipped {skipped})", err=True)
    if producer.flush(30) != 0:
        raise click.ClickException("Kafka did not confirm every redriven record within 30 s")
    click.echo(f"redriven {sent} dead letter(s) from {topic}, skipped {skipped}", err=True)


COMMANDS = [dlq]
