"""Finding a broker without configuration: env, connection file, embedded start."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child, spawn_child

MEET = """
import json, os, sys, ticketbooth as tb
s = tb.Session()
print(json.dumps({"url": s.endpoint.url, "source": s.endpoint.source}), flush=True)
sys.stdin.readline()
s.close()
"""


def test_independent_processes_meet_at_one_embedded_broker(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETBOOTH_IDLE_TIMEOUT", "2")
    env = dict(os.environ)
    procs = [spawn_child(MEET, env) for _ in range(3)]  # started at once: they race
    try:
        seen = [json.loads(p.stdout.readline()) for p in procs]  # type: ignore[union-attr]
    finally:
        for p in procs:
            p.communicate("\n", timeout=30)
    assert len({s["url"] for s in seen}) == 1, seen
    assert sorted(s["source"] for s in seen)[0] in ("connection file", "embedded")
    conn = runtime_dir / "ticketbooth-broker.json"
    info = json.loads(conn.read_text())
    assert oct(conn.stat().st_mode & 0o777) == "0o600"
    # with no sessions left, the embedded broker exits after its idle timeout
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(info["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("embedded broker did not exit when idle")
    assert not conn.exists()


def test_stale_connection_file_is_replaced(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETBOOTH_IDLE_TIMEOUT", "2")
    conn = runtime_dir / "ticketbooth-broker.json"
    stale = {"url": "unix:///nonexistent/broker.sock", "token": "x", "pid": 2**22 + 17}
    conn.write_text(json.dumps(stale | {"hostname": os.uname().nodename}))
    with tb.Session() as s:
        assert s.endpoint.url != stale["url"]
        s.publish_table(pa.table({"a": [1]}), "fresh")
        assert s.fetch_table("fresh").num_rows == 1


def test_unreachable_connection_file_is_replaced(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose process is alive but does not answer (e.g. pid reuse) is replaced too."""
    monkeypatch.setenv("TICKETBOOTH_IDLE_TIMEOUT", "2")
    conn = runtime_dir / "ticketbooth-broker.json"
    bogus = {"url": "unix:///nonexistent/broker.sock", "token": "x", "pid": os.getpid()}
    conn.write_text(json.dumps(bogus | {"hostname": os.uname().nodename}))
    with tb.Session(timeout=5) as s:
        assert s.endpoint.url != bogus["url"]
        assert s.endpoint.source == "embedded"


def test_stopped_broker_keeps_its_connection_file(broker: BrokerProcess) -> None:
    """A broker that is alive but does not answer in time (busy, or stopped as here) is not
    replaced: its connection file stays, and once it answers again it is found again with
    everything it held."""
    with tb.Session() as pub:
        pub.publish_table(pa.table({"a": [1, 2]}), "kept")
        conn = Path(pub.endpoint.connection_file or "")
        os.kill(broker.proc.pid, signal.SIGSTOP)
        try:
            for timeout in (1.0, 0.001):
                with pytest.raises(tb.BrokerUnavailableError, match="is running but did not"):
                    tb.Session(timeout=timeout)
                assert conn.exists()
        finally:
            os.kill(broker.proc.pid, signal.SIGCONT)
        with tb.Session() as s:
            assert s.endpoint.url == pub.endpoint.url
            assert s.fetch_table("kept").to_arrow().column("a").to_pylist() == [1, 2]


@pytest.mark.parametrize("timeout", [0, -1, "5", True])
def test_timeout_must_be_positive(timeout: object) -> None:
    with pytest.raises(tb.InvalidInputError, match="timeout must be a positive number of seconds"):
        tb.Session(timeout=timeout)  # type: ignore[arg-type]


def test_environment_wins(broker: BrokerProcess, tmp_path: Path) -> None:
    env = broker.env | {
        "JUPYTER_RUNTIME_DIR": str(tmp_path),  # no connection file there
        "TICKETBOOTH_URL": broker.tcp_url or "",
        "TICKETBOOTH_TOKEN": broker.token,
    }
    out = run_child(
        "import ticketbooth as tb; s = tb.Session(); print(s.endpoint.url, s.endpoint.source)",
        env,
    )
    assert out.split() == [broker.tcp_url, "argument"]
    assert not (tmp_path / "ticketbooth-broker.json").exists()


def test_pydeephaven_style_host_and_port(broker: BrokerProcess) -> None:
    assert broker.tcp_url is not None
    host, port = broker.tcp_url.rsplit(":", 1)
    # the token comes from the connection file of the broker on this machine
    with tb.Session(host=host, port=int(port)) as pub:
        pub.publish_table(pa.table({"a": [1]}), "hp")
        assert pub.tables == ["hp"]
        assert (pub.host, pub.port) == (host, int(port))
        # pydeephaven's positional (host, port) and its other session options
        with tb.Session(host, int(port), never_timeout=True, session_type="python") as s:
            assert s.tables == ["hp"] and s.endpoint.url == broker.tcp_url
            client = s.plugin_client(server_obj=s.exportable_objects["hp"])
            client.close()
    with pytest.raises(tb.InvalidInputError, match="session_type 'groovy': ticketbooth runs"):
        tb.Session(host, int(port), session_type="groovy")


def test_no_broker_and_no_start(runtime_dir: Path) -> None:
    with pytest.raises(tb.BrokerUnavailableError, match="no ticketbooth broker is running"):
        tb.Session(start_broker=False)
