"""A live client never loses its data: a publisher that holds the GIL or is stopped keeps its
tables; a paused broker does not expire anyone; a broker restart is reported once, clearly;
one broker per runtime dir; mismatched versions refuse each other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child, spawn_child, start_broker
from tests.integration.conftest import RawClient
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth._proto.v1 import broker_pb2_grpc as pb_grpc

TTL = 3.0  # the `broker` fixture's --session-ttl
DATA = pa.table({"a": list(range(100))})


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.05)


PUBLISHER = """
import sys, time, pyarrow as pa, ticketbooth as tb
s = tb.Session(name="publisher")
s.publish_table(pa.table({"a": list(range(100))}), "kept")
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "hold-gil":
        sys.setswitchinterval(1000.0)  # no other Python thread runs until we are done
        end = time.monotonic() + 12
        while time.monotonic() < end:
            pass
        sys.setswitchinterval(0.005)
    print("alive" if s.is_alive else "lost", flush=True)
"""


def ask(child: subprocess.Popen[str], line: str) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


def test_publisher_holding_the_gil_keeps_its_tables(broker: BrokerProcess) -> None:
    """12 s (4 TTLs) of pure-Python work with no thread switch: no heartbeat can run."""
    child = spawn_child(PUBLISHER, broker.env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert ask(child, "hold-gil") == "alive"
        with tb.Session() as sub:
            assert sub.fetch_table("kept").to_arrow().equals(DATA)
    finally:
        child.kill()
        child.wait()


def test_stopped_publisher_keeps_its_tables(broker: BrokerProcess) -> None:
    child = spawn_child(PUBLISHER, broker.env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(4 * TTL)  # far past the TTL: heartbeats alone would have expired it
        with tb.Session() as sub:
            assert sub.fetch_table("kept").to_arrow().equals(DATA)
        os.kill(child.pid, signal.SIGCONT)
        assert ask(child, "status") == "alive"
    finally:
        child.kill()
        child.wait()


def test_paused_broker_expires_nobody(broker: BrokerProcess) -> None:
    """SIGSTOP the broker for twice the TTL. Attached sessions and a session that only
    sends heartbeats (a raw client: no Attach stream) both survive."""
    raw = RawClient(broker)
    with tb.Session() as pub:
        pub.publish_table(DATA, "through-the-pause")
        raw.call(raw.sessions.Heartbeat, pb.HeartbeatRequest())
        os.kill(broker.proc.pid, signal.SIGSTOP)
        time.sleep(2 * TTL)
        os.kill(broker.proc.pid, signal.SIGCONT)
        raw.call(raw.sessions.Heartbeat, pb.HeartbeatRequest())  # not "session closed"
        time.sleep(1.5)  # a reaper pass or two after the resume
        assert pub.is_alive
        raw.call(raw.sessions.Heartbeat, pb.HeartbeatRequest())
        with tb.Session() as sub:
            assert sub.fetch_table("through-the-pause").to_arrow().equals(DATA)
    raw.close()


def test_broker_shutdown_is_reported_once(broker: BrokerProcess) -> None:
    s = tb.Session()
    s.publish_table(DATA, "x")
    broker.stop()
    wait_for(lambda: not s.is_alive, "the session noticing the broker shut down")
    with pytest.raises(tb.SessionClosedError, match="shut down"):
        s.fetch_table("x")
    s.close()  # nothing left to close: no error


def test_restarted_broker_on_the_same_tcp_port(runtime_dir: Path, tmp_path: Path) -> None:
    """kill -9, then a new broker (new token) on the same port: the old session fails once
    with a clear error, reports is_alive False, and close() is quiet."""
    first = start_broker(runtime_dir, "--port", "0", "--session-ttl", str(TTL))
    port = first.tcp_url.rsplit(":", 1)[1] if first.tcp_url else ""
    s = tb.Session(first.tcp_url, token=first.token)
    s.publish_table(DATA, "x")
    first.proc.kill()
    first.proc.wait()
    second = start_broker(tmp_path / "rt2", "--port", port, "--session-ttl", str(TTL))
    try:
        with pytest.raises(tb.SessionClosedError, match="restarted or was replaced"):
            s.fetch_table("x")
        assert not s.is_alive
        with pytest.raises(tb.SessionClosedError, match="restarted or was replaced"):
            s.list_objects()
        s.close()
        with tb.Session(second.tcp_url, token=second.token) as fresh:
            assert fresh.is_alive and fresh.tables == []
    finally:
        second.stop()


def test_restarted_embedded_broker_is_noticed(runtime_dir: Path) -> None:
    """Found through the connection file: after kill -9 and a new broker in the same
    runtime dir, the old session is reported lost without a call having to fail first."""
    first = start_broker(runtime_dir, "--session-ttl", "30")
    s = tb.Session()
    first.proc.kill()
    first.proc.wait()
    second = start_broker(runtime_dir, "--session-ttl", "30")
    try:
        wait_for(lambda: not s.is_alive, "the session noticing the new broker")
        with pytest.raises(tb.SessionClosedError, match="a new one serves"):
            s.list_objects()
        s.close()
    finally:
        second.stop()


class Proxy:
    """A TCP relay in front of the broker whose connections can be cut (a network blip)."""

    def __init__(self, target_port: int) -> None:
        code = f"""
