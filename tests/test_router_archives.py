"""Archives and replayed records in the router, through fake sinks: no broker.

An archive is one more rule of its bus whose target is its archive topic; a record read from a
bus's replay topic reaches only the rules its replay chose, and never an archive.
"""

from __future__ import annotations

import orjson

from streams.jobs import Job
from streams.model import Change, archive_key
from streams.replay_headers import REPLAY_RULES, encode_rules
from streams.router.delivery import DeliveryError
from tests.router_fakes import TOPICS, FakeDestinations, Router, event_bytes, topic_arn
from tests.test_router_unit import BUS, put_rule, route

ARCHIVE_TOPIC = TOPICS.archive("orders-archive")
REPLAY_TOPIC = TOPICS.replay(BUS)


def put_archive(router: Router, name: str = "orders-archive", pattern: dict | None = None) -> None:
    record = {"ArchiveName": name, "EventBusName": BUS}
    if pattern is not None:
        record["EventPattern"] = orjson.dumps(pattern).decode()
    router.index.apply(Change(archive_key(name), None, record))
    router.index.wait_built(5)


def with_rules() -> tuple[Router, FakeDestinations]:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "a", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out-a")}])
    put_rule(router, "b", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out-b")}])
    return router, destinations


def test_an_archive_without_a_pattern_keeps_every_event_with_its_bus_time() -> None:
    router, destinations = with_rules()
    put_archive(router)
    events = [event_bytes("app"), event_bytes("other")]
    route(router, events, timestamp_ms=1_700_000_000_123)
    landed = destinations.landed(ARCHIVE_TOPIC)
    assert [s.value for s in landed] == events
    assert {s.timestamp_ms for s in landed} == {1_700_000_000_123}


def test_an_archive_keeps_only_what_its_pattern_matches_and_stops_when_deleted() -> None:
    router, destinations = with_rules()
    put_archive(router, pattern={"source": ["other"]})
    kept = event_bytes("other")
    route(router, [event_bytes("app"), kept])
    assert [s.value for s in destinations.landed(ARCHIVE_TOPIC)] == [kept]
    router.index.apply(Change(archive_key("orders-archive"), {"ArchiveName": "orders-archive", "EventBusName": BUS},
                              None))
    router.index.wait_built(5)
    route(router, [event_bytes("other")], start=2)
    assert len(destinations.landed(ARCHIVE_TOPIC)) == 1


def test_a_replayed_record_reaches_only_the_chosen_rules_and_no_archive() -> None:
    router, destinations = with_rules()
    put_archive(router)
    event = event_bytes("app")
    route(router, [event], topic=REPLAY_TOPIC, headers=[(REPLAY_RULES, encode_rules(["b"]))])
    assert destinations.landed("out-a") == []
    assert [s.value for s in destinations.landed("out-b")] == [event]
    assert destinations.landed(ARCHIVE_TOPIC) == []


def test_a_replay_that_chose_no_rules_reaches_every_rule_but_no_archive() -> None:
    router, destinations = with_rules()
    put_archive(router)
    route(router, [event_bytes("app")], topic=REPLAY_TOPIC)
    assert len(destinations.landed("out-a")) == len(destinations.landed("out-b")) == 1
    assert destinations.landed(ARCHIVE_TOPIC) == []



def test_an_archive_write_that_failed_is_parked_with_its_bus_time_and_no_age_limit() -> None:
    destinations = FakeDestinations({ARCHIVE_TOPIC: lambda value, attempt: DeliveryError("broker busy", True)})
    router = Router(destinations)
    put_archive(router)
    event = event_bytes("app")
    route(router, [event], timestamp_ms=1_700_000_000_123)  # years older than any RetryPolicy allows
    (parked,) = destinations.parked()
    job = Job.decode(parked.value, 0)
    assert (job.payload, job.record_ms, job.attempts) == (event, 1_700_000_000_123, 1)
    assert job.ref.name == ARCHIVE_TOPIC
    assert destinations.landed(TOPICS.dlq(BUS)) == []
