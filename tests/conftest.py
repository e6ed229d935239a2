"""Shared fixtures: a real broker in its own process, isolated runtime dirs, child scripts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class BrokerProcess:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    tcp_url: str | None
    runtime_dir: Path
    connection_file: Path

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child process that should find this broker by itself."""
        env = dict(os.environ)
        env["JUPYTER_RUNTIME_DIR"] = str(self.runtime_dir)
        env.pop("TICKETBOOTH_URL", None)
        env.pop("TICKETBOOTH_TOKEN", None)
        return env

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_broker(runtime_dir: Path, *extra: str, timeout: float = 20.0) -> BrokerProcess:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conn = runtime_dir / "ticketbooth-broker.json"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir))
    cmd = [sys.executable, "-m", "ticketbooth", "serve", "--connection-file", str(conn), *extra]
    with open(runtime_dir / "broker.log", "ab") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.exists():
            info = json.loads(conn.read_text())
            if info.get("pid") == proc.pid:
                return BrokerProcess(
                    proc, info["url"], info["token"], info.get("tcp_url"), runtime_dir, conn
                )
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"broker did not start: {(runtime_dir / 'broker.log').read_text()}")


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated Jupyter runtime dir for this test (and its child processes)."""
    path = tmp_path / "runtime"
    path.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(path))
    monkeypatch.delenv("TICKETBOOTH_URL", raising=False)
    monkeypatch.delenv("TICKETBOOTH_TOKEN", raising=False)
    return path


@pytest.fixture
def broker(runtime_dir: Path) -> Iterator[BrokerProcess]:
    """A broker process with a short session TTL, found by discovery in this test."""
    b = start_broker(runtime_dir, "--session-ttl", "3", "--port", "0")
    yield b
    b.stop()


def run_child(code: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run `code` in a new Python process; return stdout, failing the test on error."""
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if res.returncode != 0:
        raise AssertionError(f"child failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


def spawn_child(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `code` in a new Python process that talks over stdin/stdout lines."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
