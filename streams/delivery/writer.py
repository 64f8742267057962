"""The delivery service's writes to its own cluster (parked retries, dead letters): a confluent-kafka
producer whose acknowledgements come back to the event loop in batches.

Why not aiokafka, which the service consumes with: under a failing destination nearly every job
taken is written again (parked until its destination's breaker cools), and aiokafka builds,
checksums and sends each batch in Python, on the event loop. That was two fifths of the delivery
service's CPU, taken from the router it shares a GIL (in a worker) or the cores (in a `busbar
deliver` process) with. librdkafka does it in C threads of its own.

`write` only queues; a poll thread collects the producer's reports and hands all those of one
poll to the loop at once, so each report costs a callback on the loop, not a wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Producer

Headers = list[tuple[str, bytes]]
Report = Callable[[KafkaError | None], None]  # called on the event loop: None once Kafka has the record
POLL_S = 0.05
BATCH_BYTES = 1024 * 1024  # parked jobs (1-2 KiB each) come in bursts
MAX_REQUEST_BYTES = 16 * 1024 * 1024


class KafkaWriter:
    def __init__(self, bootstrap: str, client_id: str) -> None:
        self._producer = Producer({
            "bootstrap.servers": bootstrap, "client.id": client_id, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "batch.size": BATCH_BYTES, "message.max.bytes": MAX_REQUEST_BYTES, "log_level": 3,
        })
        self._reports: deque[tuple[Report, KafkaError | None]] = deque()
        self._settling = threading.Event()  # a _settle is on its way to the loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="busbar-delivery-writer", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Waits (up to timeout_s) for what was written to be acknowledged, and reports it."""
        await asyncio.get_running_loop().run_in_executor(None, self._producer.flush, timeout_s)
        self._settle()

    async def close(self) -> None:
        await self.flush()
        self._stop.set()
        if self._thread.ident is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 5)
        self._settle()

    def write(self, topic: str, value: bytes, key: bytes | None, headers: Headers, report: Report) -> None:
        """Queues one record; `report` says on the event loop how it ended. A record refused
        before it is sent (the local queue full, too large) raises KafkaException or BufferError."""
        self._producer.produce(topic, value, key, headers=headers or None,
                               on_delivery=lambda err, _msg: self._reports.append((report, err)))

    async def send(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        """One record, until Kafka has it; KafkaException (or BufferError) when it was refused."""
        done: asyncio.Future[KafkaError | None] = asyncio.get_running_loop().create_future()
        self.write(topic, value, key, headers, lambda err: done.done() or done.set_result(err))
        if (err := await done) is not None:
            raise KafkaException(err)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(POLL_S)
            if self._reports and self._loop is not None and not self._settling.is_set():
                self._settling.set()
                # RuntimeError: the loop has closed (shutdown), so nobody waits for these any more.
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        self._settling.clear()
        reports = self._reports
        while reports:
            report, err = reports.popleft()
            report(err)
