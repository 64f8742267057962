"""Every worker's copy of the configuration, read from the compacted config topic.

A background thread reads the topic from the beginning and applies each record to a Model,
telling subscribers what changed; so a change written by any worker reaches every worker
within one poll (well under a second). A subscriber first hears the whole configuration as
it stands (each record as a change from nothing) and then every change after it, with none
missed or told twice whenever it subscribes. Writers wait until their own record has come back
through the topic, which gives read-your-writes to the API without any state outside Kafka.
A record that cannot be read is logged and skipped: the worker keeps the model it has.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from streams.kafka_writes import bounded_producer, never_stored
from streams.model import Change, Model, Record, decode_record, encode_record

log = logging.getLogger(__name__)

Listener = Callable[[Change], None]
POLL_S = 0.05


class ConfigStoreError(RuntimeError):
    """The config topic could not be written or read in time: a write may or may not be stored."""


class ConfigNotStored(ConfigStoreError):
    """Kafka refused the write for what it is: it is certainly not stored."""


DEFAULT_WRITE_TIMEOUT_S = 30.0


class ConfigStore:
    def __init__(self, bootstrap: str, topic: str, write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S) -> None:
        self.topic = topic
        self.model = Model()
        self._listeners: list[Listener] = []
        self._lock = threading.Condition()
        self._applied_offset = -1  # offset of the last record applied
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": f"busbar-config-{uuid.uuid4().hex}",  # never committed: each worker reads everything
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "log_level": 3,
        })
        self._write_timeout_s = write_timeout_s
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                   "linger.ms": 0, "log_level": 3, **bounded_producer(write_timeout_s)})

    # --- reading ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """Tell `listener` the configuration as it stands, then each change as it is read.

        Called with the store's lock held (from this thread for what stands, from the reader
        thread after), so it must be quick (put the change on a queue) and must not raise.
        """
        with self._lock:
            for key, record in self.model.items():
                listener(Change(key, None, record))
            self._listeners.append(listener)

    def start(self, timeout: float = 30.0) -> None:
        """Start reading; returns once the whole topic as of now has been applied."""
        self._consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        self._thread = threading.Thread(target=self._run, name="busbar-config", daemon=True)
        self._thread.start()
        if not self._caught_up.wait(timeout):
            raise ConfigStoreError(f"could not read config topic {self.topic} within {timeout:.0f}s")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._consumer.close()
        self._producer.flush(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(POLL_S)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    self._caught_up.set()
                else:
                    log.warning("config topic %s: %s", self.topic, err)
                continue
            self._apply(msg.key(), msg.value(), msg.offset())

    def _apply(self, raw_key: bytes | None, raw_value: bytes | None, offset: int) -> None:
        with self._lock:  # a subscriber arriving now sees this record either in the model or as a change
            try:
                key = (raw_key or b"").decode()
                if "/" not in key:
                    raise ValueError(f"key {key!r} is not <kind>/<id>")
                change = self.model.apply(key, decode_record(raw_value))
            except ValueError as exc:  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
                log.error("config topic %s offset %d: skipped unreadable record: %s", self.topic, offset, exc)
                change = None
            if change is not None:
                for listener in self._listeners:
                    try:
                        listener(change)
                    except Exception:
                        log.exception("config listener failed on %s", change.key)
            self._applied_offset = offset
            self._lock.notify_all()

    @property
    def applied_offset(self) -> int:
        """Offset of the last record this store has applied (-1 before any)."""
        return self._applied_offset

    def wait_applied(self, offset: int, timeout: float) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: self._applied_offset >= offset, timeout):
                raise ConfigStoreError(f"config record at offset {offset} not read back within {timeout:.0f}s")

    # --- writing ---------------------------------------------------------------------------
    def write_many(self, records: dict[str, Record | None], timeout: float | None = None) -> None:
        """Write records (None deletes) and wait until this worker's model shows them, all within
        one deadline (the store's write timeout unless given).

        ConfigNotStored when Kafka refused a record for what it is; ConfigStoreError when Kafka
        did not confirm in time, since the write may then be stored all the same. A write Kafka
        confirmed but this worker has not read back in time is stored: that is logged, not raised.
        """
        deadline = time.monotonic() + (self._write_timeout_s if timeout is None else timeout)
        offsets: list[int] = []
        errors: list[KafkaError] = []
        reported = threading.Semaphore(0)

        def delivered(err: KafkaError | None, msg: object) -> None:
            if err is not None:
                errors.append(err)
            else:
                offsets.append(msg.offset())  # type: ignore[attr-defined]
            reported.release()

        for key, record in records.items():
            self._producer.produce(self.topic, key=key.encode(), value=encode_record(record), on_delivery=delivered)
        for _ in records:  # this call's reports only: other writers' records are theirs to wait for
            while not reported.acquire(timeout=POLL_S):
                self._producer.poll(0)
                if time.monotonic() > deadline:
                    raise ConfigStoreError("the config topic did not confirm the write in time")
        if errors:
            if all(never_stored(err) for err in errors):
                raise ConfigNotStored(f"config write refused: {errors[0].str()}")
            raise ConfigStoreError(f"config write not confirmed: {errors[0].str()}")
        try:
            self.wait_applied(max(offsets), max(0.0, deadline - time.monotonic()))
        except ConfigStoreError:
            log.warning("config records up to offset %d are stored but not yet read back here", max(offsets))

    def write(self, key: str, record: Record | None, timeout: float | None = None) -> None:
        self.write_many({key: record}, timeout)

    async def awrite_many(self, records: dict[str, Record | None], timeout: float | None = None) -> None:
        """The API's form: the blocking write runs off the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.write_many, records, timeout)

    async def awrite(self, key: str, record: Record | None, timeout: float | None = None) -> None:
        await self.awrite_many({key: record}, timeout)
