"""The worker's correlation subsystem: counts and sequences of events over time, per group."""