import asyncio, signal
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()
async def handle(r, w):
    br, bw = await asyncio.open_connection("127.0.0.1", {target_port})
    await asyncio.gather(pipe(r, bw), pipe(br, w), return_exceptions=True)
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""
        self.code = code
        self.port = 0
        self.start()

    def start(self) -> None:
        code = self.code.replace("PORT", str(self.port))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def cut(self) -> None:
        """Drop every connection, then listen again on the same port."""
        self.proc.kill()
        self.proc.wait()
        self.start()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_network_blip_to_the_same_broker_is_transparent(broker: BrokerProcess) -> None:
    assert broker.tcp_url is not None
    proxy = Proxy(int(broker.tcp_url.rsplit(":", 1)[1]))
    try:
        s = tb.Session(f"127.0.0.1:{proxy.port}", token=broker.token, force_remote=True)
        s.publish_table(DATA, "over-the-blip")
        proxy.cut()  # every connection drops; the relay listens again at once
        assert s.is_alive
        assert s.fetch_table("over-the-blip").to_arrow().equals(DATA)
        time.sleep(2 * TTL)  # re-attached, so it does not expire
        assert s.is_alive
        with tb.Session() as other:
            assert "over-the-blip" in other.tables
        s.close()
    finally:
        proxy.stop()


def test_one_broker_per_runtime_dir(broker: BrokerProcess) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ticketbooth",
            "serve",
            "--connection-file",
            str(broker.connection_file),
        ],
        env=broker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert f"pid {broker.proc.pid}" in res.stderr and "already serves" in res.stderr
    assert "Traceback" not in res.stderr
    # the running broker's connection file is untouched: clients still meet there
    run_child("import ticketbooth as tb; tb.Session(start_broker=False).close()", broker.env)
    assert broker.proc.poll() is None


def test_mismatched_protocols_refuse_each_other(broker: BrokerProcess) -> None:
    channel = grpc.insecure_channel(broker.url)
    stub = pb_grpc.SessionServiceStub(channel)
    md = [("authorization", f"Bearer {broker.token}")]
    with pytest.raises(grpc.RpcError) as info:
        stub.OpenSession(pb.OpenSessionRequest(protocol=1, client_version="0.0.9"), metadata=md)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "0.0.9" in info.value.details() and "install the same version" in info.value.details()
    channel.close()
    out = run_child(
        """
        import ticketbooth as tb, ticketbooth._broker_backend as backend
        backend.PROTOCOL = 99  # a client from the future
        try:
            tb.Session(start_broker=False)
        except tb.IncompatibleBrokerError as exc:
            print("refused:", exc)
        """,
        broker.env,
    )
    assert "refused:" in out and "protocol 99" in out
