"""Replays of archived events: a worker subsystem that copies a window of an archive back to its bus."""
