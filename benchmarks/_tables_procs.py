"""The processes of bench_tables.py: one-shot clients (a fresh process for every run) and
long-lived servers (one process per peer and transport, started once per benchmark).

Every helper here is a script next to this file, run as ``python -B <script>``. A child gets
its configuration as one JSON line on stdin, never on the command line (it may hold a
broker token, and `ps` shows argv to everyone), and answers with JSON lines on stdout.
A server prints one line, ``{"port": N}``, when it listens, and exits when its stdin closes
(so it cannot outlive the benchmark, even one killed with SIGKILL).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
# where the servers listen and the clients connect; a network namespace for the clients
# (both set by --link, _tables_link.py: the clients' bytes then cross an emulated link)
HOST = os.environ.get("TB_BENCH_HOST", "127.0.0.1")


class BudgetExceeded(Exception):
    """A run was killed at the time budget of its measurement; `elapsed_s` is how long its
    timed part had run by then (None: it was killed before its clock started)."""

    def __init__(self, elapsed_s: float | None) -> None:
        when = "before its clock started" if elapsed_s is None else f"{elapsed_s:.1f} s in"
        super().__init__(f"killed at its time budget, {when}")
        self.elapsed_s = elapsed_s


def _argv(script: str) -> list[str]:
    return [sys.executable, "-B", str(HERE / script)]  # -B: no __pycache__ next to the scripts


def run_child(script: str, cfg: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
    """Run `script` in a fresh process with `cfg`; return its JSON lines.

    Raises:
        BudgetExceeded: it ran past `timeout` and was killed.
        RuntimeError: it crashed, printed nothing, or reported an error (its message).
    """
    try:
        netns = os.environ.get("TB_BENCH_NETNS")
        res = subprocess.run(
            (["ip", "netns", "exec", netns] if netns else []) + _argv(script),
            input=json.dumps(cfg) + "\n",
            capture_output=True,
            text=True,
            timeout=max(timeout, 1.0),
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        starts = [json.loads(x)["clock_start"] for x in out.splitlines() if "clock_start" in x]
        raise BudgetExceeded(time.time() - starts[-1] if starts else None) from None
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    lines = [x for x in lines if "clock_start" not in x]
    for line in lines:
        if "error" in line:
            raise RuntimeError(f"{line['error']} (after {line.get('after_s', 0):.1f} s)")
    if res.returncode != 0 or not lines:
        tail = "\n".join(res.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"{script} exited with {res.returncode}: {tail}")
    return lines


def read_cfg() -> dict[str, Any]:
    """In a child or server: its configuration (the first line of stdin)."""
    return dict(json.loads(sys.stdin.readline()))


def emit(**kw: Any) -> None:
    print(json.dumps(kw), flush=True)


def run_role(
    serve: Callable[[dict[str, Any]], None], client: Callable[[dict[str, Any]], None]
) -> None:
    """The main of a peer process: its configuration says whether it serves or is a client;
    any failure is reported as an error line (the benchmark turns it into an error row)."""
    cfg = read_cfg()
    started = time.perf_counter()
    try:
        serve(cfg) if cfg["role"] == "server" else client(cfg)
    except Exception as exc:
        emit(error=f"{type(exc).__name__}: {exc}", after_s=time.perf_counter() - started)


def clock_starts() -> float:
    """In a child: say when its timed part starts (so a run killed at its budget gives a
    lower bound for that part alone, without the start-up); then perf_counter()."""
    emit(clock_start=time.time())
    return time.perf_counter()


@dataclass
class Server:
    """A long-lived server process; `port` is where it listens on HOST."""

    name: str
    proc: subprocess.Popen[str]
    port: int
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # its cue to exit
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()


def start_server(
    name: str, script: str, cfg: dict[str, Any], log_dir: Path, timeout: float = 120.0
) -> Server:
    """Start `script` as a server and wait for its port (its stderr goes to a log file)."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            _argv(script), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(cfg) + "\n")
    proc.stdin.flush()
    line = _readline(proc.stdout, timeout)
    info = json.loads(line) if line.startswith("{") else {}
    if "port" not in info:
        proc.kill()
        proc.wait()
        why = info.get("error") or log_path.read_text().strip()[-600:] or "no output"
        raise RuntimeError(f"server {name} did not start: {why}")
    return Server(name, proc, int(info["port"]), log_path)


def _readline(stream: IO[str], timeout: float) -> str:
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
    return stream.readline()


def exit_when_stdin_closes() -> None:
    """In a server: block until the benchmark closes our stdin (or dies), then exit."""
    sys.stdin.read()
    os._exit(0)
