"""Partition ownership against the real broker: a new owner's claim fences the previous one and
aborts what it left uncommitted, so a firing exists exactly when its state was recorded."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException

from streams.scheduler.owner import Fenced, PartitionOwner
from streams.scheduler.plans import Output
from streams.scheduler.state import State, decode_state
from tests.support import unique
from tests.test_router_support import create_topics, read_all

pytestmark = pytest.mark.kafka


def test_a_claim_fences_the_previous_owner_and_aborts_its_open_transaction(kafka_bootstrap: str) -> None:
    app, state_topic, fired = unique("own"), unique("state"), unique("fired")
    create_topics(kafka_bootstrap, state_topic, fired)
    old = PartitionOwner(kafka_bootstrap, app, state_topic, 1)
    old.claim()
    old.commit([Output(fired, b"k", b"first")], {"rule/default/r": State(60.0, 0.0, "v")})
    # The old owner stalls in the middle of a transaction (a pause, or a crash before committing) ...
    old._producer.begin_transaction()
    old._producer.produce(fired, b"in flight", b"k")
    old._producer.flush(10)
    # ... and a new owner takes the partition over.
    new = PartitionOwner(kafka_bootstrap, app, state_topic, 1)
    new.claim()
    with pytest.raises(KafkaException) as stalled:  # the stalled transaction cannot commit any more
        old._producer.commit_transaction(10)
    assert stalled.value.args[0].fatal()
    with pytest.raises(Fenced):  # nor can anything the old owner tries after
        old.commit([Output(fired, b"k", b"zombie")], {"rule/default/r": State(120.0, 0.0, "v")})
    new.commit([Output(fired, b"k", b"second")], {"rule/default/r": State(120.0, 0.0, "v")})
    assert [msg.value() for msg in read_all(kafka_bootstrap, fired)] == [b"first", b"second"]
    states = [(msg.key(), msg.value()) for msg in read_all(kafka_bootstrap, state_topic)]
    assert all(msg_partition == 1 for msg_partition in
               {msg.partition() for msg in read_all(kafka_bootstrap, state_topic)})
    recorded = [decode_state(value) for key, value in states if key == b"rule/default/r"]
    assert recorded == [State(60.0, 0.0, "v"), State(120.0, 0.0, "v")]
    assert [value for key, value in states if key != b"rule/default/r"] == [old.nonce, new.nonce]
    new.close()
