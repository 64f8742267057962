"""The embedded broker's pure helpers and settings (the broker itself is exercised by every integration test)."""

from __future__ import annotations

import base64
from pathlib import Path

from streams.embedded_kafka import EmbeddedCluster, EmbeddedKafka, cluster_id


def test_cluster_ids_never_look_like_an_option() -> None:
    # Kafka's storage tool parses "-t -abc..." as a missing argument; one id in 64 starts with
    # "-" when drawn naively, so 5,000 draws would all but surely hit one.
    ids = {cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    for cid in ids:
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16  # a UUID, as `kafka-storage random-uuid` writes


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_cluster_nodes_share_one_quorum_and_replicate_three_ways(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path, tmp_path / "lib")
    nodes = [properties(node._properties()) for node in cluster.nodes]
    assert [n["node.id"] for n in nodes] == ["1", "2", "3"]
    assert len({n["controller.quorum.voters"] for n in nodes}) == 1
    assert nodes[0]["controller.quorum.voters"].count("@127.0.0.1:") == 3
    assert len({n["listeners"] for n in nodes}) == 3  # each on its own ports
    assert len({node.cluster for node in cluster.nodes}) == 1
    for n in nodes:
        assert (n["default.replication.factor"], n["min.insync.replicas"], n["offsets.topic.replication.factor"],
                n["transaction.state.log.min.isr"]) == ("3", "2", "3", "2")
    assert cluster.bootstrap == ",".join(node.bootstrap for node in cluster.nodes)


def test_a_single_node_keeps_one_copy(tmp_path: Path) -> None:
    single = properties(EmbeddedKafka(tmp_path, 19092, tmp_path / "lib")._properties())
    assert (single["node.id"], single["controller.quorum.voters"]) == ("1", "1@127.0.0.1:19093")
    assert (single["default.replication.factor"], single["min.insync.replicas"]) == ("1", "1")
    assert "broker.session.timeout.ms" not in single
