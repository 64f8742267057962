"""Schedules firing in real workers against the real broker, on a fast clock shared by the
workers (BUSBAR_SCHEDULE_CLOCK at 60x: a minute of schedule time is a second), through stock
boto3 `events` and `scheduler` clients.

Exactly-once is judged on the `<prefix>.scheduled` topic (and on the targets of Scheduler
schedules), which the scheduler writes in transactions: one record per rule and scheduled
time, none missing. The router then delivers those events at least once, like any event.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from botocore.exceptions import ClientError

from streams.scheduler.state import partition_of
from streams.topics import TopicNames
from tests.support import WorkerProcess, unique
from tests.test_api_scheduler import ROLE, scheduler_client
from tests.test_api_support import REGION, client_for
from tests.test_delivery_http import dead_letters
from tests.test_router_support import ACCOUNT, create_topics, read_all, topic_arn, wait_routed

pytestmark = pytest.mark.kafka

SPEED = 60
STARTUP_S = 20  # real seconds the workers get to start before the virtual clock reaches its start


def clock_setting(virtual_start: datetime) -> tuple[str, float]:
    real_start = time.time() + STARTUP_S
    return f"{virtual_start.isoformat()},{real_start},{SPEED}", real_start


def sleep_until_virtual(real_start: float, virtual_start: datetime, moment: datetime) -> None:
    time.sleep(max(0.0, real_start + (moment - virtual_start).total_seconds() / SPEED - time.time()))


def minutes(times: list[str]) -> list[datetime]:
    return [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times]


def owned_partitions(worker: WorkerProcess) -> float:
    with urllib.request.urlopen(f"{worker.url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    match = re.search(r"^busbar_scheduler_partitions (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def one_rule_per_partition(partitions: int) -> list[str]:
    """Rule names whose schedules land on every state partition, so every worker owns some."""
    names: dict[int, str] = {}
    n = 0
    while len(names) < partitions:
        name = f"every-minute-{n}"
        names.setdefault(partition_of(f"rule/default/{name}", partitions), name)
        n += 1
    return list(names.values())


def test_two_workers_fire_each_minute_once_and_a_killed_one_loses_and_repeats_nothing(
        kafka_bootstrap: str, worker_logs: Path) -> None:
    virtual_start = datetime(2030, 1, 1, tzinfo=UTC)
    clock, real_start = clock_setting(virtual_start)
    prefix = unique("sch")
    env = {"BUSBAR_SCHEDULE_CLOCK": clock, "BUSBAR_PARTITIONS": "4"}
    first = WorkerProcess(kafka_bootstrap, prefix=prefix, extra_env=env).start(worker_logs)
    second = WorkerProcess(kafka_bootstrap, prefix=prefix, extra_env=env).start(worker_logs)
    topics = TopicNames(prefix)
    target = unique("ticks")
    create_topics(kafka_bootstrap, target)
    try:
        events = client_for(first.url)
        rules = one_rule_per_partition(4)
        for name in rules:
            events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
            events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": topic_arn(target)}])
        sleep_until_virtual(real_start, virtual_start, virtual_start + timedelta(minutes=8))
        assert owned_partitions(first) >= 1 and owned_partitions(second) >= 1  # both fire some rules
        first.kill()  # its partitions move to the second after the group's session timeout (10 s: 10 minutes)
        sleep_until_virtual(real_start, virtual_start, virtual_start + timedelta(minutes=35))
        assert owned_partitions(second) == 4
        wait_routed(kafka_bootstrap, f"{prefix}-router", topics.scheduled)
    finally:
        first.kill()
        second.stop()
    fired = [orjson.loads(msg.value()) for msg in read_all(kafka_bootstrap, topics.scheduled)]
    for name in rules:
        arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
        times = sorted(minutes([event["time"] for event in fired if event["resources"] == [arn]]))
        assert len(times) == len(set(times)), f"{name} fired a time twice"
        assert times[-1] >= virtual_start + timedelta(minutes=33), f"{name} stopped firing at {times[-1]}"
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b - a != timedelta(minutes=1)]
        assert not gaps, f"{name} missed minutes: {gaps}"
        assert all(event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
                   for event in fired if event["resources"] == [arn])
    delivered = Counter(orjson.loads(msg.value())["id"] for msg in read_all(kafka_bootstrap, target))
    assert set(delivered) == {event["id"] for event in fired}  # each firing reached the rule's target


@pytest.fixture(scope="module")
def fast_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[tuple[WorkerProcess, datetime, float]]:
    virtual_start = datetime(2030, 2, 28, 23, 50, tzinfo=UTC)
    clock, real_start = clock_setting(virtual_start)
    worker = WorkerProcess(kafka_bootstrap, extra_env={"BUSBAR_SCHEDULE_CLOCK": clock}).start(worker_logs)
    try:
        yield worker, virtual_start, real_start
    finally:
        worker.stop()


def test_a_one_time_schedule_fires_once_and_is_deleted(kafka_bootstrap: str,
                                                       fast_worker: tuple[WorkerProcess, datetime, float]) -> None:
    worker, virtual_start, real_start = fast_worker
    scheduler = scheduler_client(worker.url)
    queue = unique("once")
    create_topics(kafka_bootstrap, f"sqs.{queue}")
    scheduler.create_schedule(
        Name="once", ScheduleExpression="at(2030-02-28T23:53:00)", FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", "RoleArn": ROLE,
                "Input": '{"job": "report", "at": "<aws.scheduler.scheduled-time>"}'})
    sleep_until_virtual(real_start, virtual_start, datetime(2030, 2, 28, 23, 56, tzinfo=UTC))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            scheduler.get_schedule(Name="once")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the one-time schedule was not deleted after it fired")
    assert [orjson.loads(msg.value()) for msg in read_all(kafka_bootstrap, f"sqs.{queue}")] == [
        {"job": "report", "at": "2030-02-28T23:53:00Z"}]


def test_cron_corner_cases_fire_at_their_times(kafka_bootstrap: str,
                                              fast_worker: tuple[WorkerProcess, datetime, float]) -> None:
    worker, virtual_start, real_start = fast_worker
    scheduler = scheduler_client(worker.url)
    group = unique("cron")
    scheduler.create_schedule_group(Name=group)
    queue = unique("cron")
    create_topics(kafka_bootstrap, f"sqs.{queue}")
    expressions = {
        "last-day": ("cron(55 23 L * ? *)", None),  # 2030-02-28 is February's last day
        "year": ("cron(0 0 1 3 ? 2030)", None),
        "first-friday": ("cron(5 0 ? * 6#1 *)", None),  # 2030-03-01 is a Friday
        "tokyo-nine": ("cron(0 9 1 3 ? *)", "Asia/Tokyo"),  # 09:00 in Tokyo is 00:00 UTC
        "not-this-year": ("cron(58 23 28 2 ? 2031)", None),
        "disabled": ("cron(* * * * ? *)", None),
    }
    for name, (expression, tz) in expressions.items():
        scheduler.create_schedule(
            Name=name, GroupName=group, ScheduleExpression=expression, FlexibleTimeWindow={"Mode": "OFF"},
            State="DISABLED" if name == "disabled" else "ENABLED", **({"ScheduleExpressionTimezone": tz} if tz else {}),
            Target={"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}", "RoleArn": ROLE,
                    "Input": f'{{"name": "{name}", "at": "<aws.scheduler.scheduled-time>"}}'})
    sleep_until_virtual(real_start, virtual_start, datetime(2030, 3, 1, 0, 8, tzinfo=UTC))
    time.sleep(2)
    fired = sorted((record["name"], record["at"]) for record in
                   (orjson.loads(msg.value()) for msg in read_all(kafka_bootstrap, f"sqs.{queue}")))
    assert fired == [("first-friday", "2030-03-01T00:05:00Z"), ("last-day", "2030-02-28T23:55:00Z"),
                     ("tokyo-nine", "2030-03-01T00:00:00Z"), ("year", "2030-03-01T00:00:00Z")]


def test_a_firing_its_target_cannot_take_goes_to_the_dead_letter_queue(
        kafka_bootstrap: str, fast_worker: tuple[WorkerProcess, datetime, float]) -> None:
    worker, virtual_start, real_start = fast_worker
    scheduler = scheduler_client(worker.url)
    dead = unique("dead")
    create_topics(kafka_bootstrap, f"sqs.{dead}")
    scheduler.create_schedule(
        Name="elsewhere", ScheduleExpression="at(2030-03-01T00:12:00)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:kafka:{REGION}:{ACCOUNT}:topic/other-cluster/jobs", "RoleArn": ROLE,
                "Input": '{"job": "sync"}', "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead}"}})
    sleep_until_virtual(real_start, virtual_start, datetime(2030, 3, 1, 0, 14, tzinfo=UTC))
    time.sleep(2)
    [letter] = dead_letters(kafka_bootstrap, f"sqs.{dead}", 1)
    assert letter.value() == b'{"job": "sync"}'
    reasons = dict(letter.headers())
    assert b"unknown Kafka cluster 'other-cluster' (not in BUSBAR_CLUSTERS)" in reasons["busbar-error"]
    assert reasons["busbar-schedule"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/elsewhere".encode()
    assert scheduler.get_schedule(Name="elsewhere")["State"] == "ENABLED"  # kept: ActionAfterCompletion NONE
