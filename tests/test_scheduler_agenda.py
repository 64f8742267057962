"""The scheduler's pure parts: plans made from config records, the agenda's due times, catch-up
and skipping, flexible windows, the accelerated clock. No broker."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.scheduler.agenda import Agenda
from streams.scheduler.clock import Clock, parse_clock
from streams.scheduler.plans import plan_of
from streams.scheduler.state import State, decode_state, encode_state, partition_of
from streams.settings import Settings
from streams.topics import TopicNames

SETTINGS = Settings.from_env({"BUSBAR_ACCOUNT_ID": "123456789012", "BUSBAR_REGION": "eu-west-1"})
TOPICS = TopicNames("t")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def rule(expression: str, state: str = "ENABLED") -> dict:
    return {"Name": "r", "EventBusName": "default", "ScheduleExpression": expression, "State": state}


def schedule(expression: str, target: str = "arn:aws:sqs:eu-west-1:123456789012:jobs", **extra: object) -> dict:
    return {"Name": "s", "GroupName": "default", "ScheduleExpression": expression, "State": "ENABLED",
            "Target": {"Arn": target, "RoleArn": "arn:aws:iam::123456789012:role/r"},
            "FlexibleTimeWindow": {"Mode": "OFF"}, "CreationDate": at("2030-01-01T00:00:00"),
            "LastModificationDate": at("2030-01-01T00:00:00"), **extra}


def fire_all(agenda: Agenda, now: float) -> list[float]:
    """Fire everything due by now, as a committing owner would; the scheduled times."""
    times = []
    while due := agenda.take_due(now, 100):
        for item in due:
            times.append(item.scheduled)
            agenda.fired(item)
    return times


def test_a_scheduled_rule_fires_eventbridges_scheduled_event_onto_the_scheduled_topic() -> None:
    plan = plan_of("rule/default/nightly", rule("rate(5 minutes)"), SETTINGS, TOPICS)
    assert plan is not None and plan.topic == "t.scheduled" and plan.key == b"default/nightly"
    event = orjson.loads(plan.payload(at("2030-01-01T00:05:00")))
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == ["arn:aws:events:eu-west-1:123456789012:rule/nightly"]
    assert event["detail"] == {} and event["time"] == "2030-01-01T00:05:00Z"
    assert event["account"] == "123456789012" and event["region"] == "eu-west-1"
    # The same firing has the same id on every worker; another firing another id.
    assert event["id"] == orjson.loads(plan.payload(at("2030-01-01T00:05:00")))["id"]
    assert event["id"] != orjson.loads(plan.payload(at("2030-01-01T00:10:00")))["id"]


def test_what_never_fires_has_no_plan() -> None:
    assert plan_of("rule/default/r", rule("rate(5 minutes)", "DISABLED"), SETTINGS, TOPICS) is None
    assert plan_of("rule/default/r", {"Name": "r", "EventPattern": "{}"}, SETTINGS, TOPICS) is None
    assert plan_of("schedule/default/s", {**schedule("rate(1 minute)"), "State": "DISABLED"}, SETTINGS, TOPICS) is None
    assert plan_of("bus/x", {"Name": "x"}, SETTINGS, TOPICS) is None


def test_a_schedules_input_gets_its_context_attributes_and_a_bus_target_gets_an_event() -> None:
    plan = plan_of("schedule/default/s", schedule(
        "rate(1 minute)", Target={"Arn": "arn:aws:sqs:eu-west-1:123456789012:jobs", "RoleArn": "r",
                                  "Input": '{"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>"}'}),
        SETTINGS, TOPICS)
    assert plan is not None and plan.topic == "sqs.jobs"
    assert orjson.loads(plan.payload(at("2030-01-02T03:04:00"))) == {
        "at": "2030-01-02T03:04:00Z", "arn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/s"}
    bus = plan_of("schedule/default/s", schedule(
        "rate(1 minute)", Target={"Arn": "arn:aws:events:eu-west-1:123456789012:event-bus/orders", "RoleArn": "r",
                                  "Input": '{"n": 1}', "EventBridgeParameters": {"Source": "shop", "DetailType": "Tick"}}),
        SETTINGS, TOPICS)
    assert bus is not None and bus.topic == "t.bus.orders"
    event = orjson.loads(bus.payload(at("2030-01-02T03:04:00")))
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "Tick", {"n": 1})
    assert event["resources"] == ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/s"]


def test_another_clusters_topic_is_delivered_by_the_delivery_service_and_a_target_of_no_kind_is_an_error() -> None:
    arn = "arn:aws:kafka:eu-west-1:123456789012:topic/other/jobs"
    plan = plan_of("schedule/default/s", schedule("rate(1 minute)", target=arn), SETTINGS, TOPICS)
    assert plan is not None and plan.topic == "t.deliveries" and plan.via_delivery and plan.error is None
    assert orjson.loads(plan.record(at("2030-01-01T00:00:00"), 1))["target"] == {"Arn": arn}
    other = plan_of("schedule/default/s", schedule("rate(1 minute)", target="arn:aws:states:eu-west-1:123456789012:"
                                                   "stateMachine:m"), SETTINGS, TOPICS)
    assert other is not None and other.topic is None and "cannot deliver to the states service" in (other.error or "")


def test_a_rate_rule_fires_each_time_once_from_when_it_was_first_seen() -> None:
    plan = plan_of("rule/default/r", rule("rate(1 minute)"), SETTINGS, TOPICS)
    agenda = Agenda({}, catchup_s=3600)
    agenda.put(plan, at("2030-01-01T00:00:30"))
    assert fire_all(agenda, at("2030-01-01T00:00:59")) == []
    assert fire_all(agenda, at("2030-01-01T00:03:00")) == [at("2030-01-01T00:01:00"), at("2030-01-01T00:02:00"),
                                                            at("2030-01-01T00:03:00")]
    assert fire_all(agenda, at("2030-01-01T00:03:30")) == []


def test_a_new_owner_resumes_from_the_recorded_state_and_catches_up_within_the_window() -> None:
    plan = plan_of("rule/default/r", rule("rate(1 minute)"), SETTINGS, TOPICS)
    first = Agenda({}, catchup_s=600)
    first.put(plan, at("2030-01-01T00:00:00"))
    fire_all(first, at("2030-01-01T00:02:00"))
    recorded = {**first.take_pending(), plan.id: first.states[plan.id]}
    # The states went through Kafka: encoded and decoded as the state topic holds them.
    states = {key: decode_state(encode_state(state)) for key, state in recorded.items()}
    second = Agenda(states, catchup_s=600)  # took over 30 minutes later: 20 minutes are too old
    second.put(plan, at("2030-01-01T00:32:00"))
    fired = fire_all(second, at("2030-01-01T00:32:00"))
    assert fired[0] == at("2030-01-01T00:22:00") and fired[-1] == at("2030-01-01T00:32:00") and len(fired) == 11
    assert second.skipped == 19  # 00:03 .. 00:21


def test_a_changed_or_removed_schedule_starts_afresh() -> None:
    agenda = Agenda({}, catchup_s=3600)
    agenda.put(plan_of("rule/default/r", rule("rate(1 minute)"), SETTINGS, TOPICS), at("2030-01-01T00:00:00"))
    fire_all(agenda, at("2030-01-01T00:01:00"))
    agenda.put(plan_of("rule/default/r", rule("rate(10 minutes)"), SETTINGS, TOPICS), at("2030-01-01T00:05:00"))
    assert fire_all(agenda, at("2030-01-01T00:09:00")) == []
    assert fire_all(agenda, at("2030-01-01T00:10:00")) == [at("2030-01-01T00:10:00")]
    agenda.remove("rule/default/r")
    assert agenda.take_pending()["rule/default/r"] is None and fire_all(agenda, at("2030-01-02T00:00:00")) == []


def test_a_failed_transaction_leaves_the_firing_due() -> None:
    agenda = Agenda({}, catchup_s=3600)
    agenda.put(plan_of("rule/default/r", rule("rate(1 minute)"), SETTINGS, TOPICS), at("2030-01-01T00:00:00"))
    [due] = agenda.take_due(at("2030-01-01T00:00:30"), 10)
    agenda.retry(due)
    assert [item.scheduled for item in agenda.take_due(at("2030-01-01T00:00:30"), 10)] == [at("2030-01-01T00:00:00")]


def test_cron_corner_cases_fire_at_awss_times() -> None:
    agenda = Agenda({}, catchup_s=10 ** 9)
    # The last Friday of each month at 18:00, and the last weekday of each month at 09:00.
    agenda.put(plan_of("rule/default/r", rule("cron(0 18 ? * 6L *)"), SETTINGS, TOPICS), at("2030-01-01T00:00:00"))
    agenda.put(plan_of("rule/default/w", rule("cron(0 9 LW * ? *)"), SETTINGS, TOPICS), at("2030-01-01T00:00:00"))
    fired = sorted(fire_all(agenda, at("2030-03-31T23:59:00")))
    assert fired == [at(t) for t in ("2030-01-25T18:00:00", "2030-01-31T09:00:00", "2030-02-22T18:00:00",
                                     "2030-02-28T09:00:00", "2030-03-29T09:00:00", "2030-03-29T18:00:00")]


def test_a_flexible_window_delays_each_firing_the_same_way_on_every_worker() -> None:
    record = schedule("rate(10 minutes)", FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5})
    one, two = (plan_of("schedule/default/s", record, SETTINGS, TOPICS) for _ in range(2))
    offsets = [one.offset(at("2030-01-01T00:00:00") + 600 * n) for n in range(20)]
    assert offsets == [two.offset(at("2030-01-01T00:00:00") + 600 * n) for n in range(20)]
    assert all(0 <= offset < 300 for offset in offsets) and len(set(offsets)) > 10
    agenda = Agenda({}, catchup_s=3600)
    agenda.put(one, at("2030-01-01T00:00:00"))
    assert agenda.next_due() == at("2030-01-01T00:00:00") + offsets[0]


def test_a_one_time_schedule_fires_once() -> None:
    agenda = Agenda({}, catchup_s=3600)
    plan = plan_of("schedule/default/s", schedule("at(2030-01-01T00:10:00)", ActionAfterCompletion="DELETE"),
                   SETTINGS, TOPICS)
    agenda.put(plan, at("2030-01-01T00:00:00"))
    assert fire_all(agenda, at("2030-01-01T01:00:00")) == [at("2030-01-01T00:10:00")]
    assert len(agenda) == 0 and plan.delete_after


def test_state_partitions_are_the_same_everywhere() -> None:
    assert partition_of("rule/default/r", 4) == partition_of("rule/default/r", 4)
    assert {partition_of(f"schedule/default/s{n}", 4) for n in range(100)} == {0, 1, 2, 3}
    assert decode_state(encode_state(State(None, 1.5, "v"))) == State(None, 1.5, "v")


def test_the_clock_runs_fast_from_a_chosen_time() -> None:
    clock = parse_clock("2030-01-01T00:00:00Z,1000.0,60")
    assert clock == Clock(at("2030-01-01T00:00:00"), 1000.0, 60.0) and clock.real_seconds(60) == 1.0
    assert clock.real_time(at("2030-01-01T01:00:00")) == 1060.0  # an hour of it is a real minute
    assert abs(parse_clock("").now() - datetime.now(UTC).timestamp()) < 5
    with pytest.raises(ValueError, match="BUSBAR_SCHEDULE_CLOCK"):
        parse_clock("2030-01-01T00:00:00,1000,60")  # no zone


def test_start_and_end_dates_bound_the_firings() -> None:
    record = schedule("rate(10 minutes)", StartDate=at("2030-01-01T01:00:00"), EndDate=at("2030-01-01T01:30:00"))
    agenda = Agenda({}, catchup_s=10 ** 9)
    agenda.put(plan_of("schedule/default/s", record, SETTINGS, TOPICS), at("2030-01-01T00:00:00"))
    assert fire_all(agenda, at("2030-01-02T00:00:00")) == [at("2030-01-01T01:00:00"), at("2030-01-01T01:10:00"),
                                                            at("2030-01-01T01:20:00")]


def test_a_completed_delete_schedule_that_did_not_fire_its_last_time_is_deleted_all_the_same() -> None:
    agenda = Agenda({}, catchup_s=600)
    ended = plan_of("schedule/default/ended", schedule("rate(10 minutes)", EndDate=at("2029-12-31T00:00:00"),
                                                       ActionAfterCompletion="DELETE"), SETTINGS, TOPICS)
    kept = plan_of("schedule/default/kept", schedule("rate(10 minutes)", EndDate=at("2029-12-31T00:00:00")),
                   SETTINGS, TOPICS)
    missed = plan_of("schedule/default/missed", schedule("at(2030-01-01T00:10:00)", ActionAfterCompletion="DELETE"),
                     SETTINGS, TOPICS)
    for plan in (ended, kept, missed):
        agenda.put(plan, at("2030-01-01T00:00:00"))
    assert set(agenda.take_completed()) == {"schedule/default/ended"}  # nothing left to fire from the start
    assert fire_all(agenda, at("2030-01-01T01:00:00")) == []  # 00:10 is 50 minutes late: skipped
    assert agenda.skipped == 1 and set(agenda.take_completed()) == {"schedule/default/missed"}


def test_a_last_firing_deletes_its_schedule_itself_and_failed_deletions_are_tried_again() -> None:
    agenda = Agenda({}, catchup_s=3600)
    plan = plan_of("schedule/default/s", schedule("rate(10 minutes)", EndDate=at("2030-01-01T00:15:00"),
                                                  ActionAfterCompletion="DELETE"), SETTINGS, TOPICS)
    agenda.put(plan, at("2030-01-01T00:00:00"))
    assert fire_all(agenda, at("2030-01-01T01:00:00")) == [at("2030-01-01T00:00:00"), at("2030-01-01T00:10:00")]
    assert agenda.take_completed() == {}  # the firing at 00:10 wrote the deletion with it
    other = plan_of("schedule/default/o", schedule("at(2029-01-01T00:00:00)", ActionAfterCompletion="DELETE"),
                    SETTINGS, TOPICS)
    agenda.put(other, at("2030-01-01T01:00:00"))
    completed = agenda.take_completed()
    agenda.restore_pending(agenda.take_pending(), completed)  # the transaction did not commit
    assert set(agenda.take_completed()) == {"schedule/default/o"}
    # A completion not yet written is forgotten when the schedule changes (here: one time still ahead),
    # and one whose transaction failed is not restored over the changed schedule.
    agenda.put(other, at("2030-01-01T01:00:00"))
    stale = agenda.take_completed()
    again = plan_of("schedule/default/o", schedule("at(2031-01-01T00:00:00)", ActionAfterCompletion="DELETE",
                                                   LastModificationDate=at("2030-01-01T01:00:00")), SETTINGS, TOPICS)
    agenda.put(other, at("2030-01-01T01:00:00"))
    agenda.put(again, at("2030-01-01T01:00:00"))
    assert agenda.take_completed() == {}
    agenda.restore_pending({}, stale)
    assert agenda.take_completed() == {}


def test_an_api_destination_target_fires_a_delivery_job() -> None:
    target = {"Arn": "arn:aws:events:eu-west-1:123456789012:api-destination/hook/0f1e", "RoleArn": "r",
              "Input": '{"at": "<aws.scheduler.scheduled-time>"}', "RetryPolicy": {"MaximumRetryAttempts": 3},
              "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:dead"}}
    plan = plan_of("schedule/default/s", schedule("rate(1 minute)", Target=target), SETTINGS, TOPICS)
    assert plan is not None and plan.topic == "t.deliveries" and plan.error is None
    job = orjson.loads(plan.record(at("2030-01-02T03:04:00"), 1234))
    assert job == {"schedule": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/s",
                   "target": {name: target[name] for name in ("Arn", "RetryPolicy", "DeadLetterConfig")},
                   "payload": '{"at": "2030-01-02T03:04:00Z"}', "event_id": plan.firing_id(at("2030-01-02T03:04:00")),
                   "attempt": 0, "timestamp_ms": 1234}
    queue = plan_of("schedule/default/q", schedule("rate(1 minute)"), SETTINGS, TOPICS)
    assert queue.record(at("2030-01-02T03:04:00"), 1234) == queue.payload(at("2030-01-02T03:04:00"))
