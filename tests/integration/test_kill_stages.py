"""kill -9 (and SIGSTOP) at each stage of a remote transfer: nothing half-stored, nothing
leaked, nothing published before lost, and no caller left hanging."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child, start_broker
from tests.integration.conftest import assert_intact, publish_reference
from tests.integration.test_liveness import wait_for

ROWS = 40_000_000  # 320 MB: a transfer that lasts long enough to be cut in the middle
MiB = 1 << 20


def segments(shm_dir: str, prefix: str = "") -> list[str]:
    return [n for n in os.listdir(shm_dir) if n.endswith(".arrow") and n.startswith(prefix)]


def wait_line(child: subprocess.Popen[str], expected: str) -> None:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line == expected, f"{line!r} (stderr: {child.stderr.read() if child.stderr else ''})"


def background_upload(s: tb.Session, name: str) -> tuple[threading.Thread, list[BaseException]]:
    """Publish a ROWS-row table from a thread; the list gets the exception it raised."""
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            s.publish_table(pa.table({"x": np.arange(ROWS, dtype=np.int64)}), name)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=upload)
    worker.start()
    return worker, errors


UPLOADER = f"""
import numpy as np, pyarrow as pa, ticketbooth as tb
s = tb.Session(force_remote=True)
print("ready", flush=True)
s.publish_table(pa.table({{"x": np.arange({ROWS}, dtype=np.int64)}}), "never-finished")
print("finished", flush=True)
"""


def test_publisher_killed_mid_remote_upload(broker: BrokerProcess) -> None:
    pub = publish_reference(broker)
    shm = pub.session._backend.server.shm_dir
    before = set(segments(shm))
    child = spawn_child(UPLOADER, broker.env)
    wait_line(child, "ready")
    wait_for(lambda: set(segments(shm, "obj-")) - before != set(), "the upload to begin")
    child.kill()
    child.wait()
    wait_for(lambda: set(segments(shm)) == before, "the partial upload to be dropped")
    assert "never-finished" not in pub.session.tables
    assert_intact(pub)
    pub.session.close()


FETCHER = """
import ticketbooth as tb
s = tb.Session(force_remote=True)
print("ready", flush=True)
input()
s.fetch_table("big").to_arrow()
print("finished", flush=True)
"""


def test_subscriber_killed_mid_remote_fetch(broker: BrokerProcess) -> None:
    pub = publish_reference(broker)
    big = pa.table({"x": np.arange(ROWS, dtype=np.int64)})
    pub.session.publish_table(big, "big")
    child = spawn_child(FETCHER, broker.env)
    wait_line(child, "ready")
    assert child.stdin is not None
    child.stdin.write("\n")
    child.stdin.flush()
    threading.Event().wait(0.3)  # somewhere in the middle of the stream
    child.kill()
    child.wait()
    assert_intact(pub)
    with tb.Session(force_remote=True) as other:
        assert other.fetch_table("big").num_rows == ROWS
    pub.session.close()


def test_broker_killed_mid_upload_fails_fast_and_the_next_broker_cleans(tmp_path: Path) -> None:
    b = start_broker(tmp_path / "rt1", "--session-ttl", "3")
    s = tb.Session(b.url, token=b.token, force_remote=True, timeout=5)
    shm = s._backend.server.shm_dir
    worker, errors = background_upload(s, "cut")
    wait_for(lambda: bool(segments(shm, "obj-")), "the upload to begin")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    worker.join(60)
    assert not worker.is_alive(), "the uploader hangs on a dead broker"
    assert errors and isinstance(errors[0], tb.TicketboothError), errors
    assert os.path.isdir(shm)  # kill -9: nobody could clean up yet
    nxt = start_broker(tmp_path / "rt2")
    try:
        assert not os.path.exists(shm), "the next broker did not sweep the dead one's segments"
    finally:
        nxt.stop()
    s.close()


def test_stalled_broker_mid_upload_is_a_clear_error_then_recovers(broker: BrokerProcess) -> None:
    """SIGSTOP the broker during an upload: the upload fails after `timeout` seconds
    without progress (not a hang); after SIGCONT the broker is whole and stores nothing."""
    pub = publish_reference(broker)
    shm = pub.session._backend.server.shm_dir
    before = set(segments(shm))
    s = tb.Session(force_remote=True, timeout=3)
    worker, errors = background_upload(s, "stalled")
    wait_for(lambda: set(segments(shm, "obj-")) - before != set(), "the upload to begin")
    os.kill(broker.proc.pid, signal.SIGSTOP)
    try:
        worker.join(60)
    finally:
        os.kill(broker.proc.pid, signal.SIGCONT)
    assert not worker.is_alive()
    assert errors and isinstance(errors[0], tb.BrokerUnavailableError), errors
    assert "no progress for 3s" in str(errors[0])
    wait_for(lambda: set(segments(shm)) == before, "the cut upload to be dropped")
    assert_intact(pub)
    s.close()
    pub.session.close()


@pytest.mark.parametrize("remote", [False, True], ids=["same-host", "remote"])
def test_timeout_bounds_each_step_not_the_whole_transfer(
    broker: BrokerProcess, remote: bool
) -> None:
    """timeout=0.5 and a 640 MB table: each message moves well within it, so the transfer
    succeeds however long it takes in all (it failed with 'broker did not answer')."""
    data = pa.table({"x": np.arange(2 * ROWS, dtype=np.int64)})
    with (
        tb.Session(force_remote=remote, timeout=0.5) as pub,
        tb.Session(force_remote=remote, timeout=0.5) as sub,
    ):
        pub.publish_table(data, "long")
        assert sub.fetch_table("long").num_rows == 2 * ROWS


def test_control_characters_in_client_names_are_escaped_by_the_broker(
    broker: BrokerProcess,
) -> None:
    with tb.Session(name="evil\x1b[2J\nname") as s:
        s.publish_table(pa.table({"a": [1]}), "named")
        publisher = next(o.publisher for o in s.list_objects() if o.name == "named")
    assert publisher == "evil\\x1b[2J\\nname"
    log = (broker.runtime_dir / "ticketbooth-broker.log").read_text()
    assert "\x1b" not in log
