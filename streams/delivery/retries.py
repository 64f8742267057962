"""One delivery attempt's outcome, and which HTTP answers are worth another attempt (when and
where a retry waits: streams/retry_schedule.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result. `status` is the HTTP status (0 when there was no answer)."""

    ok: bool
    status: int = 0
    error: str = ""
    retriable: bool = False
    retry_after_s: float | None = None
    seconds: float = 0.0  # how long the endpoint took (0 when no request was sent)
    deauthorizes: bool = False  # the credentials were refused: the connection becomes DEAUTHORIZED


def retriable_status(status: int) -> bool:
    """429 and 5xx may succeed later; any other 4xx will not (EventBridge's rule too)."""
    return status == 429 or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date is read as absent)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
