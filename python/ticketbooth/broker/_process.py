"""A broker in a process of its own: started, waited for, stopped.

Used by the embedded start-up of `Session()` (detached, exits when idle), by the tests and
the benchmarks, and later by the Jupyter server extension.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .._errors import BrokerUnavailableError


@dataclass
class BrokerProcess:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    tcp_url: str | None
    runtime_dir: Path
    connection_file: Path
    deephaven_port: int | None = None  # serve --deephaven-port

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child process that should find this broker by itself."""
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.runtime_dir))
        env.pop("TICKETBOOTH_URL", None)
        env.pop("TICKETBOOTH_TOKEN", None)
        return env

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_process(
    runtime_dir: str | os.PathLike[str],
    *args: str,
    connection_file: str | os.PathLike[str] | None = None,
    detach: bool = False,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> BrokerProcess:
    """Run ``python -m ticketbooth serve *args`` and wait until its connection file names it.

    The log goes to ``ticketbooth-broker.log`` (0600) in `runtime_dir`. `detach` puts the
    broker in a session of its own, so it outlives the process (kernel) that started it.
    `env` is the broker's environment (default: this one without $TICKETBOOTH_TOKEN/_URL).

    Raises:
        BrokerUnavailableError: it exited or did not come up within `timeout`.
    """
    runtime = Path(runtime_dir)
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = Path(connection_file or runtime / "ticketbooth-broker.json")
    log_path = runtime / "ticketbooth-broker.log"
    cmd = [sys.executable, "-m", "ticketbooth", "serve", "--connection-file", str(conn), *args]
    if env is None:
        # `serve` adopts $TICKETBOOTH_TOKEN: a token the caller holds for some other broker
        # must not become this one's (give `env` to pass one on purpose)
        env = {
            k: v for k, v in os.environ.items() if k not in ("TICKETBOOTH_TOKEN", "TICKETBOOTH_URL")
        }
    env = dict(env, JUPYTER_RUNTIME_DIR=str(runtime))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            env=env,
            start_new_session=detach,
            close_fds=True,
        )
    finally:
        os.close(log_fd)  # the child has its own descriptor
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = json.loads(conn.read_text())
        except (OSError, ValueError):
            info = {}
        if info.get("pid") == proc.pid:
            return BrokerProcess(
                proc,
                info["url"],
                info["token"],
                info.get("tcp_url"),
                runtime,
                conn,
                info.get("deephaven_port"),
            )
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    raise BrokerUnavailableError(
        f"could not start a broker (exit code {proc.poll()}); see {log_path}"
    )
