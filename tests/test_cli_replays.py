"""`busbar archives ...` and `busbar replays ...` against a running worker."""

from __future__ import annotations

import json

import pytest

from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for
from tests.test_cli_api import Run, run  # noqa: F401  (the fixture)
from tests.test_router_support import wait_routed

pytestmark = pytest.mark.kafka


def test_archive_then_replay_and_follow_it_to_the_end(run: Run, busbar_worker: WorkerProcess) -> None:  # noqa: F811
    bus, archive, replay = unique("cli"), unique("arc"), unique("rep")
    assert run("buses", "create", bus).exit_code == 0
    assert run("rules", "put", "r", "--bus", bus, "--pattern", '{"source": ["shop"]}').exit_code == 0
    created = run("archives", "create", archive, "--bus", bus, "--retention-days", "3")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["State"] == "ENABLED"

    entries = [{"EventBusName": bus, "Source": "shop", "DetailType": "t", "Detail": "{}"}] * 5
    assert client_for(busbar_worker.url).put_events(Entries=entries)["FailedEntryCount"] == 0
    wait_routed(busbar_worker.bootstrap, f"{busbar_worker.prefix}-router", busbar_worker.topics.bus(bus))
    described = json.loads(run("archives", "describe", archive).stdout)
    assert (described["EventCount"], described["RetentionDays"]) == (5, 3)

    started = run("replays", "start", replay, "--archive", archive, "--from", "2020-01-01T00:00:00Z",
                  "--rule", "r", "--follow")
    assert started.exit_code == 0, started.output
    assert f"replay {replay}: COMPLETED, 5 of 5 events replayed" in started.stderr
    shown = run("replays", "describe", replay)
    assert shown.exit_code == 0, shown.output
    final = json.loads(shown.stdout)
    assert (final["State"], final["EventsReplayed"], final["EventsTotal"]) == ("COMPLETED", 5, 5)
    assert final["Destination"]["FilterArns"] == [f"arn:aws:events:us-east-1:000000000000:rule/{bus}/r"]
    assert [r["ReplayName"] for r in json.loads(run("replays", "list", "--prefix", replay).stdout)["Replays"]] \
        == [replay]

    cancelled = run("replays", "cancel", replay)
    assert cancelled.exit_code == 1 and "IllegalStatusException" in cancelled.output
    assert run("archives", "delete", archive).exit_code == 0
    assert run("archives", "describe", archive).exit_code == 1
