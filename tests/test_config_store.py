"""The config topic as every worker sees it: read-your-writes, change events, bad records skipped."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from streams.config_store import ConfigStore
from streams.model import bus_key, rule_key
from streams.topics import TopicNames, ensure_topics
from tests.support import unique

pytestmark = pytest.mark.kafka


@pytest.fixture()
def config_topic(kafka_bootstrap: str) -> str:
    topic = TopicNames(unique("cfg")).config
    ensure_topics(kafka_bootstrap, {topic: {"cleanup.policy": "compact"}}, partitions=1, replication=1)
    return topic


def test_writes_are_read_back_by_every_store_and_bad_records_are_skipped(kafka_bootstrap: str,
                                                                        config_topic: str) -> None:
    writer = ConfigStore(kafka_bootstrap, config_topic)
    reader = ConfigStore(kafka_bootstrap, config_topic)
    seen = []
    reader.subscribe(lambda change: seen.append((change.key, change.new)))
    writer.start()
    reader.start()
    try:
        writer.write(bus_key("orders"), {"Name": "orders"})
        assert writer.model.bus("orders") == {"Name": "orders"}  # read-your-writes, no sleep

        raw = Producer({"bootstrap.servers": kafka_bootstrap})
        raw.produce(config_topic, key=b"rule/orders/broken", value=b"{not json")
        raw.produce(config_topic, key=b"no-kind", value=b"{}")
        raw.flush(10)
        rule = {"Name": "r1", "EventBusName": "orders", "State": "ENABLED", "Targets": []}
        writer.write(rule_key("orders", "r1"), rule)
        writer.write(bus_key("orders"), None)

        reader.wait_applied(writer.applied_offset, timeout=5)
        assert reader.model.rule("orders", "broken") is None
        assert reader.model.rule("orders", "r1") == rule
        assert reader.model.bus_names() == ["default"]
        assert seen == [(bus_key("orders"), {"Name": "orders"}), (rule_key("orders", "r1"), rule),
                        (bus_key("orders"), None)]
    finally:
        writer.stop()
        reader.stop()

    late = ConfigStore(kafka_bootstrap, config_topic)  # a worker started later rebuilds the same model
    late.start()
    try:
        assert late.model.rule("orders", "r1") == rule
        assert late.model.bus("orders") is None
    finally:
        late.stop()


def test_a_late_subscriber_hears_the_configuration_as_it_stands_then_each_change(kafka_bootstrap: str,
                                                                                config_topic: str) -> None:
    store = ConfigStore(kafka_bootstrap, config_topic)
    store.start()
    try:
        store.write_many({bus_key("a"): {"Name": "a"}, bus_key("b"): {"Name": "b"}})
        store.write(bus_key("a"), None)
        seen: list[tuple[str, object, object]] = []
        store.subscribe(lambda change: seen.append((change.key, change.old, change.new)))
        assert seen == [(bus_key("b"), None, {"Name": "b"})]  # what stands, as changes from nothing
        store.write(bus_key("c"), {"Name": "c"})
        store.write(bus_key("b"), None)
        assert seen[1:] == [(bus_key("c"), None, {"Name": "c"}), (bus_key("b"), {"Name": "b"}, None)]
    finally:
        store.stop()
