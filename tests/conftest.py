"""Shared fixtures: a real broker in its own process, isolated runtime dirs, child scripts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketbooth.broker import BrokerProcess, start_process


def start_broker(runtime_dir: Path, *extra: str, timeout: float = 30.0) -> BrokerProcess:
    """A broker in its own process, found through `runtime_dir` (the package's launcher)."""
    return start_process(runtime_dir, *extra, timeout=timeout)


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
