"""A target's RetryPolicy as EventBridge defines it, read in one place for every kind of target
(the router's inline retries and the HTTP delivery service's parked ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE_S = 86_400


@dataclass(frozen=True, slots=True)
class TargetRetryPolicy:
    retries: int  # MaximumRetryAttempts: attempts after the first
    max_age_s: int  # MaximumEventAgeInSeconds

    @classmethod
    def of(cls, spec: Mapping[str, Any] | None) -> TargetRetryPolicy:
        """From a target's `RetryPolicy`, EventBridge's defaults for what it leaves out; ValueError
        naming a member that is not a whole number (the API refuses such a policy, but a record
        written by hand may still hold one)."""
        spec = spec or {}
        return cls(_whole(spec, "MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS),
                   _whole(spec, "MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S))


def _whole(spec: Mapping[str, Any], member: str, default: int) -> int:
    value = spec.get(member, default)
    if type(value) is not int or value < 0:
        raise ValueError(f"RetryPolicy.{member} is {value!r}, not a whole number")
    return value
