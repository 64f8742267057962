"""Benchmark: the router's matching step on the mixed workload, native against Python.

The native side is one `EnvelopeMatcher.route(raw)` per record (router/native.py: envelope check
and matching on the record's bytes); its peer is what the router does without it, the Python
engine's `decode_json` then `RuleSet.matching`. Both see the same 1,000 rules of every operator
family and the same distinct events (bench/workloads.py), and both must name the same rules for
every event before anything is timed. Times are CPU time of this process, per event, over whole
passes; the host is shared, so each side reports its best and median pass, and passes of the two
alternate so that both see the same load.

Run: .venv/bin/python bench/native_route.py [--events N] [--passes N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workloads import mixed_workload  # noqa: E402
from streams.envelope import decode_json  # noqa: E402
from streams.patterns import RuleSet, compile_pattern  # noqa: E402
from streams.router.native import build_matcher  # noqa: E402

SEED = 13  # bench/pipeline.py's mixed workload


def cpu_per_event(step: Callable[[bytes], object], events: list[bytes]) -> float:
    """Microseconds of CPU per event for one pass of `step` over every event."""
    start = time.process_time()
    for raw in events:
        step(raw)
    return (time.process_time() - start) / len(events) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="distinct events (default 20,000)")
    parser.add_argument("--passes", type=int, default=7, help="timed passes per side (default 7)")
    args = parser.parse_args()

    workload = mixed_workload(SEED, lambda i: f"arn:aws:kafka:::topic/bench-{i}", events=args.events)
    print(workload.describe())
    ruleset = RuleSet()
    for rule in workload.rules:
        ruleset.add(rule.name, rule.pattern)
    matcher = build_matcher((rule.name, compile_pattern(rule.pattern)) for rule in workload.rules)
    route, matching = matcher.route, ruleset.matching

    def python(raw: bytes) -> object:
        return matching(decode_json(raw))

    for raw in workload.events:  # the same answers first, whole (no record is left to Python here)
        decided = route(raw)
        if decided is None or decided[2] is not None or set(decided[1]) != set(python(raw)):
            raise SystemExit(f"native and Python disagree on {raw!r}")

    native_passes: list[float] = []
    python_passes: list[float] = []
    for _ in range(args.passes):
        native_passes.append(cpu_per_event(route, workload.events))
        python_passes.append(cpu_per_event(python, workload.events))
    for name, passes in (("native route", native_passes), ("python decode+match", python_passes)):
        print(f"{name:>20}: {min(passes):6.2f} us/event best, {statistics.median(passes):6.2f} median, "
              f"{max(passes):6.2f} worst of {len(passes)} passes")
    ratio = statistics.median(python_passes) / statistics.median(native_passes)
    print(f"native route: {statistics.median(native_passes):.2f} us/event (median), "
          f"{ratio:.1f}x faster than python decode+match")


if __name__ == "__main__":
    main()
