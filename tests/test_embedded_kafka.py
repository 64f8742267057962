"""The embedded broker's pure helpers (the broker itself is exercised by every integration test)."""

from __future__ import annotations

import base64

from streams.embedded_kafka import cluster_id


def test_cluster_ids_never_look_like_an_option() -> None:
    # Kafka's storage tool parses "-t -abc..." as a missing argument; one id in 64 starts with
    # "-" when drawn naively, so 5,000 draws would all but surely hit one.
    ids = {cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    for cid in ids:
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16  # a UUID, as `kafka-storage random-uuid` writes
