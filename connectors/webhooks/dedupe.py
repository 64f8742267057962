"""Delivery ids already published, kept in a Kafka topic every worker reads.

Each published delivery is recorded under `seen/<connector>/<sha256 of its id>` in a topic
that is compacted and deleted after a week (`DEDUPE_TOPIC_CONFIG`): senders redeliver within
hours or days, and the memory a worker spends on ids stays bounded by that window. A worker
reading the topic from the start knows every id any worker published, so a redelivery is
recognised wherever it lands and after restarts.
"""

from __future__ import annotations

import hashlib
import time

from streams.config_store import ConfigStore

RETENTION_MS = 7 * 24 * 3600 * 1000
DEDUPE_TOPIC_CONFIG = {"cleanup.policy": "compact,delete", "retention.ms": str(RETENTION_MS)}


def seen_key(connector: str, delivery_id: str) -> str:
    return f"seen/{connector}/{hashlib.sha256(delivery_id.encode()).hexdigest()}"


class KafkaSeenIds:
    def __init__(self, store: ConfigStore) -> None:
        self.store = store

    def seen(self, connector: str, delivery_id: str) -> bool:
        return self.store.model.get(seen_key(connector, delivery_id)) is not None

    async def remember(self, connector: str, delivery_id: str) -> None:
        await self.store.awrite(seen_key(connector, delivery_id), {"at": int(time.time())})
