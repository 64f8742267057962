"""`python -m streams` is the `busbar` command (used to start workers with the same interpreter)."""

from streams.cli import main

main()
