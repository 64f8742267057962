"""Records of the schedule-state topic: what the owner of a partition has fired.

The topic is compacted and keyed by schedule id (its config key), one record per schedule:
the scheduled time it last fired (`last`), the time from which it fires (`since`: when its
owner first saw this version of it, unless the schedule says), and that version (its timing
fields), so a new owner resumes exactly where the last committed transaction left off. A claim
record (CLAIM_KEY) marks where a new owner's reading of the partition ends.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import orjson

CLAIM_KEY = b"\x00claim"


@dataclass(frozen=True)
class State:
    last: float | None  # epoch seconds of the last scheduled time fired (or skipped), None before the first
    since: float
    version: str


def encode_state(state: State | None) -> bytes | None:
    if state is None:
        return None
    return orjson.dumps({"last": state.last, "since": state.since, "version": state.version})


def decode_state(value: bytes | None) -> State | None:
    """None for a tombstone; ValueError for a record that is not a state."""
    if value is None:
        return None
    data = orjson.loads(value)
    try:
        return State(data["last"], data["since"], data["version"])
    except (KeyError, TypeError):
        raise ValueError(f"not a schedule state record: {value[:100]!r}") from None


def partition_of(schedule_id: str, partitions: int) -> int:
    """The state partition (and so the owner) of a schedule: a hash every worker computes alike."""
    return zlib.crc32(schedule_id.encode()) % partitions
