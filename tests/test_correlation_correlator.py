"""The correlation agent's logic over a plain dict as its table: lateness, expiry, judging at close."""

from __future__ import annotations

import pytest

from streams.correlation import correlator as correlator_module
from streams.correlation.correlator import Correlator
from streams.correlation.rulebook import RuleBook
from streams.metrics import CORRELATION_LATE
from streams.model import Change


def book(**changes: object) -> tuple[RuleBook, str]:
    rules = RuleBook()
    record = {"name": "r", "bus": "b", "type": "event_count", "pattern": {"source": ["x"]},
              "group-by": ["detail.ip"], "timespan": "1m", "condition": {"gte": 2}, "lateness": "10s",
              "created": 0, **changes}
    rules.apply(Change("correlation/b/r", None, record))
    version = rules.matches("b", {"source": "x"})[0][0].version
    return rules, version


def record(version: str, t: float, i: int, ip: str = "10.0.0.1") -> dict:
    return {"b": "b", "r": "r", "h": version, "g": [ip], "p": "pattern", "i": f"e{i}", "t": t, "v": None}


@pytest.fixture(autouse=True)
def sweep_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(correlator_module, "SWEEP_INTERVAL_S", 0.0)


def test_late_events_are_counted_not_folded_in() -> None:
    rules, version = book()
    table: dict = {}
    correlator = Correlator(rules, table, account="1", region="r")
    before = CORRELATION_LATE.labels("b", "r")._value.get()
    assert correlator.observe(0, record(version, 1000, 1)) == []
    assert correlator.observe(0, record(version, 985, 2)) == []  # 15 s late, lateness 10 s
    assert CORRELATION_LATE.labels("b", "r")._value.get() == before + 1
    (bus, derived), = correlator.observe(0, record(version, 995, 3))  # 5 s late: still counted
    assert bus == "b" and derived["detail"]["eventIds"] == ["e3", "e1"]


def test_expired_windows_leave_the_table() -> None:
    rules, version = book()
    table: dict = {}
    correlator = Correlator(rules, table, account="1", region="r")
    for n in range(50):
        correlator.observe(0, record(version, 1000 + n * 100, n, ip=f"10.0.0.{n}"))
    windows = [key for key in table if not key.startswith("~")]
    assert len(windows) == 1  # each earlier group's window expired once time passed it by 1m + 10s


def test_upper_bounds_are_judged_when_the_window_closes() -> None:
    rules, version = book(condition={"lte": 2})
    correlator = Correlator(rules, {}, account="1", region="r")
    assert correlator.observe(0, record(version, 1200, 1)) == []
    assert correlator.observe(0, record(version, 1201, 2)) == []
    (_, derived), = correlator.observe(0, record(version, 1300, 3, ip="other"))  # passes 1200 + 60 + 10
    assert derived["detail"]["count"] == 2 and derived["detail"]["groupBy"] == {"detail.ip": "10.0.0.1"}


def test_a_redefined_rule_ignores_observations_of_its_old_version() -> None:
    rules, version = book()
    rules.apply(Change("correlation/b/r", None, {**book()[0].matches("b", {"source": "x"})[0][0].rule.record,
                                                  "timespan": "2m", "created": 0}))
    assert Correlator(rules, {}, account="1", region="r").observe(0, record(version, 1, 1)) == []


def test_the_rulebook_matches_per_bus_and_a_rule_never_counts_its_own_output() -> None:
    from streams.correlation.feed import _own_output

    rules, _ = book(pattern={"source": [{"prefix": ""}]})
    assert [pattern for _, pattern in rules.matches("b", {"source": "x"})] == ["pattern"]
    assert rules.matches("other-bus", {"source": "x"}) == []
    own = {"source": "busbar.correlation", "detail": {"rule": "r", "bus": "b"}}
    assert _own_output("r", "b", own) and not _own_output("another", "b", own)
    rules.apply(Change("correlation/b/r", None, None))
    assert rules.buses == set() and rules.matches("b", {"source": "x"}) == []
