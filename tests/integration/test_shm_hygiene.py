"""Shared memory never leaks: a publisher killed mid-write, a broker killed with -9 or
stopped with SIGHUP, a failed `serve`, a full /dev/shm: nothing stays behind, and nothing
already published is lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child, start_broker
from tests.integration.test_liveness import wait_for

MiB = 1 << 20


def our_dirs() -> set[str]:
    """Every ticketbooth directory in /dev/shm and the temp dir."""
    found = set()
    for base in ("/dev/shm", tempfile.gettempdir()):
        found |= {os.path.join(base, n) for n in os.listdir(base) if n.startswith("ticketbooth-")}
    return found


def broker_dirs(b: BrokerProcess) -> list[str]:
    with tb.Session(b.url, token=b.token) as s:
        shm = s._backend.server.shm_dir
    return [shm, os.path.dirname(b.url.removeprefix("unix://"))]


SLOW_PUBLISHER = """
import time, pyarrow as pa, ticketbooth as tb
s = tb.Session()
schema = pa.schema([("x", pa.int64())])
def batches():
    for i in range(1000):
        yield pa.record_batch([pa.array(range(100_000))], schema=schema)
        if i == 3:
            print("writing", flush=True)
            time.sleep(600)   # a slow source: the process is killed here
s.import_table(pa.RecordBatchReader.from_batches(schema, batches()))
"""


def test_publisher_killed_mid_write_leaves_nothing(tmp_path: Path) -> None:
    b = start_broker(tmp_path / "rt", "--sweep-interval", "1")
    try:
        child = spawn_child(SLOW_PUBLISHER, b.env)
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        with tb.Session(b.url, token=b.token) as s:
            shm = Path(s._backend.server.shm_dir)
            assert [p.name for p in shm.glob("in-*.arrow")], "the publisher is not writing"
            child.kill()
            child.wait()
            wait_for(lambda: not list(shm.glob("in-*.arrow")), "the abandoned segment removed")
            assert s.is_alive
    finally:
        b.stop()


def test_killed_broker_leaves_nothing_a_new_broker_keeps(tmp_path: Path) -> None:
    first = start_broker(tmp_path / "rt1")
    left = broker_dirs(first)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert all(os.path.isdir(d) for d in left), "kill -9 cannot clean up: the next broker does"
    second = start_broker(tmp_path / "rt2")
    try:
        assert not any(os.path.exists(d) for d in left), "the new broker kept the dead one's dirs"
        with tb.Session(second.url, token=second.token) as s:
            s.publish_table(pa.table({"a": [1]}), "fine")
    finally:
        second.stop()


def test_sighup_stops_the_broker_cleanly(tmp_path: Path) -> None:
    b = start_broker(tmp_path / "rt")
    dirs = broker_dirs(b)
    b.proc.send_signal(signal.SIGHUP)
    assert b.proc.wait(timeout=30) == 0
    assert not any(os.path.exists(d) for d in dirs)
    assert not b.connection_file.exists()


def test_failed_serve_leaves_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = our_dirs()
        res = subprocess.run(
            [sys.executable, "-m", "ticketbooth", "serve", "--port", str(port)],
            env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert our_dirs() - before == set()
    assert not (tmp_path / "ticketbooth-broker.json").exists()


@pytest.fixture
def tiny_shm(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs standing in for a full /dev/shm (needs root, as in CI)."""
    mount = tmp_path / "tinyshm"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)])
    if res.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root): the full-shm test needs one")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def big_table(nbytes: int) -> pa.Table:
    return pa.table({"x": np.arange(nbytes // 8, dtype=np.int64)})


@pytest.mark.parametrize("remote", [False, True], ids=["same-host", "remote"])
def test_full_shared_memory(tiny_shm: Path, tmp_path: Path, remote: bool) -> None:
    """The broker's store limit defaults to 90% of the free space it finds; and with a limit
    set above the real space, a full filesystem is still a clear LimitExceededError."""
    for extra in ((), ("--max-store-bytes", "1GiB")):
        b = start_broker(tmp_path / f"rt{len(extra)}", "--shm-dir", str(tiny_shm), *extra)
        try:
            with tb.Session(b.url, token=b.token, force_remote=remote) as s:
                small = big_table(1 * MiB)
                s.publish_table(small, "small")
                with pytest.raises(tb.LimitExceededError, match=r"limit|no space left"):
                    s.publish_table(big_table(24 * MiB), "too-big")
                left = [
                    p.name
                    for p in Path(s._backend.server.shm_dir).iterdir()
                    if p.suffix == ".arrow"
                ]
                assert len(left) == 1, f"segments left behind: {left}"
                assert s.fetch_table("small").to_arrow().equals(small)
                assert s.tables == ["small"]
        finally:
            b.stop()
