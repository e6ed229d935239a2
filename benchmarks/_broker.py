"""A broker in its own process for the benchmarks (the pattern of tests/conftest.py).

``start_broker(runtime_dir)`` runs ``python -m ticketbooth serve`` with its connection file in
`runtime_dir` and waits until it is up; ``Broker.stop()`` ends it (SIGTERM, then kill).
``broker_in_temp_runtime()`` does both around a temporary JUPYTER_RUNTIME_DIR that this
process and its children inherit (nothing else in the environment is touched).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Broker:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    tcp_url: str | None
    runtime_dir: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_broker(runtime_dir: Path, *extra: str, timeout: float = 30.0) -> Broker:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conn = runtime_dir / "ticketbooth-broker.json"
    log = open(runtime_dir / "broker.log", "ab")  # noqa: SIM115 - lives as long as the broker
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir))
    cmd = [sys.executable, "-m", "ticketbooth", "serve", "--connection-file", str(conn), *extra]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.exists():
            info = json.loads(conn.read_text())
            if info.get("pid") == proc.pid:
                return Broker(proc, info["url"], info["token"], info.get("tcp_url"), runtime_dir)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"broker did not start:\n{(runtime_dir / 'broker.log').read_text()}")


def explicit_session_kwargs(broker: Broker) -> dict[str, str]:
    """Session kwargs naming `broker` when $TICKETBOOTH_URL is set (discovery would prefer
    it over the runtime dir); {} otherwise, so sessions find the broker by discovery."""
    if os.environ.get("TICKETBOOTH_URL") is None:
        return {}
    return {"url": broker.url, "token": broker.token}


@contextmanager
def broker_in_temp_runtime(*extra: str, prefix: str = "ticketbooth-bench-") -> Iterator[Broker]:
    """A temporary JUPYTER_RUNTIME_DIR (set for this process and its children) and a broker."""
    runtime = Path(tempfile.mkdtemp(prefix=prefix))
    old = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    broker = start_broker(runtime, *extra)
    try:
        yield broker
    finally:
        broker.stop()
        if old is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = old
        shutil.rmtree(runtime, ignore_errors=True)
