"""Hard limits on patterns, kept in one place so the API layer can quote them.

Each limit exists so that no pattern can make the compiler or the matcher slow or crash,
and, where EventBridge documents one, so that we refuse what it refuses. The wildcard
complexity limit has a module of its own (complexity.py).
"""

from __future__ import annotations

# PutRule's EventPattern is at most 4096 characters (the default account quota is 2048 and
# can be raised to 4096; 4096 is the API's hard maximum, so we enforce that).
MAX_PATTERN_LENGTH = 4096

# Not documented by AWS; real patterns nest 3-5 levels. Guards recursion on dict input.
MAX_DEPTH = 64

# `$or` is expanded into alternative branches (disjunctive normal form). Parallel `$or`s
# multiply, so a 4 KB pattern could otherwise expand to 2**100 branches. This bound keeps
# the expansion itself small; MAX_CRITERIA below bounds what the expanded rule costs.
MAX_BRANCHES = 256

# Value tests of the expanded pattern: each branch counts every value it tests (an array of
# five values counts five), so a test repeated in many `$or` branches counts once per branch.
# Every one of them is a separate entry in each worker's matcher (about 0.4 KB measured, in
# the Python index and the native matcher together), so a rule costs at most ~0.4 MB and a
# bus of 300 such rules ~120 MB. Before this limit, ten nested two-way `$or`s over twelve
# fields (1,024 branches x 12 tests, 544 characters) cost ~6 MB per rule, 1.3 GB for 300.
MAX_CRITERIA = 1024
