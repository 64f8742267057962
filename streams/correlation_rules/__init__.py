"""Correlation rules: definitions, their window state and the events they derive.

EventBridge rules see one event at a time; a correlation rule counts and relates matching
events per group over a time window, in Sigma's correlation vocabulary (event_count,
value_count, temporal, temporal_ordered). This package is pure (no Kafka, no Faust), so the
API, `busbar apply` and the worker's correlation subsystem share one definition of a valid
rule and one behaviour of a window, and both can be tested without a broker.
"""

from __future__ import annotations

from .definition import CorrelationRule, InvalidCorrelation, parse_rule
from .derived import derived_event
from .windows import Emission, Observation, Window

__all__ = ["CorrelationRule", "Emission", "InvalidCorrelation", "Observation", "Window", "derived_event",
           "parse_rule"]
