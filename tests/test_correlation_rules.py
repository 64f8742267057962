"""Correlation rule definitions and windows: pure code, no broker."""

from __future__ import annotations

import pytest

from streams.correlation_rules import InvalidCorrelation, Observation, Window, derived_event, parse_rule
from streams.correlation_rules.fields import counted_value, event_time, group_key

BRUTE_FORCE = {
    "name": "brute-force", "bus": "security", "type": "event_count",
    "pattern": {"detail-type": ["Login Failed"]}, "group-by": ["detail.sourceIPAddress"],
    "timespan": "5m", "condition": {"gte": 3},
}


def rule(**changes: object):
    return parse_rule({**BRUTE_FORCE, **changes})


@pytest.mark.parametrize(("changes", "key"), [
    ({"type": "count"}, "type"),
    ({"timespan": "5 minutes"}, "timespan"),
    ({"timespan": "8d"}, "timespan"),
    ({"condition": {"more": 3}}, "condition"),
    ({"condition": {"gte": -1}}, "condition.gte"),
    ({"condition": {"gte": 5, "lt": 3}}, "condition"),
    ({"group-by": []}, "group-by"),
    ({"group-by": ["detail..ip"]}, "group-by"),
    ({"pattern": {"source": "not-a-list"}}, "pattern"),
    ({"colour": "red"}, "colour"),
    ({"name": "no spaces"}, "name"),
    ({"field": "detail.port"}, "field"),
    ({"lateness": "soon"}, "lateness"),
    ({"emit": {"topic": "x"}}, "emit"),
    ({"type": "value_count"}, "field"),
    ({"type": "temporal"}, "pattern"),
])
def test_invalid_definitions_name_the_key(changes: dict, key: str) -> None:
    with pytest.raises(InvalidCorrelation) as caught:
        rule(**changes)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_temporal_ordered_checks_its_order() -> None:
    base = {"name": "c", "type": "temporal_ordered", "group-by": "detail.user", "timespan": "10m",
            "patterns": {"failed": {"detail-type": ["F"]}, "ok": {"detail-type": ["S"]}}}
    assert parse_rule(base).order == (("failed", 1), ("ok", 1))
    assert parse_rule({**base, "order": [{"failed": 3}, "ok"]}).order == (("failed", 3), ("ok", 1))
    with pytest.raises(InvalidCorrelation, match="^order: must name each pattern once"):
        parse_rule({**base, "order": ["failed"]})
    with pytest.raises(InvalidCorrelation, match="^patterns.ok: Event pattern is not valid"):
        parse_rule({**base, "patterns": {"failed": {"a": ["x"]}, "ok": {"b": 1}}})


def test_sigma_spelling_of_the_counted_field() -> None:
    counted = rule(type="value_count", condition={"gte": 20, "field": "detail.dstPort"})
    assert counted.field == ("detail", "dstPort")
    assert counted.record["field"] == "detail.dstPort" and counted.record["condition"] == {"gte": 20}


def obs(t: float, i: int, pattern: str = "pattern", value: object = None) -> Observation:
    return Observation(time=t, id=f"e{i}", pattern=pattern, value=value)


def test_event_count_fires_once_per_burst_and_not_past_it() -> None:
    window = Window(rule())
    fired = [window.observe(obs(1000 + i, i)) for i in range(6)]
    assert [f is not None for f in fired] == [False, False, True, False, False, True]
    assert fired[2].count == 3 and fired[2].event_ids == ["e0", "e1", "e2"]
    assert fired[2].start == 1000 and fired[2].end == 1002


def test_event_count_window_slides_over_any_boundary() -> None:
    window = Window(rule())
    assert window.observe(obs(0, 1)) is None
    assert window.observe(obs(400, 2)) is None  # the first is out of the 5-minute window now
    assert window.observe(obs(500, 3)) is None
    emission = window.observe(obs(600, 4))
    assert emission is not None and emission.event_ids == ["e2", "e3", "e4"]


def test_repeated_events_count_once_even_after_firing() -> None:
    window = Window(rule())
    for i in range(3):
        window.observe(obs(i, i))
    state = window.state
    again = Window(rule(), state)
    assert [again.observe(obs(i, i)) for i in range(3)] == [None, None, None]
    assert Window(rule(), {}).observe(obs(0, 0)) is None


def test_value_count_counts_distinct_values() -> None:
    window = Window(rule(type="value_count", field="detail.port", condition={"gte": 3}))
    results = [window.observe(obs(i, i, value=port)) for i, port in enumerate([22, 22, 80, 22, 443])]
    assert [r is not None for r in results] == [False, False, False, False, True]
    assert results[-1].count == 3


def test_temporal_ordered_needs_the_order() -> None:
    ordered = parse_rule({"name": "c", "type": "temporal_ordered", "group-by": "detail.user", "timespan": "10m",
                          "patterns": {"failed": {"a": ["f"]}, "ok": {"a": ["s"]}}, "order": [{"failed": 2}, "ok"]})
    window = Window(ordered)
    assert window.observe(obs(10, 1, "ok")) is None  # a success before any failure
    assert window.observe(obs(20, 2, "failed")) is None
    assert window.observe(obs(30, 3, "failed")) is None
    emission = window.observe(obs(40, 4, "ok"))
    assert emission is not None and emission.event_ids == ["e2", "e3", "e4"]


def test_upper_bounds_are_decided_when_the_window_closes() -> None:
    quiet = rule(condition={"lte": 2}, lateness="10s")
    assert quiet.decided_at_close
    window = Window(quiet)
    assert window.observe(obs(601, 1)) is None and window.observe(obs(602, 2)) is None
    assert window.state["w"] == 600 and window.expires_at() == 600 + 300 + 10
    emission = window.close()
    assert emission is not None and emission.count == 2 and (emission.start, emission.end) == (600, 900)
    window.observe(obs(603, 3))
    assert window.close() is None


def test_fields_and_derived_event() -> None:
    event = {"id": "x", "time": "2026-01-01T00:00:05Z", "detail": {"sourceIPAddress": "10.0.0.1", "port": 22}}
    brute = rule()
    assert group_key(brute, event) == ["10.0.0.1"]
    assert group_key(brute, {"detail": {}}) is None
    assert counted_value(rule(type="value_count", field="detail.port"), event) == 22
    assert event_time(event, 0) == 1767225605.0
    window = Window(brute)
    emission = [window.observe(obs(1767225605 + i, i)) for i in range(3)][-1]
    derived = derived_event(brute, ["10.0.0.1"], emission, account="1", region="r")
    assert derived["source"] == "busbar.correlation" and derived["detail-type"] == "brute-force"
    assert derived["detail"]["groupBy"] == {"detail.sourceIPAddress": "10.0.0.1"}
    assert derived["detail"]["count"] == 3
    assert derived["detail"]["window"]["start"] == "2026-01-01T00:00:05Z"
    assert derived == derived_event(brute, ["10.0.0.1"], emission, account="1", region="r")  # same id again
