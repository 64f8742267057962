"""`busbar up` as a user runs it: a real subprocess, a real broker, real signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from streams.embedded_kafka import free_ports, port_free
from tests.support import ROOT
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka


def processes_mentioning(marker: str) -> list[str]:
    """Command lines of live processes that name marker (our data dir or port)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            env = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(proc.name) != os.getpid() and (marker in cmdline or marker in env):
            found.append(cmdline)
    return found


class Up:
    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port, self.broker_port = free_ports(2)
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "up.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUSBAR_")}
        cmd = [sys.executable, "-m", "streams", "up", "--port", str(self.port), "--broker-port", str(self.broker_port),
               "--data-dir", str(self.data_dir), *args]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            assert self.proc.poll() is None, f"busbar up exited early:\n{self.output()}"
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not printed within {timeout}s:\n{self.output()}")

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=3) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def terminate(self) -> float:
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(15)
        return time.monotonic() - start


def test_up_serves_health_and_stops_cleanly_keeping_data(tmp_path: Path) -> None:
    up = Up(tmp_path)
    up.wait_for("busbar is up")
    out = up.output()
    assert f"http://127.0.0.1:{up.port}" in out
    assert f"127.0.0.1:{up.broker_port}" in out
    status, body = up.health()
    assert status == 200
    assert body["kafka"]["reachable"] is True and body["worker"]["running"] is True

    bootstrap = f"127.0.0.1:{up.broker_port}"
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce("busbar.bus.default", key=b"k1", value=b'{"kept": true}')
    assert producer.flush(10) == 0

    took = up.terminate()
    assert up.proc.returncode == 0, up.output()
    assert took < 10, f"stopping took {took:.1f}s"
    assert processes_mentioning(str(up.data_dir)) == []
    assert port_free(up.port) and port_free(up.broker_port)

    again = Up(tmp_path)  # same data dir, new ports: the event written above must still be there
    again.wait_for("busbar is up")
    consumer = Consumer({"bootstrap.servers": f"127.0.0.1:{again.broker_port}", "group.id": "kept",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(["busbar.bus.default"])
    values = []
    deadline = time.monotonic() + 20
    while not values and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            values.append(msg.value())
    consumer.close()
    again.terminate()
    assert values == [b'{"kept": true}']
    assert processes_mentioning(str(again.data_dir)) == []


def test_up_with_kafka_starts_no_broker(tmp_path: Path, kafka_bootstrap: str) -> None:
    up = Up(tmp_path, "--kafka", kafka_bootstrap)
    up.wait_for("busbar is up")
    assert kafka_bootstrap in up.output()
    assert up.health()[0] == 200
    assert not (up.data_dir / "kafka").exists()
    assert processes_mentioning("kafka.Kafka " + str(up.data_dir)) == []
    assert up.terminate() < 10
    assert up.proc.returncode == 0
    # Written to a file, not a terminal: plain lines, no control sequences, no spinner leftovers.
    out = up.output()
    assert all(line.isprintable() for line in out.splitlines()), repr(out)
    assert "OK ^" not in out


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "streams", "up", "--port", str(port), "--data-dir",
                                 str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_up_with_api_processes(tmp_path: Path, kafka_bootstrap: str) -> None:
    """`--api-processes 2`: two `busbar api` processes share --api-port beside the worker, serve the
    API there, and stop with `busbar up`."""
    (api_port,) = free_ports(1)
    up = Up(tmp_path, "--kafka", kafka_bootstrap, "--api-processes", "2", "--api-port", str(api_port))
    up.wait_for("busbar is up")
    assert f"API processes: http://127.0.0.1:{api_port}    (2 sharing the port" in up.output()
    pids = set()
    deadline = time.monotonic() + 20
    while len(pids) < 2 and time.monotonic() < deadline:  # each request a new connection: either process
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=3) as resp:
            pids.add(json.loads(resp.read())["pid"])
    assert len(pids) == 2
    events = client_for(f"http://127.0.0.1:{api_port}")
    assert "default" in {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
    assert up.terminate() < 10
    assert up.proc.returncode == 0, up.output()
    assert processes_mentioning(f"BUSBAR_PORT={api_port}") == []
    assert port_free(api_port) and port_free(up.port)
